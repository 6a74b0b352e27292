// Package tensoropt holds the tensor-aware reference optimizers: each
// implements guest/optimizer.TensorOptimizer (the optimizer ABI v2), so it
// sees the model's tensor table and the run's length. Like package
// baseline, the same code runs natively as a benchmark's built-in baseline
// and compiles to WebAssembly as the examples in examples/optimizer, and
// every product is wrapped in float64() so no compiler fuses it into a
// fused multiply-add: native and wasm runs agree bit for bit. Only
// IEEE-exact functions (math.Sqrt, math.Abs) are used.
//
// Each follows the same built-in baseline.WarmupCosine schedule, with LR
// as its peak, so they differ only in their update rule; their tuned rates
// are baseline's constants (baseline.AdamWLR, ...). Step must be given the
// tensors Init was given, in the same order; state is kept per tensor,
// allocated in Init, and Step allocates nothing.
//
// They are a package of their own because guest/optimizer carries the
// module's optimizer exports: package baseline stays free of it, so the
// modules of other kinds that use baseline export only their own ABI.
package tensoropt

import (
	"math"

	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/optimizer"
)

// decays reports whether decoupled weight decay applies to t: nanoGPT's
// rule, every 2-D matrix (hidden weights, embedding, positions, head) and
// no gain or vector.
func decays(t optimizer.Tensor) bool {
	return t.Role != optimizer.NormGain && t.Rows > 1 && t.Cols > 1
}

// perTensor allocates one zeroed slice per tensor, sized like it, in a
// single block.
func perTensor(tensors []optimizer.Tensor) [][]float64 {
	n := 0
	for _, t := range tensors {
		n += t.Rows * t.Cols
	}
	block := make([]float64, n)
	out := make([][]float64, len(tensors))
	for i, t := range tensors {
		size := t.Rows * t.Cols
		out[i], block = block[:size:size], block[size:]
	}
	return out
}

// decayFlags is decays for each tensor.
func decayFlags(tensors []optimizer.Tensor) []bool {
	out := make([]bool, len(tensors))
	for i, t := range tensors {
		out[i] = decays(t)
	}
	return out
}

// shrink is the decoupled weight decay factor 1 - lr·wd for a tensor that
// decays, and 1 for one that does not.
func shrink(decay bool, lr, wd float64) float64 {
	if !decay {
		return 1
	}
	return 1 - float64(lr*wd)
}

// sign is -1, 0 or 1 (and NaN for NaN), as torch.sign.
func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x
}

// AdamW is Adam with decoupled weight decay (Loshchilov and Hutter 2019,
// "Decoupled weight decay regularization"), as torch.optim.AdamW computes
// it, with bias correction and nanoGPT's settings: β1 0.9, β2 0.95, ε 1e-8,
// weight decay WD on every 2-D matrix but not on norm gains, and the
// built-in WarmupCosine schedule (Warmup, MinLRFrac) with peak LR.
//
// StepLR is one update at a rate given from outside, without the built-in
// schedule: the lr_schedule benchmark runs AdamW at the rate of the
// competing schedule that way.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WD, Warmup, MinLRFrac float64

	sched    baseline.WarmupCosine
	m, v     [][]float64
	decay    []bool
	b1t, b2t float64 // Beta1^t and Beta2^t, by repeated product
}

// NewAdamW returns AdamW with nanoGPT's settings and the default schedule.
func NewAdamW(lr float64) *AdamW {
	return &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WD: baseline.AdamWWD, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac}
}

func (o *AdamW) Init(tensors []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
	o.m, o.v = perTensor(tensors), perTensor(tensors)
	o.decay = decayFlags(tensors)
	o.b1t, o.b2t = 1, 1
}

func (o *AdamW) Step(t int, tensors []optimizer.Tensor, _ float64) {
	o.StepLR(t, tensors, o.sched.LR(t))
}

// StepLR is one AdamW update at learning rate lr. The bias correction
// counts the calls, not t.
func (o *AdamW) StepLR(_ int, tensors []optimizer.Tensor, lr float64) {
	b1, b2 := o.Beta1, o.Beta2
	o.b1t = float64(o.b1t * b1)
	o.b2t = float64(o.b2t * b2)
	step := lr / (1 - o.b1t)
	root := math.Sqrt(1 - o.b2t)
	// The loop's constants are hoisted and its slices cut to one length
	// (Go neither hoists nor drops the bounds checks by itself), which
	// takes a fifth off the fuel of the Go-built examples; the arithmetic
	// is the same.
	c1, c2, eps := 1-b1, 1-b2, o.Eps
	for i, tn := range tensors {
		g := tn.Grads
		m, v, p := o.m[i][:len(g)], o.v[i][:len(g)], tn.Params[:len(g)]
		keep := shrink(o.decay[i], lr, o.WD)
		for j, gj := range g {
			mj := float64(b1*m[j]) + float64(c1*gj)
			vj := float64(b2*v[j]) + float64(float64(c2*gj)*gj)
			m[j], v[j] = mj, vj
			denom := math.Sqrt(vj)/root + eps
			p[j] = float64(p[j]*keep) - float64(step*(mj/denom))
		}
	}
}

// SGDT is plain stochastic gradient descent on the tensor table, with the
// built-in WarmupCosine schedule (peak LR).
type SGDT struct {
	LR, Warmup, MinLRFrac float64
	sched                 baseline.WarmupCosine
}

// NewSGD returns SGDT with the default schedule.
func NewSGD(lr float64) *SGDT {
	return &SGDT{LR: lr, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac}
}

