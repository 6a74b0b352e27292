package lm

import "testing"

// BenchmarkStep is one training step's forward and backward pass;
// scripts/lm_reference.py bench times PyTorch on the same configuration.
func BenchmarkStep(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cfg   Config
		batch int
	}{
		{"default", DefaultConfig(), DefaultBatch},
		{"wide", Config{Vocab: 256, Width: 64, Layers: 4, Heads: 4, Context: 64}, 16},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, params, tokens := tinyModel(b, bc.cfg, bc.batch, 1)
			grads := make([]float64, len(params))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.LossGrad(params, grads, tokens); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bc.cfg.NumParams()), "params")
		})
	}
}
