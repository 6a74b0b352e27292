package scoring

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// The guest adapters speak a kind's ABI to one instance. The benchmarks
// drive modules through them, and so do trainers' own loops (package
// strategy), so a strategy runs the same way in both.

// The optimizer kind's exports. A module exports opt_step and at least
// one of opt_init (ABI v1) and opt_init2 (ABI v2); when it has both,
// opt_init2 is the one called. See docs/optimizer-abi.md.
const (
	OptInit  = "opt_init"  // opt_init(n i32): ABI v1
	OptInit2 = "opt_init2" // opt_init2(n i32, table i32, count i32, steps i32): ABI v2
	OptStep  = "opt_step"  // opt_step(t i32, params i32, grads i32, n i32, loss f64)
)

// OptimizerABI is what an optimizer module must export.
var OptimizerABI = sandbox.ABI{
	Funcs: []sandbox.Func{
		{Name: OptInit, Params: []api.ValueType{api.ValueTypeI32}, Optional: true},
		{Name: OptInit2, Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, Optional: true},
		{Name: OptStep, Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeF64}},
	},
	AnyOf: [][]string{{OptInit, OptInit2}},
}

// LRScheduleABI is what a learning-rate schedule module must export.
var LRScheduleABI = sandbox.ABI{Funcs: []sandbox.Func{
	{Name: "lr_init", Params: []api.ValueType{api.ValueTypeI32}},
	{Name: "lr_step", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeF64}, Results: []api.ValueType{api.ValueTypeF64}},
}}

// maxParams bounds an optimizer's parameter count: both buffers must be
// addressable in a 32-bit memory.
const maxParams = 1 << 28

// alloc2 asks the guest for two blocks of a and b bytes, in that order
// (the order is part of what a task costs).
func alloc2(inst *sandbox.Instance, a, b int) (uint32, uint32, error) {
	pa, err := inst.Alloc(uint32(a))
	if err != nil {
		return 0, 0, err
	}
	pb, err := inst.Alloc(uint32(b))
	return pa, pb, err
}

// The tensor table of ABI v2, as the host writes it into guest memory:
// count entries of TensorEntryBytes each, little-endian, one after
// another:
//
//	bytes  0..31  name, UTF-8, NUL-padded (so at most 31 bytes)
//	bytes 32..35  role, u32 (arena.TensorRole's numbers)
//	bytes 36..39  rows, u32
//	bytes 40..43  cols, u32
//	bytes 44..47  offset, u32: the tensor's first element in the flat
//	              float64 vector; it is stored row-major from there
const (
	TensorEntryBytes = 48
	MaxTensorName    = 31   // bytes
	MaxTensors       = 4096 // entries in a table
)

// FlatTable is the table of an unstructured vector of n parameters: what
// an ABI v2 module is given by a caller that knows no structure.
func FlatTable(n int) []arena.Tensor {
	return []arena.Tensor{{Name: "params", Role: arena.TensorFlat, Rows: 1, Cols: n, Offset: 0}}
}

