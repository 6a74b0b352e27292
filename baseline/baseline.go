// Package baseline holds the reference strategies. The same code runs
// natively as a benchmark's built-in baseline and compiles to WebAssembly
// as the examples in examples/, so the score to beat is a module anyone can
// build and run. Products are wrapped in float64() so no compiler fuses them
// into FMA instructions: the native and wasm runs must agree bit for bit.
package baseline

import "math"

// Each type here implements guest.Optimizer.

// SGD is plain stochastic gradient descent.
type SGD struct{ LR float64 }

func (o *SGD) Init(int) {}

func (o *SGD) Step(_ int, params, grads []float64, _ float64) {
	for i, g := range grads {
		params[i] -= float64(o.LR * g)
	}
}

// Momentum is SGD with heavy-ball momentum.
type Momentum struct {
	LR, Beta float64
	v        []float64
}

func (o *Momentum) Init(n int) { o.v = make([]float64, n) }

func (o *Momentum) Step(_ int, params, grads []float64, _ float64) {
	for i, g := range grads {
		o.v[i] = float64(o.Beta*o.v[i]) + g
		params[i] -= float64(o.LR * o.v[i])
	}
}

// AdamLR is the learning rate of the optimizer benchmark's built-in Adam
// baseline, which examples/optimizer/adam also uses.
const AdamLR = 0.01

// Adam is Kingma and Ba's Adam with bias correction.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	m, v                  []float64
	b1t, b2t              float64 // Beta1^t and Beta2^t, by repeated product
}

// NewAdam returns Adam with the customary β1 = 0.9, β2 = 0.999, ε = 1e-8.
func NewAdam(lr float64) *Adam { return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

func (o *Adam) Init(n int) {
	o.m, o.v = make([]float64, n), make([]float64, n)
	o.b1t, o.b2t = 1, 1
}

func (o *Adam) Step(_ int, params, grads []float64, _ float64) {
	o.b1t = float64(o.b1t * o.Beta1)
	o.b2t = float64(o.b2t * o.Beta2)
	c1, c2 := 1-o.b1t, 1-o.b2t
	for i, g := range grads {
		o.m[i] = float64(o.Beta1*o.m[i]) + float64((1-o.Beta1)*g)
		o.v[i] = float64(o.Beta2*o.v[i]) + float64(float64((1-o.Beta2)*g)*g)
		mhat := o.m[i] / c1
		vhat := o.v[i] / c2
		params[i] -= float64(o.LR*mhat) / (math.Sqrt(vhat) + o.Eps)
	}
}
