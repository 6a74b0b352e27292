// Package sandbox validates, meters, compiles and runs untrusted WebAssembly
// modules with wazero. A module is validated before anything runs, rewritten
// to pay fuel for what it executes (package meter), compiled once per
// content hash and instantiated fresh for every task, so no state leaks
// between tasks. Fuel, not wall time, bounds a task: the count is the same
// on every machine. The WASI it sees is deterministic: fixed clocks, seeded
// random, no filesystem, no network, and output captured into a bounded log.
package sandbox

import (
	"container/list"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/arena-dev/arena/meter"
)

// Limits bound one module's evaluation.
type Limits struct {
	MaxModuleBytes int
	MemoryPages    uint32 // the most 64 KiB pages a memory may grow to
	Fuel           int64  // fuel per task
	// TaskTimeout is a wall-clock safety net behind fuel; a task that hits
	// it fails as timed out, which is not reproducible, so budgets should
	// make it unreachable.
	TaskTimeout time.Duration
	MaxLogBytes int
}

// MaxTableElements bounds every table: wazero does not bound table growth,
// so a table must declare a maximum up to this, or never grow.
const MaxTableElements = 1 << 16

// Default cache budgets. A compiled Go-built module (1.9 MB uploaded,
// 2.5 MB metered) holds 10-12 MiB of machine code and metadata in memory
// and 10.5 MiB on disk, so the defaults keep about 40 of those in memory
// and about 190 on disk.
const (
	DefaultMaxMemoryBytes = 512 << 20
	DefaultMaxDiskBytes   = 2 << 30
)

// Options configure an engine's caches.
type Options struct {
	// MaxModules bounds how many compiled modules are kept in memory;
	// 0 means no bound by count.
	MaxModules int
	// MaxMemoryBytes bounds the estimated memory of the compiled modules
	// kept (see EstimatedBytes); 0 means DefaultMaxMemoryBytes, below 0
	// no bound. The most recently used module is kept whatever its size.
	MaxMemoryBytes int64
	// CacheDir, when set, keeps metered modules and their machine code on
	// disk, so a restarted process neither meters nor compiles them again.
	CacheDir string
	// MaxDiskBytes bounds what CacheDir holds; 0 means
	// DefaultMaxDiskBytes, below 0 no bound.
	MaxDiskBytes int64
	// DiskGrace keeps an entry used less than this long ago from being
	// pruned, whatever the budget, so a module another process is
	// compiling into a shared directory is not removed under it; 0 means
	// a minute, below 0 none.
	DiskGrace time.Duration
}

// Engine validates, meters, compiles and caches modules. It is safe for
// concurrent use; share one per process so compiled code is shared by
// every worker goroutine. Compiled modules are kept in memory up to a
// budget and evicted least recently used first; with a cache directory the
// disk is bounded the same way.
type Engine struct {
	validator wazero.Runtime // an interpreter: validates without producing machine code
	opts      Options
	disk      *diskCache // nil without a cache directory

	mu      sync.Mutex
	modules map[cacheKey]*list.Element
	lru     *list.List // of *Module, most recently used first
	bytes   int64      // estimated, of the modules in lru
	loading map[cacheKey]*loadCall
	stats   Stats
	closed  bool
}

// cacheKey is a module's code (its canonical hash) and memory limit:
// wazero bounds memory per runtime.
type cacheKey struct {
	sum   [32]byte
	pages uint32
}

// loadCall is a compilation in progress; loads of the same key wait for it.
type loadCall struct{ done chan struct{} }

// Stats describe an engine's caches.
type Stats struct {
	Modules        int   // compiled modules kept in memory
	MemoryBytes    int64 // their estimated size
	MaxMemoryBytes int64 // the budget; 0 when unbounded
	Disk           bool  // the engine has a cache directory
	DiskEntries    int   // modules in the cache directory, as of its last scan
	DiskBytes      int64 // their size on disk
	MaxDiskBytes   int64 // the budget; 0 when unbounded or without a directory

	Compiles      uint64 // modules compiled (a disk-cache hit counts: it is read into memory)
	Hits          uint64 // loads served from memory
	Evictions     uint64 // modules dropped from memory
	DiskEvictions uint64 // entries pruned from the cache directory
}

