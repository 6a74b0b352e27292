package scoring

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/sandbox"
)

// The gradient compression kind's adapters: a worker's and the
// aggregator's side of a module (see guest.go for the other kinds').

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
