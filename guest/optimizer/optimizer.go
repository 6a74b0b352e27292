// Package optimizer lets a Go strategy be an Arena optimizer (kind
// optimizer, ABI v1): register an Optimizer in init and build the module.
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

var registered Optimizer

// Register makes o the module's optimizer. Call it from init.
func Register(o Optimizer) { registered = o }

// current returns the registered optimizer or panics with a message the
// host shows in the task's log.
func current() Optimizer {
	if registered == nil {
		panic("arena guest: no optimizer registered; call optimizer.Register in an init function")
	}
	return registered
}
