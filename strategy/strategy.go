// Package strategy runs a strategy module (a champion pulled from Arena,
// say) inside a trainer's own training loop, through the same sandbox, fuel
// metering and ABI code the workers score it with: it behaves in your loop
// as it did in the tournament, and a hostile module can neither hang nor
// crash your process.
//
// The limits are a challenge's, applied per call rather than per task:
// every call (initialization, each step) gets FuelPerTask fuel and
// TaskTimeoutMS of wall time as a safety net, so a run may be as long as
// you like, with as long between calls as your loop needs, while no single
// call can run away. For models much larger than the benchmark's, raise
// FuelPerTask and MemoryPages (an optimizer's buffers take 16 bytes a
// parameter). After the module fails (a trap, fuel
// exhausted, a bad pointer) its state is undefined: every later call
// returns the same error, and you start a new one or fall back. Bad input
// of yours (slices of the wrong length, say) is refused before the module
// sees it, and the module carries on. The context given to a New function
// bounds the module's life: once it is done, the module stops. Call Close
// when you are finished with one. Each value is for one goroutine at a
// time; the Engine may be shared by all.
package strategy

import (
	"context"
	"errors"
	"fmt"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
)

// session is one module instance run call by call.
type session struct {
	mod  *sandbox.Module
	inst *sandbox.Instance
	fuel int64
	err  error // the first failure; sticky
}

// start validates, meters and compiles wasm through eng (and its cache),
// and instantiates it with the start function and _initialize metered.
func start(ctx context.Context, eng *sandbox.Engine, wasm []byte, abi sandbox.ABI, lim arena.Limits) (*session, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	sl := scoring.SandboxLimits(lim)
	mod, err := eng.Load(ctx, wasm, abi, sl)
	if err != nil {
		return nil, err
	}
	inst, err := mod.Instantiate(ctx, 0, sl)
	if err != nil {
		mod.Release(ctx)
		return nil, err
	}
	return &session{mod: mod, inst: inst, fuel: lim.FuelPerTask}, nil
}

// open starts a session and sets the guest up with newGuest, on the
// first call's allowance.
func open[G any](ctx context.Context, eng *sandbox.Engine, wasm []byte, abi sandbox.ABI, lim arena.Limits, newGuest func(*sandbox.Instance) (G, error)) (*session, G, error) {
	var guest G
	s, err := start(ctx, eng, wasm, abi, lim)
	if err != nil {
		return nil, guest, err
	}
	if err := s.call(func() (err error) { guest, err = newGuest(s.inst); return err }); err != nil {
		s.Close(ctx)
		return nil, guest, err
	}
	return s, guest, nil
}

// call runs fn on a fresh allowance, unless an earlier call failed. A
// failure of the module's sticks; bad input from the caller, refused
// before the module sees it, does not.
func (s *session) call(fn func() error) error {
	if s.err != nil {
		return s.err
	}
	if err := s.inst.Refill(s.fuel); err != nil {
		s.err = err
		return err
	}
	err := fn()
	s.inst.Rest() // the time between calls is the trainer's, not the module's
	var re *sandbox.RunError
	if errors.As(err, &re) {
		s.err = fmt.Errorf("strategy failed: %w", err)
		return s.err
	}
	return err
}

// FuelUsed is the fuel the module has spent so far, in every call.
func (s *session) FuelUsed() int64 { return s.inst.FuelUsed() }

// Log is the tail of what the module wrote to stdout and stderr.
func (s *session) Log() string { return s.inst.Log() }

// Close frees the instance and releases the compiled module.
func (s *session) Close(ctx context.Context) {
	s.inst.Close(ctx)
	s.mod.Release(ctx)
}

// Optimizer is an optimizer module updating a parameter vector. A module
// of ABI v2 (it exports opt_init2) is given the tensor table; one of ABI
// v1 (opt_init only) sees one flat vector. See docs/optimizer-abi.md.
type Optimizer struct {
	*session
	guest *scoring.GuestOptimizer
}

// NewOptimizer loads an optimizer module for n parameters with no
// structure: it allocates the guest's buffers and calls opt_init(n), or,
// for a module with opt_init2, hands it one flat tensor
// (scoring.FlatTable(n)) and a run length of 0 (unknown).
func NewOptimizer(ctx context.Context, eng *sandbox.Engine, wasm []byte, n int, lim arena.Limits) (*Optimizer, error) {
	s, g, err := open(ctx, eng, wasm, scoring.OptimizerABI, lim, func(inst *sandbox.Instance) (*scoring.GuestOptimizer, error) {
		return scoring.NewGuestOptimizer(inst, n)
	})
	if err != nil {
		return nil, err
	}
	return &Optimizer{session: s, guest: g}, nil
}