// CheckTensorTable checks that a table can be handed to a module and
// returns the parameter count it describes. Its entries come in order
// of their offsets and tile [0, n) exactly: the first starts at 0 and
// each next one where the last ended. Each has rows and cols of at least
// 1, a known role and a unique name of 1 to MaxTensorName bytes of UTF-8
// without NUL; a table has 1 to MaxTensors entries and at most maxParams
// elements in all.
func CheckTensorTable(table []arena.Tensor) (int, error) {
	if len(table) < 1 || len(table) > MaxTensors {
		return 0, fmt.Errorf("tensor table: 1 to %d tensors, not %d", MaxTensors, len(table))
	}
	names := make(map[string]bool, len(table))
	n := 0
	for i, t := range table {
		switch {
		case t.Name == "" || len(t.Name) > MaxTensorName:
			return 0, fmt.Errorf("tensor table: entry %d: a name of 1 to %d bytes, not %d (%q)", i, MaxTensorName, len(t.Name), t.Name)
		case !utf8.ValidString(t.Name):
			return 0, fmt.Errorf("tensor table: entry %d: name %q is not UTF-8", i, t.Name)
		case containsNUL(t.Name):
			return 0, fmt.Errorf("tensor table: entry %d: name %q contains a NUL byte", i, t.Name)
		case names[t.Name]:
			return 0, fmt.Errorf("tensor table: entry %d: name %q is used twice", i, t.Name)
		case t.Role.String() == "unknown":
			return 0, fmt.Errorf("tensor table: %s: unknown role %d", t.Name, uint32(t.Role))
		case t.Rows < 1 || t.Cols < 1 || t.Rows > maxParams || t.Cols > maxParams:
			return 0, fmt.Errorf("tensor table: %s: %d×%d; rows and cols must be 1 to %d", t.Name, t.Rows, t.Cols, maxParams)
		case t.Offset != n:
			if t.Offset < n {
				return 0, fmt.Errorf("tensor table: %s starts at %d, inside the tensor before it, which ends at %d (entries must not overlap, in order of their offsets)", t.Name, t.Offset, n)
			}
			return 0, fmt.Errorf("tensor table: %s starts at %d, leaving a gap after %d (entries must cover the parameters exactly, in order of their offsets)", t.Name, t.Offset, n)
		}
		names[t.Name] = true
		if t.Size() > maxParams-n {
			return 0, fmt.Errorf("tensor table: more than %d parameters", maxParams)
		}
		n += t.Size()
	}
	return n, nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// EncodeTensorTable lays a checked table out as the module reads it.
func EncodeTensorTable(table []arena.Tensor) []byte {
	b := make([]byte, TensorEntryBytes*len(table))
	for i, t := range table {
		e := b[i*TensorEntryBytes:]
		copy(e[:32], t.Name) // the rest stays NUL
		binary.LittleEndian.PutUint32(e[32:], uint32(t.Role))
		binary.LittleEndian.PutUint32(e[36:], uint32(t.Rows))
		binary.LittleEndian.PutUint32(e[40:], uint32(t.Cols))
		binary.LittleEndian.PutUint32(e[44:], uint32(t.Offset))
	}
	return b
}

// GuestOptimizer is an optimizer module on one instance.
type GuestOptimizer struct {
	inst          *sandbox.Instance
	params, grads uint32
	n             int
	tensors       bool // initialized through opt_init2
}

// NewGuestOptimizer sets an optimizer up for n parameters with no
// structure: a module with opt_init2 gets FlatTable(n) and a run length
// of 0 (unknown), one with only opt_init gets opt_init(n). It is
// NewGuestTensorOptimizer(inst, FlatTable(n), 0).
func NewGuestOptimizer(inst *sandbox.Instance, n int) (*GuestOptimizer, error) {
	if n <= 0 || n > maxParams {
		return nil, fmt.Errorf("an optimizer takes 1 to %d parameters, not %d", maxParams, n)
	}
	return NewGuestTensorOptimizer(inst, FlatTable(n), 0)
}

// NewGuestTensorOptimizer sets an optimizer up for the parameters table
// describes, in a run of steps optimizer steps (0 when unknown). It
// checks the table (CheckTensorTable) and steps before the module sees
// anything, then allocates the guest's parameter and gradient buffers
// through arena_alloc, 8n bytes each in that order. A module that
// exports opt_init2 then gets the table too: a third block of
// TensorEntryBytes·len(table) bytes, allocated last, filled in and
// handed over as opt_init2(n, table, len(table), steps). A module with
// only opt_init gets opt_init(n): it sees one flat vector.
func NewGuestTensorOptimizer(inst *sandbox.Instance, table []arena.Tensor, steps int) (*GuestOptimizer, error) {
	n, err := CheckTensorTable(table)
	if err != nil {
		return nil, err
	}
	if steps < 0 || steps > 1<<31-1 {
		return nil, fmt.Errorf("a run of 0 (unknown) to %d steps, not %d", 1<<31-1, steps)
	}
	g := &GuestOptimizer{inst: inst, n: n, tensors: inst.HasExport(OptInit2)}
	if g.params, g.grads, err = alloc2(inst, 8*n, 8*n); err != nil {
		return nil, err
	}
	if !g.tensors {
		if _, err = inst.Call(OptInit, uint64(n)); err != nil {
			return nil, err
		}
		return g, nil
	}
	enc := EncodeTensorTable(table)
	ptr, err := inst.Alloc(uint32(len(enc)))
	if err != nil {
		return nil, err
	}
	if err := inst.WriteBytes(ptr, enc); err != nil {
		return nil, err
	}
	if _, err = inst.Call(OptInit2, uint64(n), uint64(ptr), uint64(len(table)), uint64(steps)); err != nil {
		return nil, err
	}
	return g, nil
}

// Tensors reports whether the module was given the tensor table (it
// exports opt_init2) rather than opt_init(n) alone.
func (g *GuestOptimizer) Tensors() bool { return g.tensors }

// Step hands the guest step t's parameters, gradients and minibatch loss,
// and reads the parameters it updated back into params.
func (g *GuestOptimizer) Step(t int, params, grads []float64, loss float64) error {
	if len(params) != g.n || len(grads) != g.n {
		return fmt.Errorf("step %d: %d parameters and %d gradients for an optimizer of %d", t, len(params), len(grads), g.n)
	}
	if err := g.inst.WriteFloat64s(g.params, params); err != nil {
		return err
	}
	if err := g.inst.WriteFloat64s(g.grads, grads); err != nil {
		return err
	}
	if _, err := g.inst.Call(OptStep, uint64(t), uint64(g.params), uint64(g.grads), uint64(g.n), api.EncodeF64(loss)); err != nil {
		return err
	}
	return g.inst.ReadFloat64s(g.params, params)
}

// GuestSchedule is a learning-rate schedule module on one instance.
type GuestSchedule struct {
	inst  *sandbox.Instance
	total int
}

// NewGuestSchedule calls lr_init(total) for a run of total steps.
func NewGuestSchedule(inst *sandbox.Instance, total int) (*GuestSchedule, error) {
	if total <= 0 || total > 1<<31-1 {
		return nil, fmt.Errorf("a schedule runs 1 to %d steps, not %d", 1<<31-1, total)
	}
	if _, err := inst.Call("lr_init", uint64(total)); err != nil {
		return nil, err
	}
	return &GuestSchedule{inst: inst, total: total}, nil
}

// LR asks for step t's learning rate, given the last minibatch loss. A
// rate outside [0, MaxLR] is the guest's failure.
func (g *GuestSchedule) LR(t int, loss float64) (float64, error) {
	res, err := g.inst.Call("lr_step", uint64(t), uint64(g.total), api.EncodeF64(loss))
	if err != nil {
		return 0, err
	}
	rate := api.DecodeF64(res[0])
	if !(rate >= 0 && rate <= MaxLR) {
		return 0, &sandbox.RunError{Func: "lr_step", Reason: fmt.Sprintf("returned %v at step %d; a learning rate must be between 0 and %g", rate, t, MaxLR)}
	}
	return rate, nil
}

// GradCompressionABI is what a gradient compression module must export.
var GradCompressionABI = sandbox.ABI{Funcs: []sandbox.Func{
	{Name: "gc_init", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}},
	{Name: "gc_compress", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, Results: []api.ValueType{api.ValueTypeI32}},
	{Name: "gc_decompress", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}},
}}

