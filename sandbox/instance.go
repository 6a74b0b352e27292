package sandbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Instance is one fresh instantiation of a module, used for one task.
type Instance struct {
	mod     api.Module
	mem     api.Memory
	funcs   map[string]api.Function
	log     *tailLog
	timeout time.Duration
	ctx     context.Context // the caller's context, to tell shutdown from a time-out
}

// Instantiate makes a fresh instance and runs _initialize when the module
// exports it (Go and TinyGo reactors). ctx must carry the task's deadline;
// seed makes the guest's random_get deterministic per task.
func (m *Module) Instantiate(ctx context.Context, seed uint64, lim Limits) (*Instance, error) {
	log := newTailLog(lim.MaxLogBytes)
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous, so many instances can coexist
		WithStartFunctions("_initialize").
		WithStdout(log).
		WithStderr(log).
		WithRandSource(rand.NewChaCha8(seedBytes(seed)))
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, classify(ctx, "instantiation", lim.TaskTimeout, err)
	}
	mem := mod.ExportedMemory("memory")
	if mem == nil {
		_ = mod.Close(ctx)
		return nil, &RunError{Func: "instantiation", Reason: "memory export is missing"}
	}
	return &Instance{mod: mod, mem: mem, funcs: map[string]api.Function{}, log: log, timeout: lim.TaskTimeout, ctx: ctx}, nil
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	copy(b[8:], "arena-wasi-random")
	return b
}

// Close frees the instance.
func (i *Instance) Close(ctx context.Context) { _ = i.mod.Close(ctx) }

// Log returns what the guest wrote to stdout and stderr (its tail).
func (i *Instance) Log() string { return i.log.String() }

// Call calls an export with raw wasm values.
func (i *Instance) Call(name string, args ...uint64) ([]uint64, error) {
	fn, ok := i.funcs[name]
	if !ok {
		fn = i.mod.ExportedFunction(name)
		if fn == nil {
			return nil, &RunError{Func: name, Reason: "export is missing"}
		}
		i.funcs[name] = fn
	}
	res, err := fn.Call(i.ctx, args...)
	if err != nil {
		return nil, classify(i.ctx, name, i.timeout, err)
	}
	return res, nil
}

// Alloc asks the guest for size bytes through arena_alloc and checks that
// the block it returns is 8-aligned and lies inside memory.
func (i *Instance) Alloc(size uint32) (uint32, error) {
	res, err := i.Call(AllocFunc.Name, uint64(size))
	if err != nil {
		return 0, err
	}
	ptr := uint32(res[0])
	if ptr%8 != 0 {
		return 0, &RunError{Func: AllocFunc.Name, Reason: fmt.Sprintf("returned %#x, which is not 8-aligned", ptr)}
	}
	if uint64(ptr)+uint64(size) > uint64(i.mem.Size()) {
		return 0, &RunError{Func: AllocFunc.Name, Reason: fmt.Sprintf("returned [%#x, %#x), outside memory of %d bytes", ptr, uint64(ptr)+uint64(size), i.mem.Size())}
	}
	return ptr, nil
}

// WriteFloat64s stores v at ptr as little-endian float64s.
func (i *Instance) WriteFloat64s(ptr uint32, v []float64) error {
	buf, ok := i.mem.Read(ptr, uint32(len(v)*8))
	if !ok {
		return i.outOfBounds(ptr, len(v)*8)
	}
	for k, x := range v {
		binary.LittleEndian.PutUint64(buf[k*8:], math.Float64bits(x))
	}
	return nil
}

// ReadFloat64s loads len(dst) little-endian float64s from ptr.
func (i *Instance) ReadFloat64s(ptr uint32, dst []float64) error {
	buf, ok := i.mem.Read(ptr, uint32(len(dst)*8))
	if !ok {
		return i.outOfBounds(ptr, len(dst)*8)
	}
	for k := range dst {
		dst[k] = math.Float64frombits(binary.LittleEndian.Uint64(buf[k*8:]))
	}
	return nil
}

func (i *Instance) outOfBounds(ptr uint32, n int) error {
	return &RunError{Func: "memory", Reason: fmt.Sprintf("[%#x, %#x) lies outside memory of %d bytes", ptr, uint64(ptr)+uint64(n), i.mem.Size())}
}
