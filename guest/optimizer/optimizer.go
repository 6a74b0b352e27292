// Package optimizer lets a Go strategy be an Arena optimizer (kind
// optimizer): register one value in init and build the module.
//
// Register an Optimizer (or an optimizer.Func) for an update rule over one
// flat parameter vector, or a TensorOptimizer for one that needs the
// model's structure: its tensors' names, roles (embedding, attention
// projections, MLP, norm gains, head) and shapes, and the run's length
// (Muon, Shampoo, Adafactor, LAMB and per-role learning rates do).
//
// Either way the module exports both of the kind's init functions,
// opt_init (ABI v1) and opt_init2 (ABI v2), and opt_step; docs/optimizer-abi.md
// specifies them. The host calls opt_init2 whenever a module has it, with
// the tensor table; an Optimizer is then given Init(n), the table's total
// size. A host that knows no structure hands a TensorOptimizer one flat
// tensor (role Flat, 1 × n, named "params").
//
// On a TensorOptimizer's every step the tensors' Params and Grads are its
// slices of the step's flat buffers, cut once and reused while the host's
// buffers stay put, so a step allocates nothing. Step updates Params in
// place and must not change the slice of tensors itself.
package optimizer

// Optimizer is an update rule over a flat parameter vector.
type Optimizer interface {
	// Init is called once per task with the parameter count.
	Init(n int)
	// Step updates params in place, given the gradients of the current
	// minibatch and its loss; t counts from 0.
	Step(t int, params, grads []float64, loss float64)
}

// Func adapts a stateless update function to Optimizer.
type Func func(t int, params, grads []float64, loss float64)

func (f Func) Init(int)                                          {}
func (f Func) Step(t int, params, grads []float64, loss float64) { f(t, params, grads, loss) }

// Register makes the module's optimizer v. Call it from init; a module
// registers one of Register or RegisterTensors.
func Register(v Optimizer) { registered.flat = v }

// RegisterTensors makes the module's optimizer v, a tensor-aware one.
// Call it from init; a module registers one of Register or
// RegisterTensors.
func RegisterTensors(v TensorOptimizer) { registered.tensors = v }

// registered is what the module's init functions registered.
var registered struct {
	flat    Optimizer
	tensors TensorOptimizer
}

// current is the runner of what was registered, or a panic saying what
// to call: the host shows it in the task's log.
func current() *runner {
	if !run.ready {
		switch {
		case registered.flat != nil && registered.tensors != nil:
			panic("arena guest: both optimizer.Register and optimizer.RegisterTensors were called; register one optimizer")
		case registered.flat == nil && registered.tensors == nil:
			panic("arena guest: nothing registered; call optimizer.Register or optimizer.RegisterTensors in an init function")
		}
		run.flat, run.tensors, run.ready = registered.flat, registered.tensors, true
	}
	return &run
}

var run runner

// runner turns the ABI's calls into the registered optimizer's. It is
// free of unsafe and wasm code, so it is tested natively.
type runner struct {
	ready   bool
	flat    Optimizer
	tensors TensorOptimizer
	n       int      // the parameter count of the last init
	table   []Tensor // a TensorOptimizer's tensors, cut from the buffers below
	// The host's buffers table's slices were cut from; 0 before the
	// first step.
	params, grads int32
}

// init is opt_init(n): a TensorOptimizer sees one flat tensor.
func (r *runner) init(n int) {
	if n < 1 {
		panic("arena guest: opt_init(" + itoa(n) + "): no parameters")
	}
	if r.flat != nil {
		r.n = n
		r.flat.Init(n)
		return
	}
	r.start([]Tensor{{Name: "params", Role: Flat, Rows: 1, Cols: n}}, 0)
}

// init2 is opt_init2(n, table, count, steps), given the table's bytes.
func (r *runner) init2(n int, table []byte, count, steps int) {
	tensors, err := parseTable(table, count, n)
	if err != nil {
		panic("arena guest: opt_init2: " + err.Error())
	}
	if steps < 0 {
		panic("arena guest: opt_init2: a run of " + itoa(steps) + " steps")
	}
	if r.flat != nil {
		r.n = n
		r.flat.Init(n)
		return
	}
	r.start(tensors, steps)
}

func (r *runner) start(tensors []Tensor, steps int) {
	r.n = 0
	for _, t := range tensors {
		r.n += t.Size()
	}
	r.table = tensors
	r.params, r.grads = 0, 0
	// Init gets a copy, which it may keep or change: Step's slices are
	// the runner's.
	r.tensors.Init(append([]Tensor(nil), tensors...), steps)
}

// step is opt_step for a TensorOptimizer; buf turns the host's pointer
// and length into the guest's slice (guest.Float64s), and is called only
// when the host's buffers move. (An Optimizer's opt_step does not come
// here: the export calls it directly, as every step's call costs fuel.)
func (r *runner) step(t int, params, grads, n int32, loss float64, buf func(ptr, n int32) []float64) {
	if r.table == nil {
		panic("arena guest: opt_step before opt_init or opt_init2")
	}
	if int(n) != r.n {
		panic("arena guest: opt_step with " + itoa(int(n)) + " parameters; the tensors hold " + itoa(r.n))
	}
	if params != r.params || grads != r.grads || r.params == 0 {
		Slices(r.table, buf(params, n), buf(grads, n))
		r.params, r.grads = params, grads
	}
	r.tensors.Step(t, r.table, loss)
}
