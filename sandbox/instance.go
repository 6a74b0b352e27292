package sandbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/meter"
)

// Instance is one fresh instantiation of a module, used for one task. A
// task may run several instances of the module (Sibling) when a kind must
// keep parts of a strategy apart, such as a compressor and the
// decompressor that must not read its memory; they share one fuel budget,
// one log and one time limit.
type Instance struct {
	task  *task
	mod   api.Module
	mem   api.Memory
	funcs map[string]api.Function
	fuel  api.MutableGlobal
	floor api.MutableGlobal // raised to stop the guest at its next check
	mark  api.MutableGlobal // where the guest next yields (see package meter)
}

// task is what the instances of one task share.
type task struct {
	module  *Module
	ctx     context.Context // the caller's: cancelled means the host is shutting down
	seed    uint64
	lim     Limits
	log     *tailLog
	timer   *time.Timer   // the wall-clock safety net
	release []func() bool // stop the backstops
	guest   time.Duration // wall time spent in guest calls

	mu       sync.Mutex // guards the globals against the backstops
	members  []*Instance
	budget   int64 // the current allowance: lim.Fuel, or the last Refill's
	left     int64 // fuel of the allowance not yet spent
	spent    int64 // fuel spent under earlier allowances
	stopped  bool
	timedOut bool
}

// Instantiate makes a fresh instance with lim.Fuel to spend, then runs the
// module's start function and _initialize (Go and TinyGo reactors), both
// metered. seed makes the guest's random_get deterministic per task. If
// the task outlives lim.TaskTimeout, or ctx is cancelled, the guest is
// stopped at its next fuel check.
func (m *Module) Instantiate(ctx context.Context, seed uint64, lim Limits) (*Instance, error) {
	t := &task{module: m, ctx: ctx, seed: seed, lim: lim, log: newTailLog(lim.MaxLogBytes), budget: lim.Fuel, left: lim.Fuel}
	t.timer = time.AfterFunc(lim.TaskTimeout, func() { t.stop(true) })
	t.release = []func() bool{t.timer.Stop, context.AfterFunc(ctx, func() { t.stop(false) })}
	inst, err := t.instantiate()
	if err != nil {
		t.close()
		return nil, err
	}
	return inst, nil
}

// Sibling makes another fresh instance of the module in the same task: it
// spends from the same fuel budget, writes to the same log and stops at
// the same time limit, but shares no memory with the others. Its
// random_get stream differs from theirs.
func (i *Instance) Sibling() (*Instance, error) { return i.task.instantiate() }

func (t *task) instantiate() (*Instance, error) {
	t.mu.Lock()
	index := len(t.members)
	t.mu.Unlock()
	cfg := wazero.NewModuleConfig().
		WithName("").         // anonymous, so many instances can coexist
		WithStartFunctions(). // run below, metered, once the budget is set
		WithStdout(t.log).
		WithStderr(t.log).
		WithRandSource(rand.NewChaCha8(seedBytes(t.seed, index)))
	mod, err := t.module.rt.InstantiateModule(t.ctx, t.module.compiled, cfg)
	if err != nil {
		return nil, classify(t.ctx, "instantiation", err)
	}
	inst := &Instance{
		task: t, mod: mod, mem: mod.ExportedMemory("memory"), funcs: map[string]api.Function{},
		fuel:  mod.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal),
		floor: mod.ExportedGlobal(meter.FloorGlobal).(api.MutableGlobal),
		mark:  mod.ExportedGlobal(meter.MarkGlobal).(api.MutableGlobal),
	}
	t.mu.Lock()
	t.members = append(t.members, inst)
	if t.stopped {
		inst.halt()
	}
	t.mu.Unlock()
	for _, start := range []string{meter.StartExport, "_initialize"} {
		if mod.ExportedFunction(start) == nil {
			continue
		}
		if _, err := inst.Call(start); err != nil {
			if run, ok := err.(*RunError); ok {
				run.Func = "instantiation (" + start + ")"
			}
			return nil, err
		}
	}
	return inst, nil
}

// seedBytes is the random_get seed of a task's index'th instance.
func seedBytes(seed uint64, index int) [32]byte {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	copy(b[8:], "arena-wasi-random")
	binary.LittleEndian.PutUint32(b[28:], uint32(index))
	return b
}

// stop makes every instance of the task trap at its next fuel check.
func (t *task) stop(timedOut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timedOut = t.timedOut || timedOut
	t.stopped = true
	for _, m := range t.members {
		m.halt()
	}
}

// halt raises the floor and the mark, so the guest's next check traps.
func (i *Instance) halt() {
	i.floor.Set(math.MaxInt64)
	i.mark.Set(math.MaxInt64)
}

