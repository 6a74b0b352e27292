// Package strategy runs a strategy module (a champion pulled from Arena,
// say) inside a trainer's own training loop, through the same sandbox, fuel
// metering and ABI code the workers score it with: it behaves in your loop
// as it did in the tournament, and a hostile module can neither hang nor
// crash your process.
//
// The limits are a challenge's, applied per call rather than per task:
// every call (initialization, each step) gets FuelPerTask fuel and
// TaskTimeoutMS of wall time as a safety net, so a run may be as long as
// you like while no single call can run away. Raise FuelPerTask for models
// much larger than the benchmark's. After any failure (a trap, fuel
// exhausted, a bad pointer) the module's state is undefined: every later
// call returns the same error, and you start a new one or fall back.
package strategy

import (
	"context"
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

// call runs fn on a fresh allowance, unless an earlier call failed.
func (s *session) call(fn func() error) error {
	if s.err != nil {
		return s.err
	}
	if err := s.inst.Refill(s.fuel); err != nil {
		s.err = err
		return err
	}
	if err := fn(); err != nil {
		s.err = fmt.Errorf("strategy failed: %w", err)
	}
	return s.err
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

// Optimizer is an optimizer module (ABI v1) updating a parameter vector.
type Optimizer struct {
	*session
	guest *scoring.GuestOptimizer
}

// NewOptimizer loads an optimizer module for n parameters: it allocates
// the guest's buffers and calls opt_init(n).
func NewOptimizer(ctx context.Context, eng *sandbox.Engine, wasm []byte, n int, lim arena.Limits) (*Optimizer, error) {
	s, err := start(ctx, eng, wasm, scoring.OptimizerABI, lim)
	if err != nil {
		return nil, err
	}
	o := &Optimizer{session: s}
	if err := s.call(func() (err error) { o.guest, err = scoring.NewGuestOptimizer(s.inst, n); return err }); err != nil {
		s.Close(ctx)
		return nil, err
	}
	return o, nil
}

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
	s, err := start(ctx, eng, wasm, scoring.LRScheduleABI, lim)
	if err != nil {
		return nil, err
	}
	sc := &Schedule{session: s}
	if err := s.call(func() (err error) { sc.guest, err = scoring.NewGuestSchedule(s.inst, total); return err }); err != nil {
		s.Close(ctx)
		return nil, err
	}
	return sc, nil
}

// LR is the learning rate for step t, given the last minibatch loss; it
// is always in [0, scoring.MaxLR].
func (s *Schedule) LR(t int, loss float64) (float64, error) {
	var rate float64
	err := s.call(func() (err error) { rate, err = s.guest.LR(t, loss); return err })
	return rate, err
}
