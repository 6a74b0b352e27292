package scoring

import (
	"fmt"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// The gradient compression kind's adapters: a worker's and the
// aggregator's side of a module (see guest.go for the other kinds').

// The gradient compression kind's exports. A module exports gc_compress,
// gc_decompress and at least one of gc_init (ABI v1) and gc_init2 (ABI
// v2, with the tensor table); when it has both, gc_init2 is the one
// called. See docs/grad_compression.md.
const (
	GCInit       = "gc_init"       // gc_init(worker i32, workers i32, n i32, budget i32)
	GCInit2      = "gc_init2"      // gc_init2(worker i32, workers i32, n i32, budget i32, table i32, count i32, steps i32)
	GCCompress   = "gc_compress"   // gc_compress(t i32, grad i32, n i32, out i32, budget i32) -> i32
	GCDecompress = "gc_decompress" // gc_decompress(worker i32, t i32, msg i32, size i32, out i32, n i32)
)

// GradCompressionABI is what a gradient compression module must export.
var GradCompressionABI = sandbox.ABI{
	Funcs: []sandbox.Func{
		{Name: GCInit, Params: i32s(4), Optional: true},
		{Name: GCInit2, Params: i32s(7), Optional: true},
		{Name: GCCompress, Params: i32s(5), Results: i32s(1)},
		{Name: GCDecompress, Params: i32s(6)},
	},
	AnyOf: [][]string{{GCInit, GCInit2}},
}

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

// NewGuestGradWorker sets worker up for flat gradients of n values: it
// is NewGuestTensorGradWorker(inst, worker, workers, FlatTable(n), budget, 0).
func NewGuestGradWorker(inst *sandbox.Instance, worker, workers, n, budget int) (*GuestGradWorker, error) {
	if err := checkGradShape(workers, n, budget); err != nil {
		return nil, err
	}
	return NewGuestTensorGradWorker(inst, worker, workers, FlatTable(n), budget, 0)
}

// NewGuestTensorGradWorker sets worker (0 to workers-1) up for gradients
// of the parameters table describes, in a run of steps steps (0 when
// unknown). It checks the table, allocates the gradient's and the
// message's buffers (8n and budget bytes, in that order) and initializes
// the module: gc_init2 with the table (allocated last) when it exports
// it, else gc_init(worker, workers, n, budget).
func NewGuestTensorGradWorker(inst *sandbox.Instance, worker, workers int, table []arena.Tensor, budget, steps int) (*GuestGradWorker, error) {
	n, err := CheckTensorTable(table)
	if err != nil {
		return nil, err
	}
	if err := checkGradShape(workers, n, budget); err != nil {
		return nil, err
	}
	if worker < 0 || worker >= workers {
		return nil, fmt.Errorf("worker %d of %d", worker, workers)
	}
	w := &GuestGradWorker{inst: inst, worker: worker, budget: budget}
	if w.gradPtr, w.outPtr, err = alloc2(inst, 8*n, budget); err != nil {
		return nil, err
	}
	return w, gradInit(inst, worker, workers, table, n, budget, steps)
}

// gradInit calls gc_init2 or gc_init, whichever the module has (gc_init2
// when both).
func gradInit(inst *sandbox.Instance, worker, workers int, table []arena.Tensor, n, budget, steps int) error {
	if steps < 0 || steps > 1<<31-1 {
		return fmt.Errorf("a run of 0 (unknown) to %d steps, not %d", 1<<31-1, steps)
	}
	who := uint64(uint32(int32(worker))) // -1, the aggregator, as an i32
	if !inst.HasExport(GCInit2) {
		_, err := inst.Call(GCInit, who, uint64(workers), uint64(n), uint64(budget))
		return err
	}
	enc := EncodeTensorTable(table)
	ptr, err := inst.Alloc(uint32(len(enc)))
	if err != nil {
		return err
	}
	if err := inst.WriteBytes(ptr, enc); err != nil {
		return err
	}
	_, err = inst.Call(GCInit2, who, uint64(workers), uint64(n), uint64(budget), uint64(ptr), uint64(len(table)), uint64(steps))
	return err
}

// Compress turns step t's gradient into a message of at most the budget.
// The message is valid until the next call.
func (w *GuestGradWorker) Compress(t int, grad []float64) ([]byte, error) {
	if err := w.inst.WriteFloat64s(w.gradPtr, grad); err != nil {
		return nil, err
	}
	res, err := w.inst.Call(GCCompress, uint64(t), uint64(w.gradPtr), uint64(len(grad)), uint64(w.outPtr), uint64(w.budget))
	if err != nil {
		return nil, err
	}
	size := int32(res[0])
	if size < 0 || int(size) > w.budget {
		return nil, &sandbox.RunError{Func: GCCompress, Reason: fmt.Sprintf("worker %d returned a message of %d bytes at step %d; the budget is %d", w.worker, size, t, w.budget)}
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

// NewGuestGradAggregator sets the aggregator up for flat gradients of n
// values: NewGuestTensorGradAggregator(inst, workers, FlatTable(n), budget, 0).
func NewGuestGradAggregator(inst *sandbox.Instance, workers, n, budget int) (*GuestGradAggregator, error) {
	if err := checkGradShape(workers, n, budget); err != nil {
		return nil, err
	}
	return NewGuestTensorGradAggregator(inst, workers, FlatTable(n), budget, 0)
}

// NewGuestTensorGradAggregator allocates the aggregator's message and
// output buffers (budget and 8n bytes, in that order) and initializes the
// module as worker -1, as NewGuestTensorGradWorker does a worker.
func NewGuestTensorGradAggregator(inst *sandbox.Instance, workers int, table []arena.Tensor, budget, steps int) (*GuestGradAggregator, error) {
	n, err := CheckTensorTable(table)
	if err != nil {
		return nil, err
	}
	if err := checkGradShape(workers, n, budget); err != nil {
		return nil, err
	}
	a := &GuestGradAggregator{inst: inst, budget: budget}
	if a.msgPtr, a.decPtr, err = alloc2(inst, budget, 8*n); err != nil {
		return nil, err
	}
	return a, gradInit(inst, -1, workers, table, n, budget, steps)
}

// Decompress decodes worker's message of step t into out.
func (a *GuestGradAggregator) Decompress(worker, t int, msg []byte, out []float64) error {
	if len(msg) > a.budget {
		return fmt.Errorf("a message of %d bytes, over the budget of %d", len(msg), a.budget)
	}
	if err := a.inst.WriteBytes(a.msgPtr, msg); err != nil {
		return err
	}
	if _, err := a.inst.Call(GCDecompress, uint64(worker), uint64(t), uint64(a.msgPtr), uint64(len(msg)), uint64(a.decPtr), uint64(len(out))); err != nil {
		return err
	}
	return a.inst.ReadFloat64s(a.decPtr, out)
}
