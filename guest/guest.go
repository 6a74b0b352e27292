// Package guest is the SDK for writing Arena strategies in Go. It hides the
// ABI: a strategy registers one plain Go value in init, and the package
// exports arena_alloc and the kind's functions when built for WebAssembly:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o sgd.wasm .
//
// On other platforms the same code builds natively, so a strategy can be
// unit-tested with go test before it is compiled to a module.
package guest

// Optimizer is an update rule over a flat parameter vector (kind optimizer).
type Optimizer interface {
	// Init is called once per task with the parameter count.
	Init(n int)
	// Step updates params in place, given the gradients of the current
	// minibatch and its loss; t counts from 0.
	Step(t int, params, grads []float64, loss float64)
}

// OptimizerFunc adapts a stateless update function to Optimizer.
type OptimizerFunc func(t int, params, grads []float64, loss float64)

func (f OptimizerFunc) Init(int)                                          {}
func (f OptimizerFunc) Step(t int, params, grads []float64, loss float64) { f(t, params, grads, loss) }

var optimizer Optimizer

// RegisterOptimizer makes o the module's optimizer. Call it from init.
func RegisterOptimizer(o Optimizer) { optimizer = o }

// registered returns the registered optimizer or panics with a message the
// host shows in the submission's log.
func registeredOptimizer() Optimizer {
	if optimizer == nil {
		panic("arena guest: no optimizer registered; call guest.RegisterOptimizer in an init function")
	}
	return optimizer
}
