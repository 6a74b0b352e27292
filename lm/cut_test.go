package lm

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// scaleCut multiplies what crosses forward by fwd and what crosses back
// by bwd, and counts the crossings.
type scaleCut struct {
	fwd, bwd            float64
	forwards, backwards int
	fail                error
}

func (c *scaleCut) Forward(x []float64, rows, width int) error {
	if len(x) != rows*width {
		return errors.New("forward: wrong shape")
	}
	c.forwards++
	for i := range x {
		x[i] = float64(x[i] * c.fwd)
	}
	return c.fail
}

func (c *scaleCut) Backward(dx []float64, rows, width int) error {
	if len(dx) != rows*width {
		return errors.New("backward: wrong shape")
	}
	c.backwards++
	for i := range dx {
		dx[i] = float64(dx[i] * c.bwd)
	}
	return nil
}

var cutConfig = Config{Vocab: 13, Width: 8, Layers: 3, Heads: 2, Context: 6}

// An identity cut changes no bit of the loss or the gradient, wherever it
// sits, and is crossed once each way per step.
func TestIdentityCutChangesNothing(t *testing.T) {
	t.Parallel()
	m, params, tokens := tinyModel(t, cutConfig, 3, 5)
	want := make([]float64, len(params))
	wantLoss, err := m.LossGrad(params, want, tokens)
	if err != nil {
		t.Fatal(err)
	}
	for after := 1; after <= cutConfig.Layers; after++ {
		cut := &scaleCut{fwd: 1, bwd: 1}
		if err := m.SetCut(after, cut); err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(params))
		loss, err := m.LossGrad(params, got, tokens)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(loss) != math.Float64bits(wantLoss) {
			t.Errorf("cut after %d: loss %v, want %v", after, loss, wantLoss)
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("cut after %d: gradient %d is %v, want %v", after, i, got[i], want[i])
			}
		}
		if cut.forwards != 1 || cut.backwards != 1 {
			t.Errorf("cut after %d: crossed %d times forward and %d back, want 1 and 1", after, cut.forwards, cut.backwards)
		}
	}
}

// A cut that scales the activation by c and its gradient by c is the
// linear map x → c·x differentiated exactly: the gradient must match
// finite differences of the composed function. One that scales only the
// activation is straight-through: upstream of the cut it gets 1/c of the
// composed function's gradient, downstream all of it.
func TestCutGradients(t *testing.T) {
	t.Parallel()
	const c = 0.7
	for after := 1; after <= cutConfig.Layers; after++ {
		m, params, tokens := tinyModel(t, cutConfig, 2, 9)
		if err := m.SetCut(after, &scaleCut{fwd: c, bwd: c}); err != nil {
			t.Fatal(err)
		}
		exact := make([]float64, len(params))
		if _, err := m.LossGrad(params, exact, tokens); err != nil {
			t.Fatal(err)
		}
		const h = 1e-5
		for i := range params {
			orig := params[i]
			params[i] = orig + h
			up, _ := m.Loss(params, tokens)
			params[i] = orig - h
			down, _ := m.Loss(params, tokens)
			params[i] = orig
			if fd := (up - down) / (2 * h); math.Abs(fd-exact[i]) > 1e-7+1e-5*math.Abs(fd) {
				t.Fatalf("cut after %d: param %d: backward %.12g, finite difference %.12g", after, i, exact[i], fd)
			}
		}
		if err := m.SetCut(after, &scaleCut{fwd: c, bwd: 1}); err != nil {
			t.Fatal(err)
		}
		straight := make([]float64, len(params))
		if _, err := m.LossGrad(params, straight, tokens); err != nil {
			t.Fatal(err)
		}
		// Parameters before the cut: the embeddings and the first after
		// blocks' tensors, in the table's order.
		upstream := m.off.normF
		if after < cutConfig.Layers {
			upstream = m.off.layers[after].norm1
		}
		for i := range params {
			want := exact[i]
			if i < upstream {
				want = exact[i] / c
			}
			if math.Abs(straight[i]-want) > 1e-12+1e-9*math.Abs(want) {
				t.Fatalf("cut after %d: param %d (upstream %v): straight-through %.12g, want %.12g", after, i, i < upstream, straight[i], want)
			}
		}
	}
}

func TestCutErrors(t *testing.T) {
	t.Parallel()
	m, params, tokens := tinyModel(t, cutConfig, 2, 1)
	for _, after := range []int{0, -1, cutConfig.Layers + 1} {
		if err := m.SetCut(after, &scaleCut{fwd: 1, bwd: 1}); err == nil || !strings.Contains(err.Error(), "cut") {
			t.Errorf("cut after %d: %v, want an error naming the cut", after, err)
		}
	}
	boom := errors.New("boom")
	if err := m.SetCut(1, &scaleCut{fwd: 1, bwd: 1, fail: boom}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LossGrad(params, make([]float64, len(params)), tokens); !errors.Is(err, boom) {
		t.Errorf("a failing cut: %v, want its error", err)
	}
	if err := m.SetCut(0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Loss(params, tokens); err != nil {
		t.Errorf("after removing the cut: %v", err)
	}
}
