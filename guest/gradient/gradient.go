// Package gradient lets a Go strategy be an Arena gradient compressor
// (kind grad_compression): register a Compressor or a TensorCompressor in
// init and build the module.
//
// The module exports gc_init (ABI v1), gc_init2 (ABI v2, with the tensor
// table), gc_compress and gc_decompress; docs/grad_compression.md
// specifies them. The host calls gc_init2 whenever a module has it. A
// Compressor then gets Init(worker, workers, n, budget), n the table's
// total size; a TensorCompressor called through gc_init by a host that
// knows no structure sees one flat tensor (role Flat, 1 × n, "params")
// and a run of 0 steps (unknown).
package gradient

import "github.com/arena-dev/arena/guest"

// Compressor compresses the gradients of simulated data-parallel workers
// to a byte budget and decompresses them on the aggregator. Each worker
// and the aggregator run in their own instance of the module: state kept
// in a worker's Compressor (error feedback, say) is that worker's alone,
// and the aggregator learns nothing but the messages.
type Compressor interface {
	// Init is called once per instance: worker is this instance's worker
	// (0 to workers-1), or -1 on the aggregator; n is the gradient length
	// and budget the byte limit of each message.
	Init(worker, workers, n, budget int)
	// Compress encodes the worker's gradient for step t into out, whose
	// length is the budget, and returns how many bytes it used.
	Compress(t int, grad []float64, out []byte) int
	// Decompress decodes worker's message for step t into out (n values).
	// In each step the aggregator decodes every worker's message in
	// worker order, 0 to workers-1, after all of them were compressed.
	Decompress(worker, t int, msg []byte, out []float64)
}

// Tensor is one tensor of the model's table: a Rows × Cols matrix stored
// row-major in the flat gradient from element Offset on.
type Tensor = guest.TableEntry

// Role is what a tensor is for (embedding, attention projection, norm
// gain, ...): arena.TensorRole's numbers.
type Role = guest.Role

// TensorCompressor is a Compressor that sees the model's tensor table:
// per-tensor and blockwise methods (PowerSGD, Templar's 64×64 blocks) need
// the shapes. Compress and Decompress are Compressor's: the gradient is
// the flat vector the tensors cut.
type TensorCompressor interface {
	// Init is called once per instance with the tensors, in order of
	// their offsets, which tile the gradient exactly, and the run's
	// length in steps (0 when unknown); worker, workers and budget are
	// Compressor.Init's.
	Init(worker, workers int, tensors []Tensor, budget, steps int)
	Compress(t int, grad []float64, out []byte) int
	Decompress(worker, t int, msg []byte, out []float64)
}

// Register makes the module's compressor v. Call it from init; a module
// registers one of Register or RegisterTensors.
func Register(v Compressor) { registered.flat = v }

// RegisterTensors makes the module's compressor v, a tensor-aware one.
func RegisterTensors(v TensorCompressor) { registered.tensors = v }

var registered struct {
	flat    Compressor
	tensors TensorCompressor
}

// codec is what both kinds of compressor share.
type codec interface {
	Compress(t int, grad []float64, out []byte) int
	Decompress(worker, t int, msg []byte, out []float64)
}

// current is what was registered, or a panic saying what to call: the
// host shows it in the task's log.
func current() codec {
	switch {
	case registered.flat != nil && registered.tensors != nil:
		panic("arena guest: both gradient.Register and gradient.RegisterTensors were called; register one compressor")
	case registered.flat != nil:
		return registered.flat
	case registered.tensors != nil:
		return registered.tensors
	}
	panic("arena guest: nothing registered; call gradient.Register or gradient.RegisterTensors in an init function")
}

// initFlat is gc_init(worker, workers, n, budget).
func initFlat(worker, workers, n, budget int) {
	current()
	if registered.flat != nil {
		registered.flat.Init(worker, workers, n, budget)
		return
	}
	registered.tensors.Init(worker, workers, []Tensor{{Name: "params", Role: guest.Flat, Rows: 1, Cols: n}}, budget, 0)
}

// initTable is gc_init2(worker, workers, n, budget, table, count, steps),
// given the table's bytes.
func initTable(worker, workers, n, budget int, table []byte, count, steps int) {
	current()
	tensors, err := guest.ParseTable(table, count, n)
	if err != nil {
		panic("arena guest: gc_init2: " + err.Error())
	}
	if registered.flat != nil {
		registered.flat.Init(worker, workers, n, budget)
		return
	}
	registered.tensors.Init(worker, workers, tensors, budget, steps)
}