// NewTensorOptimizer loads an optimizer module for the parameters table
// describes, in a run of steps optimizer steps (0 when unknown): the
// parameter vector Step takes is the concatenation of the table's tensors,
// each row-major from its Offset. A module that exports opt_init2 gets
// the table and steps; one with only opt_init gets opt_init(n), n the
// table's total size. The table is checked first (scoring.CheckTensorTable:
// in order, non-overlapping, covering [0, n) exactly, unique names of at
// most 31 bytes), and one that fails is refused before the module sees it.
func NewTensorOptimizer(ctx context.Context, eng *sandbox.Engine, wasm []byte, table []arena.Tensor, steps int, lim arena.Limits) (*Optimizer, error) {
	if _, err := scoring.CheckTensorTable(table); err != nil {
		return nil, err
	}
	s, g, err := open(ctx, eng, wasm, scoring.OptimizerABI, lim, func(inst *sandbox.Instance) (*scoring.GuestOptimizer, error) {
		return scoring.NewGuestTensorOptimizer(inst, table, steps)
	})
	if err != nil {
		return nil, err
	}
	return &Optimizer{session: s, guest: g}, nil
}

// Tensors reports whether the module was given the tensor table (ABI v2)
// rather than a flat vector (ABI v1), for logs.
func (o *Optimizer) Tensors() bool { return o.guest.Tensors() }

// Step updates params in place, given their gradients and the minibatch
// loss of step t (counting from 0).
func (o *Optimizer) Step(t int, params, grads []float64, loss float64) error {
	return o.call(func() error { return o.guest.Step(t, params, grads, loss) })
}

// Schedule is a learning-rate schedule module.
type Schedule struct {
	*session
	guest *scoring.GuestSchedule
}

// NewSchedule loads a schedule module for a run of total steps and calls
// lr_init(total).
func NewSchedule(ctx context.Context, eng *sandbox.Engine, wasm []byte, total int, lim arena.Limits) (*Schedule, error) {
	s, g, err := open(ctx, eng, wasm, scoring.LRScheduleABI, lim, func(inst *sandbox.Instance) (*scoring.GuestSchedule, error) {
		return scoring.NewGuestSchedule(inst, total)
	})
	if err != nil {
		return nil, err
	}
	return &Schedule{session: s, guest: g}, nil
}

// LR is the learning rate for step t, given the last minibatch loss; it
// is always in [0, scoring.MaxLR].
func (s *Schedule) LR(t int, loss float64) (float64, error) {
	var rate float64
	err := s.call(func() (err error) { rate, err = s.guest.LR(t, loss); return err })
	return rate, err
}

// GradientWorker is the compressing side of a grad_compression module:
// one per data-parallel worker, wherever that worker runs.
type GradientWorker struct {
	*session
	guest *scoring.GuestGradWorker
}

// NewGradientWorker loads a gradient compression module as worker (0 to
// workers-1) for gradients of n values and messages of at most budget
// bytes, and calls gc_init.
func NewGradientWorker(ctx context.Context, eng *sandbox.Engine, wasm []byte, worker, workers, n, budget int, lim arena.Limits) (*GradientWorker, error) {
	s, g, err := open(ctx, eng, wasm, scoring.GradCompressionABI, lim, func(inst *sandbox.Instance) (*scoring.GuestGradWorker, error) {
		return scoring.NewGuestGradWorker(inst, worker, workers, n, budget)
	})
	if err != nil {
		return nil, err
	}
	return &GradientWorker{session: s, guest: g}, nil
}

// Compress turns step t's gradient into the message to send. The message
// is valid until the next call: copy it to keep it.
func (w *GradientWorker) Compress(t int, grad []float64) ([]byte, error) {
	var msg []byte
	err := w.call(func() (err error) { msg, err = w.guest.Compress(t, grad); return err })
	return msg, err
}

// GradientAggregator is the decompressing side of a grad_compression
// module: it sees the workers' messages and nothing else.
type GradientAggregator struct {
	*session
	guest *scoring.GuestGradAggregator
}

// NewGradientAggregator loads a gradient compression module as the
// aggregator of workers workers, and calls gc_init(-1, ...).
func NewGradientAggregator(ctx context.Context, eng *sandbox.Engine, wasm []byte, workers, n, budget int, lim arena.Limits) (*GradientAggregator, error) {
	s, g, err := open(ctx, eng, wasm, scoring.GradCompressionABI, lim, func(inst *sandbox.Instance) (*scoring.GuestGradAggregator, error) {
		return scoring.NewGuestGradAggregator(inst, workers, n, budget)
	})
	if err != nil {
		return nil, err
	}
	return &GradientAggregator{session: s, guest: g}, nil
}

// Decompress decodes worker's message of step t into out (n values).
func (a *GradientAggregator) Decompress(worker, t int, msg []byte, out []float64) error {
	return a.call(func() error { return a.guest.Decompress(worker, t, msg, out) })
}

// ActivationEncoder is the compressing side of an activation_compression
// module, for tensors of up to size bytes.
type ActivationEncoder struct {
	*session
	guest *scoring.GuestActivationEncoder
}

