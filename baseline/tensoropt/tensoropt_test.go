package tensoropt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arena-dev/arena/guest/optimizer"
)

// tinyTable is the tensor table of a one-block transformer of width 4,
// vocabulary 6 and context 3, laid out back to back.
func tinyTable() ([]optimizer.Tensor, int) {
	const d, v, ctx = 4, 6, 3
	shapes := []struct {
		name       string
		role       optimizer.Role
		rows, cols int
	}{
		{"embed", optimizer.Embedding, v, d},
		{"pos", optimizer.Position, ctx, d},
		{"ln1", optimizer.NormGain, 1, d},
		{"q", optimizer.AttnQ, d, d},
		{"k", optimizer.AttnK, d, d},
		{"v", optimizer.AttnV, d, d},
		{"o", optimizer.AttnO, d, d},
		{"ln2", optimizer.NormGain, 1, d},
		{"mlp_in", optimizer.MLPIn, d, 4 * d},
		{"mlp_out", optimizer.MLPOut, 4 * d, d},
		{"lnf", optimizer.NormGain, 1, d},
		{"head", optimizer.Head, d, v},
	}
	var table []optimizer.Tensor
	off := 0
	for _, s := range shapes {
		table = append(table, optimizer.Tensor{Name: s.name, Role: s.role, Rows: s.rows, Cols: s.cols, Offset: off})
		off += s.rows * s.cols
	}
	return table, off
}

// quadratic is ½ Σ h_i (p_i − c_i)², an ill-conditioned bowl.
type quadratic struct{ h, c []float64 }

func newQuadratic(n int, seed uint64) quadratic {
	r := rand.New(rand.NewPCG(seed, 1))
	q := quadratic{make([]float64, n), make([]float64, n)}
	for i := range n {
		q.h[i] = 0.5 + 1.5*r.Float64()
		q.c[i] = r.NormFloat64()
	}
	return q
}

func (q quadratic) grad(params, grads []float64) float64 {
	loss := 0.0
	for i, p := range params {
		d := p - q.c[i]
		grads[i] = q.h[i] * d
		loss += 0.5 * q.h[i] * d * d
	}
	return loss
}

// tensorOptimizers are the optimizers under test, each at a rate that
// suits the quadratic.
var tensorOptimizers = []struct {
	name string
	new  func() optimizer.TensorOptimizer
}{
	{"adamw", func() optimizer.TensorOptimizer { return NewAdamW(0.05) }},
	{"sgd", func() optimizer.TensorOptimizer { return NewSGD(0.3) }},
	{"momentum", func() optimizer.TensorOptimizer { return NewMomentum(0.05) }},
	{"adagrad", func() optimizer.TensorOptimizer { return NewAdagrad(0.3) }},
	{"signum", func() optimizer.TensorOptimizer { return NewSignum(0.03) }},
	{"lion", func() optimizer.TensorOptimizer { return NewLion(0.03) }},
	{"muon", func() optimizer.TensorOptimizer { return NewMuon(0.1, 0.05) }},
}

func TestTensorOptimizersDescendQuadratic(t *testing.T) {
	const steps = 50
	for _, tc := range tensorOptimizers {
		t.Run(tc.name, func(t *testing.T) {
			table, n := tinyTable()
			q := newQuadratic(n, 7)
			params, grads := make([]float64, n), make([]float64, n)
			opt := tc.new()
			opt.Init(table, steps)
			optimizer.Slices(table, params, grads)
			first := q.grad(params, grads)
			loss := first
			for s := range steps {
				loss = q.grad(params, grads)
				opt.Step(s, table, loss)
			}
			last := q.grad(params, grads)
			if !(last < 0.5*first) {
				t.Errorf("loss %g after %d steps, from %g: want under half", last, steps, first)
			}
		})
	}
}

func TestTensorOptimizersAllocateNothingPerStep(t *testing.T) {
	for _, tc := range tensorOptimizers {
		t.Run(tc.name, func(t *testing.T) {
			table, n := tinyTable()
			q := newQuadratic(n, 3)
			params, grads := make([]float64, n), make([]float64, n)
			opt := tc.new()
			opt.Init(table, 1000)
			optimizer.Slices(table, params, grads)
			s := 0
			allocs := testing.AllocsPerRun(20, func() {
				loss := q.grad(params, grads)
				opt.Step(s, table, loss)
				s++
			})
			if allocs != 0 {
				t.Errorf("%v allocations per step, want 0", allocs)
			}
		})
	}
}

func TestAdamWFirstStepByHand(t *testing.T) {
	table := []optimizer.Tensor{
		{Name: "q", Role: optimizer.AttnQ, Rows: 2, Cols: 2, Offset: 0},
		{Name: "ln", Role: optimizer.NormGain, Rows: 1, Cols: 2, Offset: 4},
	}
	params := []float64{1, -2, 0.5, 3, 1, 1}
	grads := []float64{0.1, -0.2, 0, 4, 0.1, -0.2}
	opt := NewAdamW(0.01)
	opt.Init(table, 100) // 5 warmup steps: the first is at 0.01/5
	optimizer.Slices(table, params, grads)
	opt.Step(0, table, 0)
	// m̂ = g and √v̂ = |g|, so each coordinate steps by lr·g/(|g|+ε) =
	// 0.002·sign(g), less a hair for ε; the matrix also shrinks by
	// 1 − lr·WD = 1 − 0.0002, the gains do not.
	want := []float64{
		1*0.9998 - 0.002*0.1/(0.1+1e-8),
		-2*0.9998 + 0.002*0.2/(0.2+1e-8),
		0.5 * 0.9998,
		3*0.9998 - 0.002*4/(4+1e-8),
		1 - 0.002*0.1/(0.1+1e-8),
		1 + 0.002*0.2/(0.2+1e-8),
	}
	for i := range want {
		if math.Abs(params[i]-want[i]) > 1e-15 {
			t.Errorf("param %d = %.17g, want %.17g", i, params[i], want[i])
		}
	}
	// The literal values, for a reader checking the arithmetic.
	if math.Abs(params[0]-0.9978000002) > 1e-12 || math.Abs(params[4]-0.9980000002) > 1e-12 {
		t.Errorf("params %v", params)
	}
}

func TestAdamWStepLRIgnoresTheSchedule(t *testing.T) {
	table := []optimizer.Tensor{{Name: "ln", Role: optimizer.NormGain, Rows: 1, Cols: 1}}
	params, grads := []float64{1}, []float64{0.5}
	opt := NewAdamW(123) // the peak must not matter
	opt.Init(table, 10)
	optimizer.Slices(table, params, grads)
	opt.StepLR(0, table, 0.01)
	if want := 1 - 0.01*0.5/(0.5+1e-8); math.Abs(params[0]-want) > 1e-15 {
		t.Errorf("param = %.17g, want %.17g", params[0], want)
	}
}