// checkGradShape refuses shapes the gradient ABI cannot carry.
func checkGradShape(workers, n, budget int) error {
	switch {
	case workers < 1 || workers > 1<<16:
		return fmt.Errorf("1 to %d workers, not %d", 1<<16, workers)
	case n < 1 || n > maxParams:
		return fmt.Errorf("gradients of 1 to %d values, not %d", maxParams, n)
	case budget < 1 || budget > 1<<30:
		return fmt.Errorf("a budget of 1 to %d bytes, not %d", 1<<30, budget)
	}
	return nil
}

// GuestGradWorker is the compressing side of a gradient compression
// module, one per data-parallel worker.
type GuestGradWorker struct {
	inst            *sandbox.Instance
	worker, budget  int
	gradPtr, outPtr uint32
	msg             []byte
}

// NewGuestGradWorker allocates the worker's gradient and message buffers
// and calls gc_init(worker, workers, n, budget).
func NewGuestGradWorker(inst *sandbox.Instance, worker, workers, n, budget int) (*GuestGradWorker, error) {
	if err := checkGradShape(workers, n, budget); err != nil {
		return nil, err
	}
	if worker < 0 || worker >= workers {
		return nil, fmt.Errorf("worker %d of %d", worker, workers)
	}
	w := &GuestGradWorker{inst: inst, worker: worker, budget: budget}
	var err error
	if w.gradPtr, w.outPtr, err = alloc2(inst, 8*n, budget); err != nil {
		return nil, err
	}
	if _, err := inst.Call("gc_init", uint64(worker), uint64(workers), uint64(n), uint64(budget)); err != nil {
		return nil, err
	}
	return w, nil
}

