package sandbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/meter"
)

// Instance is one fresh instantiation of a module, used for one task.
type Instance struct {
	mod     api.Module
	mem     api.Memory
	funcs   map[string]api.Function
	log     *tailLog
	ctx     context.Context // the caller's: cancelled means the host is shutting down
	budget  int64
	timeout time.Duration
	release []func() bool // stop the backstops
	guest   time.Duration // wall time spent in guest calls

	mu       sync.Mutex // guards the host's use of the globals against the backstops
	fuel     api.MutableGlobal
	floor    api.MutableGlobal // raised to stop the guest at its next check
	timedOut bool
}

// Instantiate makes a fresh instance with lim.Fuel to spend, then runs the
// module's start function and _initialize (Go and TinyGo reactors), both
// metered. seed makes the guest's random_get deterministic per task. If
// the task outlives lim.TaskTimeout, or ctx is cancelled, the guest is
// stopped at its next fuel check.
func (m *Module) Instantiate(ctx context.Context, seed uint64, lim Limits) (*Instance, error) {
	log := newTailLog(lim.MaxLogBytes)
	cfg := wazero.NewModuleConfig().
		WithName("").         // anonymous, so many instances can coexist
		WithStartFunctions(). // run below, metered, once the budget is set
		WithStdout(log).
		WithStderr(log).
		WithRandSource(rand.NewChaCha8(seedBytes(seed)))
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, classify(ctx, "instantiation", err)
	}
	inst := &Instance{
		mod: mod, mem: mod.ExportedMemory("memory"), funcs: map[string]api.Function{}, log: log,
		ctx: ctx, budget: lim.Fuel, timeout: lim.TaskTimeout,
		fuel:  mod.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal),
		floor: mod.ExportedGlobal(meter.FloorGlobal).(api.MutableGlobal),
	}
	inst.setFuel(lim.Fuel)
	timer := time.AfterFunc(lim.TaskTimeout, func() { inst.stop(true) })
	inst.release = []func() bool{timer.Stop, context.AfterFunc(ctx, func() { inst.stop(false) })}
	for _, start := range []string{meter.StartExport, "_initialize"} {
		if mod.ExportedFunction(start) == nil {
			continue
		}
		if _, err := inst.Call(start); err != nil {
			inst.Close(ctx)
			if run, ok := err.(*RunError); ok {
				run.Func = "instantiation (" + start + ")"
			}
			return nil, err
		}
	}
	return inst, nil
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	copy(b[8:], "arena-wasi-random")
	return b
}

// stop makes the guest trap at its next fuel check.
func (i *Instance) stop(timedOut bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.timedOut = i.timedOut || timedOut
	i.floor.Set(math.MaxInt64)
}

// setFuel stores v, an int64, in the counter, which holds it as raw bits.
func (i *Instance) setFuel(v int64) { i.fuel.Set(uint64(v)) }

// Close frees the instance.
func (i *Instance) Close(ctx context.Context) {
	for _, release := range i.release {
		release()
	}
	_ = i.mod.Close(ctx)
}

// Log returns what the guest wrote to stdout and stderr (its tail).
func (i *Instance) Log() string { return i.log.String() }

// GuestTime is the wall time spent inside the module so far.
func (i *Instance) GuestTime() time.Duration { return i.guest }

// FuelUsed is the fuel spent so far.
func (i *Instance) FuelUsed() int64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.budget - int64(i.fuel.Get())
}

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
	begin := time.Now()
	res, err := fn.Call(i.ctx, args...)
	i.guest += time.Since(begin)
	if err == nil {
		return res, nil
	}
	i.mu.Lock()
	timedOut, left := i.timedOut, int64(i.fuel.Get())
	i.mu.Unlock()
	switch {
	case timedOut:
		return nil, &RunError{Func: name, Reason: fmt.Sprintf("exceeded the time limit of %s (a safety net: the fuel budget should end a task first)", i.timeout), TimedOut: true}
	case i.ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", name, context.Cause(i.ctx))
	case left < 0:
		return nil, &RunError{Func: name, Reason: fmt.Sprintf("fuel exhausted: the task's budget of %d fuel ran out", i.budget), FuelExhausted: true}
	}
	return nil, classify(i.ctx, name, err)
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