// NewEngine returns an engine that keeps up to capacity compiled modules
// in memory, within DefaultMaxMemoryBytes.
func NewEngine(capacity int) *Engine {
	e, _ := NewEngineWith(Options{MaxModules: max(1, capacity)})
	return e
}

// NewEngineWithDiskCache also keeps metered modules and their machine
// code in dir, within DefaultMaxDiskBytes, so a restarted worker does not
// compile the same modules again.
func NewEngineWithDiskCache(capacity int, dir string) (*Engine, error) {
	return NewEngineWith(Options{MaxModules: max(1, capacity), CacheDir: dir})
}

// NewEngineWith returns an engine with the given caches.
func NewEngineWith(opts Options) (*Engine, error) {
	switch {
	case opts.MaxMemoryBytes == 0:
		opts.MaxMemoryBytes = DefaultMaxMemoryBytes
	case opts.MaxMemoryBytes < 0:
		opts.MaxMemoryBytes = 0
	}
	switch {
	case opts.MaxDiskBytes == 0:
		opts.MaxDiskBytes = DefaultMaxDiskBytes
	case opts.MaxDiskBytes < 0:
		opts.MaxDiskBytes = 0
	}
	switch {
	case opts.DiskGrace == 0:
		opts.DiskGrace = time.Minute
	case opts.DiskGrace < 0:
		opts.DiskGrace = 0
	}
	ctx := context.Background()
	e := &Engine{
		opts:    opts,
		modules: map[cacheKey]*list.Element{},
		lru:     list.New(),
		loading: map[cacheKey]*loadCall{},
	}
	if opts.CacheDir != "" {
		d, err := openDiskCache(opts.CacheDir, opts.MaxDiskBytes, opts.DiskGrace)
		if err != nil {
			return nil, fmt.Errorf("compilation cache in %s: %w", opts.CacheDir, err)
		}
		e.disk = d
	}
	// The validator sees no guest code run: it needs WASI only to know
	// the host functions' signatures.
	e.validator = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, e.validator); err != nil {
		_ = e.validator.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	return e, nil
}

// Close releases every runtime and compiled module.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for el := e.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*Module).close(ctx)
	}
	e.modules = map[cacheKey]*list.Element{}
	e.lru.Init()
	e.bytes = 0
	return e.validator.Close(ctx)
}

// Stats reports the caches' sizes and counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	s := e.stats
	s.Modules, s.MemoryBytes, s.MaxMemoryBytes = e.lru.Len(), e.bytes, e.opts.MaxMemoryBytes
	e.mu.Unlock()
	if e.disk != nil {
		s.Disk = true
		s.DiskEntries, s.DiskBytes, s.DiskEvictions = e.disk.usage()
		s.MaxDiskBytes = e.opts.MaxDiskBytes
	}
	return s
}

// EstimatedBytes is the memory a compiled module of a metered size is
// taken to hold: wazero's machine code comes to about four times the
// metered module's size, and its metadata, the runtime and the WASI host
// module around it add the rest (measured on Go-built modules: 10-12 MiB
// of resident memory for a 2.5 MB metered module; 150 KiB for a tiny one).
func EstimatedBytes(meteredSize int) int64 { return 5*int64(meteredSize) + 256<<10 }

// Validated is what Validate found out about an acceptable module.
type Validated struct {
	Info meter.Info // the module as submitted, custom sections dropped
	// CodeSHA256 is the SHA-256 of Canonical(module): what it executes.
	CodeSHA256 [32]byte
}

// Validate does every check Load does without producing machine code:
// header and size, structure, WebAssembly validation (by wazero's
// interpreter, which validates without compiling to machine code), shape,
// imports and the ABI's exports. A module Validate accepts, Load accepts
// too. It keeps nothing, so an API server that only validates holds no
// compiled modules. A *RejectError says why the module is unacceptable.
func (e *Engine) Validate(ctx context.Context, wasm []byte, abi ABI, lim Limits) (Validated, error) {
	canon, err := e.canonical(wasm, lim)
	if err != nil {
		return Validated{}, err
	}
	_, info, err := e.check(ctx, canon, abi, lim)
	if err != nil {
		return Validated{}, err
	}
	return Validated{Info: info, CodeSHA256: sha256.Sum256(canon)}, nil
}