// Compress turns step t's gradient into a message of at most the budget.
// The message is valid until the next call.
func (w *GuestGradWorker) Compress(t int, grad []float64) ([]byte, error) {
	if err := w.inst.WriteFloat64s(w.gradPtr, grad); err != nil {
		return nil, err
	}
	res, err := w.inst.Call("gc_compress", uint64(t), uint64(w.gradPtr), uint64(len(grad)), uint64(w.outPtr), uint64(w.budget))
	if err != nil {
		return nil, err
	}
	size := int32(res[0])
	if size < 0 || int(size) > w.budget {
		return nil, &sandbox.RunError{Func: "gc_compress", Reason: fmt.Sprintf("worker %d returned a message of %d bytes at step %d; the budget is %d", w.worker, size, t, w.budget)}
	}
	w.msg, err = w.inst.ReadBytes(w.outPtr, int(size), w.msg)
	return w.msg, err
}

// GuestGradAggregator is the decompressing side of a gradient
// compression module, which sees nothing of the workers but messages.
type GuestGradAggregator struct {
	inst           *sandbox.Instance
	budget         int
	msgPtr, decPtr uint32
}

// NewGuestGradAggregator allocates the aggregator's buffers and calls
// gc_init(-1, workers, n, budget).
func NewGuestGradAggregator(inst *sandbox.Instance, workers, n, budget int) (*GuestGradAggregator, error) {
	if err := checkGradShape(workers, n, budget); err != nil {
		return nil, err
	}
	a := &GuestGradAggregator{inst: inst, budget: budget}
	var err error
	if a.msgPtr, a.decPtr, err = alloc2(inst, budget, 8*n); err != nil {
		return nil, err
	}
	aggregator := int32(-1) // gc_init's worker index for the aggregator
	if _, err := inst.Call("gc_init", uint64(uint32(aggregator)), uint64(workers), uint64(n), uint64(budget)); err != nil {
		return nil, err
	}
	return a, nil
}

// Decompress decodes worker's message of step t into out.
func (a *GuestGradAggregator) Decompress(worker, t int, msg []byte, out []float64) error {
	if len(msg) > a.budget {
		return fmt.Errorf("a message of %d bytes, over the budget of %d", len(msg), a.budget)
	}
	if err := a.inst.WriteBytes(a.msgPtr, msg); err != nil {
		return err
	}
	if _, err := a.inst.Call("gc_decompress", uint64(worker), uint64(t), uint64(a.msgPtr), uint64(len(msg)), uint64(a.decPtr), uint64(len(out))); err != nil {
		return err
	}
	return a.inst.ReadFloat64s(a.decPtr, out)
}
