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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

// Engine compiles and caches modules. It is safe for concurrent use; share
// one per process so compiled code is shared by every worker goroutine.
type Engine struct {
	cache     wazero.CompilationCache
	validator wazero.Runtime // an interpreter: validates originals cheaply
	dir       string         // when set, metered modules are kept here too

	mu       sync.Mutex
	runtimes map[uint32]wazero.Runtime // one per memory limit: wazero bounds memory per runtime
	modules  map[cacheKey]*list.Element
	lru      *list.List // of *Module, most recently used first
	capacity int
	closed   bool
}

type cacheKey struct {
	sum   [32]byte
	pages uint32
}

// NewEngine returns an engine that keeps up to capacity compiled modules
// in memory.
func NewEngine(capacity int) *Engine { return newEngine(capacity, wazero.NewCompilationCache()) }

// NewEngineWithDiskCache also keeps compiled machine code in dir, so a
// restarted worker does not compile the same modules again.
func NewEngineWithDiskCache(capacity int, dir string) (*Engine, error) {
	cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(dir, "wazero"))
	if err != nil {
		return nil, fmt.Errorf("compilation cache in %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "metered"), 0o755); err != nil {
		return nil, fmt.Errorf("compilation cache in %s: %w", dir, err)
	}
	e := newEngine(capacity, cache)
	e.dir = dir
	return e, nil
}

func newEngine(capacity int, cache wazero.CompilationCache) *Engine {
	return &Engine{
		cache:     cache,
		validator: wazero.NewRuntimeWithConfig(context.Background(), wazero.NewRuntimeConfigInterpreter()),
		runtimes:  map[uint32]wazero.Runtime{},
		modules:   map[cacheKey]*list.Element{},
		lru:       list.New(),
		capacity:  max(1, capacity),
	}
}

// Close releases every runtime and compiled module.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for _, rt := range e.runtimes {
		_ = rt.Close(ctx)
	}
	_ = e.validator.Close(ctx)
	e.runtimes = map[uint32]wazero.Runtime{}
	e.modules = map[cacheKey]*list.Element{}
	e.lru.Init()
	return e.cache.Close(ctx)
}

func (e *Engine) runtime(ctx context.Context, pages uint32) (wazero.Runtime, error) {
	if rt, ok := e.runtimes[pages]; ok {
		return rt, nil
	}
	// No WithCloseOnContextDone: it slows loop-heavy guests about 15x and
	// does not stop loop-free recursion. Fuel bounds every task instead.
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithMemoryLimitPages(pages)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	e.runtimes[pages] = rt
	return rt, nil
}

// Load validates wasm against abi and lim, meters it and returns its
// compiled module, doing the work only when no cached copy exists. A
// *RejectError says why the module is unacceptable. Callers must Release
// the module when done.
func (e *Engine) Load(ctx context.Context, wasm []byte, abi ABI, lim Limits) (*Module, error) {
	if err := checkHeader(wasm, lim.MaxModuleBytes); err != nil {
		return nil, err
	}
	if lim.MemoryPages == 0 || lim.MemoryPages > 65536 {
		return nil, fmt.Errorf("memory limit of %d pages is outside 1..65536", lim.MemoryPages)
	}
	key := cacheKey{sum: sha256.Sum256(wasm), pages: lim.MemoryPages}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("sandbox engine is closed")
	}
	if el, ok := e.modules[key]; ok {
		m := el.Value.(*Module)
		e.lru.MoveToFront(el)
		// The cache key covers bytes and memory limit; the ABI can differ
		// between callers, so check it on every load.
		if err := checkABI(m.compiled, m.rt, abi, lim); err != nil {
			return nil, err
		}
		m.refs++
		return m, nil
	}
	metered, info, err := e.meter(ctx, wasm, key.sum)
	if err != nil {
		return nil, err
	}
	if err := checkShape(info, lim); err != nil {
		return nil, err
	}
	rt, err := e.runtime(ctx, lim.MemoryPages)
	if err != nil {
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, metered)
	if err != nil {
		// The original compiled, so this is Arena's fault, not the module's;
		// reject it all the same so it cannot loop through retries.
		return nil, reject("internal error: the metered module does not compile: %v", err)
	}
	if err := checkABI(compiled, rt, abi, lim); err != nil {
		_ = compiled.Close(ctx)
		return nil, err
	}
	m := &Module{engine: e, rt: rt, compiled: compiled, Info: info, SHA256: key.sum, key: key, refs: 1}
	e.modules[key] = e.lru.PushFront(m)
	e.evict(ctx)
	return m, nil
}

// meter validates and meters a module, or reads the result of an earlier
// run from the disk cache: both are pure functions of the bytes.
func (e *Engine) meter(ctx context.Context, wasm []byte, sum [32]byte) ([]byte, meter.Info, error) {
	var info meter.Info
	base := ""
	if e.dir != "" {
		base = filepath.Join(e.dir, "metered", fmt.Sprintf("%x-v%d", sum, meter.Version))
		metered, err1 := os.ReadFile(base + ".wasm")
		data, err2 := os.ReadFile(base + ".json")
		if err1 == nil && err2 == nil && json.Unmarshal(data, &info) == nil {
			return metered, info, nil
		}
	}
	// The meter's strict structural pass goes first: it checks that every
	// count is backed by bytes, which wazero's decoder trusts (a 30-byte
	// module claiming 800 million exports makes it allocate 32 GB).
	metered, info, err := meter.Meter(wasm)
	if err != nil {
		return nil, info, reject("%v", err)
	}
	// Then wazero validates the module as submitted, so nothing guest code
	// names can reach what the metering pass added.
	original, err := e.validator.CompileModule(ctx, wasm)
	if err != nil {
		return nil, info, reject("invalid WebAssembly: %v", err)
	}
	_ = original.Close(ctx)
	if base != "" {
		data, _ := json.Marshal(info)
		// Written only after validation, and atomically: a file here means
		// the module passed. A failed write only costs the next load time.
		_ = writeAtomic(base+".wasm", metered)
		_ = writeAtomic(base+".json", data)
	}
	return metered, info, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// evict drops least recently used modules beyond capacity; a module still in
// use is closed when its last user releases it.
func (e *Engine) evict(ctx context.Context) {
	for e.lru.Len() > e.capacity {
		el := e.lru.Back()
		m := el.Value.(*Module)
		e.lru.Remove(el)
		delete(e.modules, m.key)
		m.evicted = true
		if m.refs == 0 {
			_ = m.compiled.Close(ctx)
		}
	}
}

// Module is a validated, compiled module shared by everyone who loaded the
// same bytes under the same memory limit.
type Module struct {
	engine   *Engine
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	key      cacheKey
	SHA256   [32]byte
	Info     meter.Info // the module as submitted

	// guarded by engine.mu
	refs    int
	evicted bool
}

// Release gives back a module obtained from Load.
func (m *Module) Release(ctx context.Context) {
	e := m.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	m.refs--
	if m.refs == 0 && m.evicted {
		_ = m.compiled.Close(ctx)
	}
}
