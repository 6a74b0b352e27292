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
	size := uint32(n * 8)
	var err error
	if g.params, err = inst.Alloc(size); err != nil {
		return nil, err
	}
	if g.grads, err = inst.Alloc(size); err != nil {
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