// NewActivationEncoder loads an activation compression module to encode
// tensors of up to size bytes.
func NewActivationEncoder(ctx context.Context, eng *sandbox.Engine, wasm []byte, size int, lim arena.Limits) (*ActivationEncoder, error) {
	s, g, err := open(ctx, eng, wasm, scoring.ActivationCompressionABI, lim, func(inst *sandbox.Instance) (*scoring.GuestActivationEncoder, error) {
		return scoring.NewGuestActivationEncoder(inst, size)
	})
	if err != nil {
		return nil, err
	}
	return &ActivationEncoder{session: s, guest: g}, nil
}

// Encode encodes a rows×cols tensor of dtype (baseline.BFloat16 or
// baseline.Float32) given as little-endian bytes, crossing a pipeline cut
// in direction (scoring.Forward for an activation, scoring.Backward for
// its gradient; a module of ABI v1 is not told). The message is valid
// until the next call.
func (e *ActivationEncoder) Encode(direction, dtype, rows, cols int, data []byte) ([]byte, error) {
	var msg []byte
	err := e.call(func() (err error) { msg, err = e.guest.Encode(direction, dtype, rows, cols, data); return err })
	return msg, err
}

// ActivationDecoder is the decompressing side of an activation_compression
// module; it never sees the original tensor.
type ActivationDecoder struct {
	*session
	guest *scoring.GuestActivationDecoder
}

// NewActivationDecoder loads an activation compression module to decode
// tensors of up to size bytes.
func NewActivationDecoder(ctx context.Context, eng *sandbox.Engine, wasm []byte, size int, lim arena.Limits) (*ActivationDecoder, error) {
	s, g, err := open(ctx, eng, wasm, scoring.ActivationCompressionABI, lim, func(inst *sandbox.Instance) (*scoring.GuestActivationDecoder, error) {
		return scoring.NewGuestActivationDecoder(inst, size)
	})
	if err != nil {
		return nil, err
	}
	return &ActivationDecoder{session: s, guest: g}, nil
}

// Decode decodes msg, which crossed in direction, into the n-byte
// rows×cols tensor of dtype. The result is valid until the next call. A
// lossy codec's result is close to the original, not equal: check what
// matters to your loop (the benchmark's spot check is a cosine
// similarity of at least 0.9).
func (d *ActivationDecoder) Decode(direction, dtype, rows, cols int, msg []byte, n int) ([]byte, error) {
	var out []byte
	err := d.call(func() (err error) { out, err = d.guest.Decode(direction, dtype, rows, cols, msg, n); return err })
	return out, err
}

// ActivationStage is one pipeline stage's instance of an activation
// codec, as the benchmark runs it: it encodes what its stage sends and
// decodes what it receives, so a codec that keeps state across the two
// (the first stage sees the activations it sends and the gradients that
// come back) behaves as it was scored. Give the earlier stage first.
type ActivationStage struct {
	*session
	enc *scoring.GuestActivationEncoder
	dec *scoring.GuestActivationDecoder
}

// NewActivationStage loads an activation compression module as one stage
// of a cut, for tensors of up to size bytes. The first stage allocates
// its encoder's buffers, then its decoder's; the second its decoder's,
// then its encoder's, as in the benchmark.
func NewActivationStage(ctx context.Context, eng *sandbox.Engine, wasm []byte, size int, first bool, lim arena.Limits) (*ActivationStage, error) {
	type pair struct {
		enc *scoring.GuestActivationEncoder
		dec *scoring.GuestActivationDecoder
	}
	s, g, err := open(ctx, eng, wasm, scoring.ActivationCompressionABI, lim, func(inst *sandbox.Instance) (p pair, err error) {
		if first {
			if p.enc, err = scoring.NewGuestActivationEncoder(inst, size); err != nil {
				return p, err
			}
			p.dec, err = scoring.NewGuestActivationDecoder(inst, size)
			return p, err
		}
		if p.dec, err = scoring.NewGuestActivationDecoder(inst, size); err != nil {
			return p, err
		}
		p.enc, err = scoring.NewGuestActivationEncoder(inst, size)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	return &ActivationStage{session: s, enc: g.enc, dec: g.dec}, nil
}

// Encode is ActivationEncoder.Encode on this stage's instance.
func (a *ActivationStage) Encode(direction, dtype, rows, cols int, data []byte) ([]byte, error) {
	var msg []byte
	err := a.call(func() (err error) { msg, err = a.enc.Encode(direction, dtype, rows, cols, data); return err })
	return msg, err
}

// Decode is ActivationDecoder.Decode on this stage's instance.
func (a *ActivationStage) Decode(direction, dtype, rows, cols int, msg []byte, n int) ([]byte, error) {
	var out []byte
	err := a.call(func() (err error) { out, err = a.dec.Decode(direction, dtype, rows, cols, msg, n); return err })
	return out, err
}