func (t *task) close() {
	for _, release := range t.release {
		release()
	}
	t.mu.Lock()
	members := t.members
	t.members = nil
	t.mu.Unlock()
	for _, m := range members {
		_ = m.mod.Close(t.ctx)
	}
}

// Close frees the instance and its siblings.
func (i *Instance) Close(context.Context) { i.task.close() }

// Log returns what the task's instances wrote to stdout and stderr (its tail).
func (i *Instance) Log() string { return i.task.log.String() }

// GuestTime is the wall time the task has spent inside the module so far.
func (i *Instance) GuestTime() time.Duration { return i.task.guest }

// FuelUsed is the fuel the task has spent so far, over all its instances
// (and all its allowances, after Refill).
func (i *Instance) FuelUsed() int64 {
	i.task.mu.Lock()
	defer i.task.mu.Unlock()
	return i.task.spent + i.task.budget - i.task.left
}

// Refill gives the task a fresh allowance of fuel and restarts its time
// limit. It is for hosts that run a strategy call by call for as long as
// they like (a trainer's loop) rather than a task at a time: each call, or
// each stretch between refills, is bounded on its own. An instance the time
// limit or the host's context has stopped stays stopped.
func (i *Instance) Refill(fuel int64) error {
	t := i.task
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return &RunError{Func: "refill", Reason: "the instance was stopped (time limit or shutdown); start a new one", TimedOut: t.timedOut}
	}
	t.spent += t.budget - t.left
	t.budget, t.left = fuel, fuel
	t.timer.Reset(t.lim.TaskTimeout)
	return nil
}

// Rest stops the time limit until the next Refill, for a host that is
// busy with its own work between calls (a trainer computing the next
// gradients): only time inside the module's calls should count.
func (i *Instance) Rest() {
	i.task.timer.Stop()
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
	t := i.task
	t.mu.Lock()
	i.fuel.Set(uint64(t.left)) // the counter holds an int64 as raw bits
	if !t.stopped {
		// The first yield comes meter.YieldEvery fuel into the call.
		i.mark.Set(uint64(max(t.left-meter.YieldEvery, 0)))
	}
	t.mu.Unlock()
	begin := time.Now()
	res, err := fn.Call(t.ctx, args...)
	t.guest += time.Since(begin)
	t.mu.Lock()
	t.left = int64(i.fuel.Get())
	timedOut, left, budget := t.timedOut, t.left, t.budget
	t.mu.Unlock()
	if err == nil {
		return res, nil
	}
	switch {
	case timedOut:
		return nil, &RunError{Func: name, Reason: fmt.Sprintf("exceeded the time limit of %s (a safety net: the fuel budget should end a task first)", t.lim.TaskTimeout), TimedOut: true}
	case t.ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", name, context.Cause(t.ctx))
	case left < 0:
		return nil, &RunError{Func: name, Reason: fmt.Sprintf("fuel exhausted: the task's budget of %d fuel ran out", budget), FuelExhausted: true}
	}
	return nil, classify(t.ctx, name, err)
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
	if littleEndianHost {
		copy(buf, float64Bytes(v))
		return nil
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
	if littleEndianHost {
		copy(float64Bytes(dst), buf)
		return nil
	}
	for k := range dst {
		dst[k] = math.Float64frombits(binary.LittleEndian.Uint64(buf[k*8:]))
	}
	return nil
}

// littleEndianHost says Go's float64s are laid out as WebAssembly's
// little-endian memory holds them, so the buffers copy as bytes: several
// times faster than converting element by element, which trainers moving
// millions of parameters a step notice.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// float64Bytes is v's memory as bytes.
func float64Bytes(v []float64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*8)
}

// WriteBytes copies b into memory at ptr.
func (i *Instance) WriteBytes(ptr uint32, b []byte) error {
	if !i.mem.Write(ptr, b) {
		return i.outOfBounds(ptr, len(b))
	}
	return nil
}

// ReadBytes copies n bytes at ptr into dst, reusing its storage, and
// returns it.
func (i *Instance) ReadBytes(ptr uint32, n int, dst []byte) ([]byte, error) {
	if n < 0 {
		return dst, i.outOfBounds(ptr, n)
	}
	buf, ok := i.mem.Read(ptr, uint32(n))
	if !ok {
		return dst, i.outOfBounds(ptr, n)
	}
	return append(dst[:0], buf...), nil
}

func (i *Instance) outOfBounds(ptr uint32, n int) error {
	return &RunError{Func: "memory", Reason: fmt.Sprintf("[%#x, %#x) lies outside memory of %d bytes", ptr, uint64(ptr)+uint64(n), i.mem.Size())}
}