// canonical checks the header and the memory limit and returns what the
// module executes.
func (e *Engine) canonical(wasm []byte, lim Limits) ([]byte, error) {
	if err := checkHeader(wasm, lim.MaxModuleBytes); err != nil {
		return nil, err
	}
	if lim.MemoryPages == 0 || lim.MemoryPages > 65536 {
		return nil, fmt.Errorf("memory limit of %d pages is outside 1..65536", lim.MemoryPages)
	}
	canon, err := Canonical(wasm)
	if err != nil {
		return nil, reject("malformed module: %v", err)
	}
	return canon, nil
}

// check meters and validates a canonical module: the meter's strict
// structural pass goes first, because it checks that every count is
// backed by bytes, which wazero's decoder trusts (a 30-byte module
// claiming 800 million exports makes it allocate 32 GB). Then wazero
// validates the module as submitted, so nothing guest code names can
// reach what the metering pass added; then its shape, imports and
// exports. It returns the metered module.
func (e *Engine) check(ctx context.Context, canon []byte, abi ABI, lim Limits) ([]byte, meter.Info, error) {
	metered, info, err := meter.Meter(canon)
	if err != nil {
		return nil, info, reject("%v", err)
	}
	original, err := e.validator.CompileModule(ctx, canon)
	if err != nil {
		if ctx.Err() != nil {
			return nil, info, context.Cause(ctx)
		}
		return nil, info, reject("invalid WebAssembly: %v", err)
	}
	defer original.Close(ctx)
	if err := checkShape(info, lim); err != nil {
		return nil, info, err
	}
	if err := checkABI(original, e.validator, abi, lim); err != nil {
		return nil, info, err
	}
	return metered, info, nil
}

// Load validates wasm against abi and lim, meters it and returns its
// compiled module, doing the work only when no cached copy exists: in
// memory, or in the cache directory. Modules are cached by what they
// execute (CanonicalSHA256) and memory limit, so modules that differ only
// in custom sections share one compilation. A *RejectError says why the
// module is unacceptable. Callers must Release the module when done.
func (e *Engine) Load(ctx context.Context, wasm []byte, abi ABI, lim Limits) (*Module, error) {
	canon, err := e.canonical(wasm, lim)
	if err != nil {
		return nil, err
	}
	key := cacheKey{sum: sha256.Sum256(canon), pages: lim.MemoryPages}
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, fmt.Errorf("sandbox engine is closed")
		}
		if el, ok := e.modules[key]; ok {
			m := el.Value.(*Module)
			e.lru.MoveToFront(el)
			// The cache key covers code and memory limit; the ABI can
			// differ between callers, so check it on every load.
			if err := checkABI(m.compiled, m.rt, abi, lim); err != nil {
				e.mu.Unlock()
				return nil, err
			}
			m.refs++
			e.stats.Hits++
			e.mu.Unlock()
			e.disk.touch(key.sum)
			return m, nil
		}
		if call, ok := e.loading[key]; ok {
			// Someone is compiling it: wait, then look again (their
			// ABI may differ from ours, so a failure of theirs is not
			// necessarily ours).
			e.mu.Unlock()
			select {
			case <-call.done:
				continue
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		call := &loadCall{done: make(chan struct{})}
		e.loading[key] = call
		e.mu.Unlock()

		m, err := e.compile(ctx, canon, key, abi, lim)

		e.mu.Lock()
		delete(e.loading, key)
		close(call.done)
		if err == nil && e.closed {
			m.close(ctx)
			m, err = nil, fmt.Errorf("sandbox engine is closed")
		}
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		m.refs = 1
		e.stats.Compiles++
		e.modules[key] = e.lru.PushFront(m)
		e.bytes += m.size
		e.evict(ctx)
		e.mu.Unlock()
		return m, nil
	}
}

