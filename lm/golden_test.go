package lm

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// pytorchCase is one case of testdata/pytorch_golden.json, which
// scripts/lm_reference.py golden writes from PyTorch's autograd in float64
// on the same architecture, weights and tokens.
type pytorchCase struct {
	Name   string `json:"name"`
	Config struct {
		Config
		Batch int `json:"batch"`
	} `json:"config"`
	Tokens [][]uint16 `json:"tokens"`
	Params []float64  `json:"params"`
	Loss   float64    `json:"loss"`
	Grads  []float64  `json:"grads"`
	Table  []struct {
		Name               string
		Rows, Cols, Offset int
	} `json:"table"`
}

// TestMatchesPyTorch checks the loss and every gradient against PyTorch's
// within 1e-9, relative to the gradient's scale.
func TestMatchesPyTorch(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/pytorch_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct{ Cases []pytorchCase }
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) < 2 {
		t.Fatalf("%d cases in the golden file", len(golden.Cases))
	}
	for _, c := range golden.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			cfg := c.Config.Config
			table := cfg.Table()
			if len(table) != len(c.Table) {
				t.Fatalf("%d tensors, PyTorch has %d", len(table), len(c.Table))
			}
			for i, pt := range c.Table {
				if g := table[i]; g.Name != pt.Name || g.Rows != pt.Rows || g.Cols != pt.Cols || g.Offset != pt.Offset {
					t.Errorf("tensor %d: %+v, PyTorch has %+v", i, g, pt)
				}
			}
			m, err := New(cfg, c.Config.Batch)
			if err != nil {
				t.Fatal(err)
			}
			var tokens []uint16
			for _, seq := range c.Tokens {
				tokens = append(tokens, seq...)
			}
			grads := make([]float64, len(c.Params))
			loss, err := m.LossGrad(c.Params, grads, tokens)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(loss-c.Loss) / c.Loss; d > 1e-12 {
				t.Errorf("loss %.17g, PyTorch %.17g (relative %.2g)", loss, c.Loss, d)
			}
			scale := 0.0
			for _, g := range c.Grads {
				scale = math.Max(scale, math.Abs(g))
			}
			worst := 0.0
			for i, want := range c.Grads {
				d := math.Abs(grads[i]-want) / (math.Abs(want) + 1e-3*scale)
				worst = math.Max(worst, d)
				if d > 1e-9 {
					t.Errorf("gradient %d: %.17g, PyTorch %.17g", i, grads[i], want)
				}
			}
			t.Logf("loss %.17g; worst gradient difference %.2g relative", loss, worst)
		})
	}
}
