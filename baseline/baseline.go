// Package baseline holds the reference strategies. The same code runs
// natively as a benchmark's built-in baseline and compiles to WebAssembly
// as the examples in examples/, so the score to beat is a module anyone can
// build and run. Products are wrapped in float64() so no compiler fuses them
// into FMA instructions: the native and wasm runs must agree bit for bit.
package baseline

import "math"

// Each optimizer here implements guest/optimizer.Optimizer.

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
	// Constants hoisted and slices cut to one length, which Go does not
	// do by itself: a fifth less fuel in WebAssembly, the same arithmetic.
	b1, b2, d1, d2, lr, eps := o.Beta1, o.Beta2, 1-o.Beta1, 1-o.Beta2, o.LR, o.Eps
	m, v, params := o.m[:len(grads)], o.v[:len(grads)], params[:len(grads)]
	for i, g := range grads {
		mi := float64(b1*m[i]) + float64(d1*g)
		vi := float64(b2*v[i]) + float64(float64(d2*g)*g)
		m[i], v[i] = mi, vi
		mhat := mi / c1
		vhat := vi / c2
		params[i] -= float64(lr*mhat) / (math.Sqrt(vhat) + eps)
	}
}

// Each schedule here implements guest/schedule.Schedule.

// ConstantLR is the lr_schedule benchmark's built-in baseline, the same
// schedule as examples/lr_schedule/constant.
const ConstantLR = 0.05

// Constant is a fixed learning rate.
type Constant struct{ Rate float64 }

func (s *Constant) Init(int)                       {}
func (s *Constant) LR(_, _ int, _ float64) float64 { return s.Rate }

// Cosine warms up linearly over the first Warmup fraction of the steps to
// Peak, then follows a half cosine down to 0. The cosine is computed by a
// recurrence (no math.Cos), so native and wasm runs agree bit for bit.
type Cosine struct {
	Peak, Warmup float64
	cos, sin     float64 // cos and sin of the current angle
	c1, s1       float64 // cos and sin of one step's angle
}

func (s *Cosine) Init(total int) {
	warm := int(float64(s.Warmup * float64(total)))
	decay := max(1, total-warm)
	// One step turns the angle by π/decay; start at angle 0.
	theta := math.Pi / float64(decay)
	s.c1, s.s1 = cosSin(theta)
	s.cos, s.sin = 1, 0
}

func (s *Cosine) LR(t, total int, _ float64) float64 {
	warm := int(float64(s.Warmup * float64(total)))
	if t < warm {
		return float64(s.Peak*float64(t+1)) / float64(warm)
	}
	lr := float64(float64(0.5*s.Peak) * (1 + s.cos))
	// Rotate by one step: (cos, sin) <- (cos c1 - sin s1, sin c1 + cos s1).
	s.cos, s.sin = float64(s.cos*s.c1)-float64(s.sin*s.s1), float64(s.sin*s.c1)+float64(s.cos*s.s1)
	return max(0, lr)
}

// cosSin is cos and sin of a small angle by their Taylor series, in plain
// arithmetic, so it is the same everywhere.
func cosSin(x float64) (float64, float64) {
	x2 := float64(x * x)
	c, s := 1.0, x
	term, sterm := 1.0, x
	for k := 1; k <= 12; k++ {
		term = float64(-term*x2) / float64((2*k-1)*(2*k))
		sterm = float64(-sterm*x2) / float64((2*k)*(2*k+1))
		c += term
		s += sterm
	}
	return c, s
}

// StepDecay multiplies the rate by Factor at each of the Milestones
// (fractions of the run).
type StepDecay struct {
	Rate, Factor float64
	Milestones   []float64
}

func (s *StepDecay) Init(int) {}

func (s *StepDecay) LR(t, total int, _ float64) float64 {
	lr := s.Rate
	for _, m := range s.Milestones {
		if t >= int(float64(m*float64(total))) {
			lr = float64(lr * s.Factor)
		}
	}
	return lr
}
