package scoring

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/sandbox"
)

// The guest adapters speak a kind's ABI to one instance. The benchmarks
// drive modules through them, and so do trainers' own loops (package
// strategy), so a strategy runs the same way in both.

// OptimizerABI is what an optimizer module must export.
var OptimizerABI = sandbox.ABI{Funcs: []sandbox.Func{
	{Name: "opt_init", Params: []api.ValueType{api.ValueTypeI32}},
	{Name: "opt_step", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeF64}},
}}

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

// GuestOptimizer is an optimizer module on one instance.
type GuestOptimizer struct {
	inst          *sandbox.Instance
	params, grads uint32
	n             int
}

// NewGuestOptimizer allocates the guest's parameter and gradient buffers
// for n parameters, through arena_alloc, and calls opt_init(n).
func NewGuestOptimizer(inst *sandbox.Instance, n int) (*GuestOptimizer, error) {
	if n <= 0 || n > maxParams {
		return nil, fmt.Errorf("an optimizer takes 1 to %d parameters, not %d", maxParams, n)
	}
	g := &GuestOptimizer{inst: inst, n: n}
	var err error
	if g.params, g.grads, err = alloc2(inst, 8*n, 8*n); err != nil {
		return nil, err
	}
	if _, err = inst.Call("opt_init", uint64(n)); err != nil {
		return nil, err
	}
	return g, nil
}

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
	if _, err := g.inst.Call("opt_step", uint64(t), uint64(g.params), uint64(g.grads), uint64(g.n), api.EncodeF64(loss)); err != nil {
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

// ActivationCompressionABI is what an activation compression module must
// export.
var ActivationCompressionABI = sandbox.ABI{Funcs: []sandbox.Func{
	{Name: "ac_compress", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, Results: []api.ValueType{api.ValueTypeI32}},
	{Name: "ac_decompress", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}},
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

func checkTensorSize(size int) error {
	if size < 1 || size > 1<<30 {
		return fmt.Errorf("tensors of 1 to %d bytes, not %d", 1<<30, size)
	}
	return nil
}

// ActivationCapacity is the room a message of a tensor of size bytes gets.
func ActivationCapacity(size int) int { return size + size/8 + 1024 }

// GuestActivationEncoder is the compressing side of an activation
// compression module, for tensors of up to size bytes.
type GuestActivationEncoder struct {
	inst          *sandbox.Instance
	size          int
	inPtr, outPtr uint32
	msg           []byte
}

// NewGuestActivationEncoder allocates the input and message buffers.
func NewGuestActivationEncoder(inst *sandbox.Instance, size int) (*GuestActivationEncoder, error) {
	if err := checkTensorSize(size); err != nil {
		return nil, err
	}
	e := &GuestActivationEncoder{inst: inst, size: size}
	var err error
	if e.inPtr, e.outPtr, err = alloc2(inst, size, ActivationCapacity(size)); err != nil {
		return nil, err
	}
	return e, nil
}

// Compress encodes a rows×cols tensor of dtype (baseline.BFloat16 or
// baseline.Float32), data in little-endian bytes. The message is valid until the next call.
func (e *GuestActivationEncoder) Compress(dtype, rows, cols int, data []byte) ([]byte, error) {
	if len(data) > e.size {
		return nil, fmt.Errorf("a tensor of %d bytes, over the encoder's %d", len(data), e.size)
	}
	if err := e.inst.WriteBytes(e.inPtr, data); err != nil {
		return nil, err
	}
	capacity := ActivationCapacity(e.size)
	res, err := e.inst.Call("ac_compress", uint64(dtype), uint64(rows), uint64(cols), uint64(e.inPtr), uint64(len(data)), uint64(e.outPtr), uint64(capacity))
	if err != nil {
		return nil, err
	}
	m := int32(res[0])
	if m < 0 || int(m) > capacity {
		return nil, &sandbox.RunError{Func: "ac_compress", Reason: fmt.Sprintf("returned %d; a message is 0 to %d bytes", m, capacity)}
	}
	e.msg, err = e.inst.ReadBytes(e.outPtr, int(m), e.msg)
	return e.msg, err
}

// GuestActivationDecoder is the decompressing side of an activation
// compression module, which never sees the original tensor.
type GuestActivationDecoder struct {
	inst           *sandbox.Instance
	size           int
	msgPtr, decPtr uint32
	out            []byte
}

// NewGuestActivationDecoder allocates the message and output buffers.
func NewGuestActivationDecoder(inst *sandbox.Instance, size int) (*GuestActivationDecoder, error) {
	if err := checkTensorSize(size); err != nil {
		return nil, err
	}
	d := &GuestActivationDecoder{inst: inst, size: size}
	var err error
	if d.msgPtr, d.decPtr, err = alloc2(inst, ActivationCapacity(size), size); err != nil {
		return nil, err
	}
	return d, nil
}

// Decompress decodes msg into a rows×cols tensor of dtype, n bytes long.
// The result is valid until the next call.
func (d *GuestActivationDecoder) Decompress(dtype, rows, cols int, msg []byte, n int) ([]byte, error) {
	if n > d.size || len(msg) > ActivationCapacity(d.size) {
		return nil, fmt.Errorf("a tensor of %d bytes from a message of %d, over the decoder's %d", n, len(msg), d.size)
	}
	if err := d.inst.WriteBytes(d.msgPtr, msg); err != nil {
		return nil, err
	}
	if _, err := d.inst.Call("ac_decompress", uint64(dtype), uint64(rows), uint64(cols), uint64(d.msgPtr), uint64(len(msg)), uint64(d.decPtr), uint64(n)); err != nil {
		return nil, err
	}
	var err error
	d.out, err = d.inst.ReadBytes(d.decPtr, n, d.out)
	return d.out, err
}