func (o *SGDT) Init(_ []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
}

func (o *SGDT) Step(t int, tensors []optimizer.Tensor, _ float64) {
	lr := o.sched.LR(t)
	for _, tn := range tensors {
		p := tn.Params
		for j, g := range tn.Grads {
			p[j] -= float64(lr * g)
		}
	}
}

// MomentumT is SGD with heavy-ball momentum (Polyak 1964) as
// torch.optim.SGD computes it, v ← βv + g, p ← p − lr·v, with the built-in
// WarmupCosine schedule (peak LR).
type MomentumT struct {
	LR, Beta, Warmup, MinLRFrac float64
	sched                       baseline.WarmupCosine
	v                           [][]float64
}

// NewMomentum returns MomentumT with β 0.9 and the default schedule.
func NewMomentum(lr float64) *MomentumT {
	return &MomentumT{LR: lr, Beta: 0.9, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac}
}

func (o *MomentumT) Init(tensors []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
	o.v = perTensor(tensors)
}

func (o *MomentumT) Step(t int, tensors []optimizer.Tensor, _ float64) {
	lr := o.sched.LR(t)
	for i, tn := range tensors {
		v, p := o.v[i], tn.Params
		for j, g := range tn.Grads {
			v[j] = float64(o.Beta*v[j]) + g
			p[j] -= float64(lr * v[j])
		}
	}
}

// Adagrad is Duchi, Hazan and Singer's 2011 "Adaptive subgradient methods"
// as torch.optim.Adagrad computes it: each coordinate's step is divided by
// the root of its summed squared gradients (plus ε 1e-10), with the
// built-in WarmupCosine schedule (peak LR).
type Adagrad struct {
	LR, Eps, Warmup, MinLRFrac float64
	sched                      baseline.WarmupCosine
	sum                        [][]float64
}

// NewAdagrad returns Adagrad with ε 1e-10 and the default schedule.
func NewAdagrad(lr float64) *Adagrad {
	return &Adagrad{LR: lr, Eps: 1e-10, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac}
}

func (o *Adagrad) Init(tensors []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
	o.sum = perTensor(tensors)
}

func (o *Adagrad) Step(t int, tensors []optimizer.Tensor, _ float64) {
	lr := o.sched.LR(t)
	for i, tn := range tensors {
		s, p := o.sum[i], tn.Params
		for j, g := range tn.Grads {
			s[j] += float64(g * g)
			p[j] -= float64(lr * (g / (math.Sqrt(s[j]) + o.Eps)))
		}
	}
}

// Signum is signSGD with momentum (Bernstein et al. 2018, "signSGD:
// compressed optimisation for non-convex problems"): the step is the sign
// of an exponential moving average of the gradients, m ← βm + (1−β)g,
// p ← p − lr·sign(m), with decoupled weight decay WD on the 2-D matrices
// and the built-in WarmupCosine schedule (peak LR).
type Signum struct {
	LR, Beta, WD, Warmup, MinLRFrac float64
	sched                           baseline.WarmupCosine
	m                               [][]float64
	decay                           []bool
}

// NewSignum returns Signum with β 0.9, weight decay baseline.SignWD and
// the default schedule.
func NewSignum(lr float64) *Signum {
	return &Signum{LR: lr, Beta: 0.9, WD: baseline.SignWD, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac}
}

func (o *Signum) Init(tensors []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
	o.m = perTensor(tensors)
	o.decay = decayFlags(tensors)
}

func (o *Signum) Step(t int, tensors []optimizer.Tensor, _ float64) {
	lr, b := o.sched.LR(t), o.Beta
	for i, tn := range tensors {
		m, p := o.m[i], tn.Params
		keep := shrink(o.decay[i], lr, o.WD)
		for j, g := range tn.Grads {
			m[j] = float64(b*m[j]) + float64((1-b)*g)
			p[j] = float64(p[j]*keep) - float64(lr*sign(m[j]))
		}
	}
}

// Lion is Chen et al. 2023, "Symbolic discovery of optimization
// algorithms": the step is the sign of an interpolation of the momentum
// and the gradient, u = sign(β1·m + (1−β1)g), p ← p − lr·(u + WD·p), and
// the momentum then moves at the slower β2, m ← β2·m + (1−β2)g; β1 0.9,
// β2 0.99, weight decay on the 2-D matrices, the built-in WarmupCosine
// schedule (peak LR).
type Lion struct {
	LR, Beta1, Beta2, WD, Warmup, MinLRFrac float64
	sched                                   baseline.WarmupCosine
	m                                       [][]float64
	decay                                   []bool
}

// NewLion returns Lion with β1 0.9, β2 0.99, weight decay baseline.SignWD
// and the default schedule.
func NewLion(lr float64) *Lion {
	return &Lion{LR: lr, Beta1: 0.9, Beta2: 0.99, WD: baseline.SignWD, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac}
}

func (o *Lion) Init(tensors []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
	o.m = perTensor(tensors)
	o.decay = decayFlags(tensors)
}

func (o *Lion) Step(t int, tensors []optimizer.Tensor, _ float64) {
	lr, b1, b2 := o.sched.LR(t), o.Beta1, o.Beta2
	for i, tn := range tensors {
		m, p := o.m[i], tn.Params
		keep := shrink(o.decay[i], lr, o.WD)
		for j, g := range tn.Grads {
			u := sign(float64(b1*m[j]) + float64((1-b1)*g))
			p[j] = float64(p[j]*keep) - float64(lr*u)
			m[j] = float64(b2*m[j]) + float64((1-b2)*g)
		}
	}
}