// compile meters (or reads the metered module from disk) and compiles a
// module, without the engine's lock: compilations of different modules
// run in parallel.
func (e *Engine) compile(ctx context.Context, canon []byte, key cacheKey, abi ABI, lim Limits) (*Module, error) {
	metered, info, ok := e.disk.metered(key.sum)
	if !ok {
		var err error
		if metered, info, err = e.check(ctx, canon, abi, lim); err != nil {
			return nil, err
		}
		// Written only after validation: an entry means the module
		// passed. A failed write only costs the next load time.
		e.disk.store(key.sum, metered, info)
	} else if err := checkShape(info, lim); err != nil {
		return nil, err
	}
	m, err := e.compileMetered(ctx, metered, key, true)
	if err != nil && e.disk != nil && ctx.Err() == nil {
		// wazero fails a compilation when it cannot write (or read) its
		// file cache: a full or pruned directory must not reject a module.
		m, err = e.compileMetered(ctx, metered, key, false)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		// The original validated, so this is Arena's fault, not the
		// module's; reject it all the same so it cannot loop through
		// retries.
		return nil, reject("internal error: the metered module does not compile: %v", err)
	}
	m.Info = info
	if err := checkABI(m.compiled, m.rt, abi, lim); err != nil {
		m.close(ctx)
		return nil, err
	}
	e.disk.prune()
	return m, nil
}

// compileMetered compiles a metered module in a runtime of its own, so
// that evicting it releases everything it holds; with the disk cache, its
// machine code is kept (or found) in the module's entry.
func (e *Engine) compileMetered(ctx context.Context, metered []byte, key cacheKey, useDisk bool) (*Module, error) {
	// No WithCloseOnContextDone: it slows loop-heavy guests about 15x and
	// does not stop loop-free recursion. Fuel bounds every task instead.
	cfg := wazero.NewRuntimeConfig().WithMemoryLimitPages(key.pages)
	var cache wazero.CompilationCache
	if useDisk && e.disk != nil {
		var err error
		if cache, err = e.disk.compilationCache(key.sum); err != nil {
			return nil, err
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m := &Module{engine: e, rt: rt, cache: cache, key: key, CodeSHA256: key.sum, size: EstimatedBytes(len(metered))}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		m.close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	compiled, err := rt.CompileModule(ctx, metered)
	if err != nil {
		m.close(ctx)
		return nil, err
	}
	m.compiled = compiled
	return m, nil
}

// evict drops least recently used modules beyond the budgets, always
// keeping the most recent one; a module still in use is closed when its
// last user releases it.
func (e *Engine) evict(ctx context.Context) {
	for e.lru.Len() > 1 && ((e.opts.MaxModules > 0 && e.lru.Len() > e.opts.MaxModules) ||
		(e.opts.MaxMemoryBytes > 0 && e.bytes > e.opts.MaxMemoryBytes)) {
		el := e.lru.Back()
		m := el.Value.(*Module)
		e.lru.Remove(el)
		delete(e.modules, m.key)
		e.bytes -= m.size
		e.stats.Evictions++
		m.evicted = true
		if m.refs == 0 {
			m.close(ctx)
		}
	}
}

// Module is a validated, compiled module shared by everyone who loaded the
// same code under the same memory limit.
type Module struct {
	engine   *Engine
	rt       wazero.Runtime
	cache    wazero.CompilationCache // nil without the disk cache
	compiled wazero.CompiledModule
	key      cacheKey
	size     int64 // EstimatedBytes
	// CodeSHA256 is the SHA-256 of what the module executes
	// (CanonicalSHA256 of the bytes loaded), not of those bytes.
	CodeSHA256 [32]byte
	Info       meter.Info // the module as submitted, custom sections dropped

	// guarded by engine.mu
	refs    int
	evicted bool
	name    string // tests' label
}

// close releases the module's runtime, its compiled code with it.
func (m *Module) close(ctx context.Context) {
	_ = m.rt.Close(ctx)
	if m.cache != nil {
		_ = m.cache.Close(ctx)
	}
}

// Release gives back a module obtained from Load.
func (m *Module) Release(ctx context.Context) {
	e := m.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	m.refs--
	if m.refs == 0 && m.evicted {
		m.close(ctx)
	}
}
