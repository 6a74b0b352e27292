// Package optimizer lets a Go strategy be an Arena optimizer (kind
// optimizer, ABI v1): register an Optimizer in init and build the module.
package optimizer

import "github.com/arena-dev/arena/guest"

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

var registered guest.Slot[Optimizer]

// Register makes the module's optimizer v. Call it from init.
func Register(v Optimizer) { registered.Set(v) }

func current() Optimizer { return registered.Get("optimizer.Register") }
