package gradcodec

import (
	"math"
	"testing"

	"github.com/arena-dev/arena/detmath"
	"github.com/arena-dev/arena/guest/gradient"
)

// table is a small model's worth of tensors: a matrix taller than a
// block, one wider than a block, a square one and a vector.
func table() []gradient.Tensor {
	shapes := [][2]int{{130, 8}, {8, 70}, {16, 16}, {1, 16}}
	var ts []gradient.Tensor
	off := 0
	for i, s := range shapes {
		ts = append(ts, gradient.Tensor{Name: string(rune('a' + i)), Rows: s[0], Cols: s[1], Offset: off})
		off += s[0] * s[1]
	}
	return ts
}

func size(ts []gradient.Tensor) int {
	n := 0
	for _, t := range ts {
		n += t.Size()
	}
	return n
}

// With error feedback at decay 1 nothing is lost: what the messages
// carried plus the worker's residual is the sum of the gradients.
func TestErrorFeedbackConservesTheGradient(t *testing.T) {
	t.Parallel()
	ts := table()
	n := size(ts)
	for name, c := range map[string]interface {
		gradient.TensorCompressor
		residual() []float64
	}{
		"templar":   &Templar{Beta: 1, BlockSize: 64},
		"powersgd":  &PowerSGD{Rank: 2, Beta: 1, Bits: 8},
		"powersgd4": &PowerSGD{Rank: 4, Beta: 1, Bits: 4},
	} {
		dec := map[string]gradient.TensorCompressor{"templar": &Templar{Beta: 1, BlockSize: 64}, "powersgd": &PowerSGD{Rank: 2, Beta: 1, Bits: 8}, "powersgd4": &PowerSGD{Rank: 4, Beta: 1, Bits: 4}}[name]
		budget := 4 * n / 16
		c.Init(0, 1, ts, budget, 0)
		dec.Init(-1, 1, ts, budget, 0)
		rng := detmath.NewRNG(1, name)
		grad, sum, sent, out := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		msg := make([]byte, budget)
		for step := range 30 {
			for i := range grad {
				grad[i] = rng.Normal() * float64(1+i%7)
				sum[i] += grad[i]
			}
			size := c.Compress(step, grad, msg)
			if size > budget {
				t.Fatalf("%s: a message of %d bytes over the budget of %d", name, size, budget)
			}
			dec.Decompress(0, step, msg[:size], out)
			for i, v := range out {
				sent[i] += v
			}
		}
		var worst, scale float64
		for i := range sum {
			worst = max(worst, math.Abs(sent[i]+c.residual()[i]-sum[i]))
			scale = max(scale, math.Abs(sum[i]))
		}
		if worst > 1e-9*scale {
			t.Errorf("%s: sent + residual differs from the gradients' sum by %g (of %g)", name, worst, scale)
		}
	}
}

func (c *Templar) residual() []float64  { return c.ef }
func (c *PowerSGD) residual() []float64 { return c.ef }
