package lm

import (
	"math"
	"testing"

	"github.com/arena-dev/arena/detmath"
)

// tinyModel is a model small enough for finite differences.
func tinyModel(t testing.TB, cfg Config, batch int, seed uint64) (*Model, []float64, []uint16) {
	t.Helper()
	m, err := New(cfg, batch)
	if err != nil {
		t.Fatal(err)
	}
	params := make([]float64, cfg.NumParams())
	rng := detmath.NewRNG(seed, "test")
	m.Init(params, rng)
	// Larger weights than GPT-2's init, so attention is not uniform and
	// every path carries gradient.
	for i := range params {
		params[i] += 0.3 * rng.Normal()
	}
	tokens := make([]uint16, batch*(cfg.Context+1))
	for i := range tokens {
		tokens[i] = uint16(rng.Intn(cfg.Vocab))
	}
	return m, params, tokens
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		cfg   Config
		batch int
	}{
		{"one layer one head", Config{Vocab: 11, Width: 4, Layers: 1, Heads: 1, Context: 5}, 2},
		{"two layers two heads", Config{Vocab: 13, Width: 8, Layers: 2, Heads: 2, Context: 6}, 3},
		{"odd width", Config{Vocab: 7, Width: 6, Layers: 1, Heads: 3, Context: 3}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, params, tokens := tinyModel(t, tc.cfg, tc.batch, 1)
			grads := make([]float64, len(params))
			if _, err := m.LossGrad(params, grads, tokens); err != nil {
				t.Fatal(err)
			}
			const h = 1e-5
			worst := 0.0
			for i := range params {
				orig := params[i]
				params[i] = orig + h
				up, _ := m.Loss(params, tokens)
				params[i] = orig - h
				down, _ := m.Loss(params, tokens)
				params[i] = orig
				fd := (up - down) / (2 * h)
				if err := math.Abs(fd-grads[i]) / math.Max(1e-4, math.Abs(fd)+math.Abs(grads[i])); err > worst {
					worst = err
				}
				if math.Abs(fd-grads[i]) > 1e-7+1e-5*math.Abs(fd) {
					t.Errorf("param %d: backward %.12g, finite difference %.12g", i, grads[i], fd)
				}
			}
			t.Logf("%d parameters, worst relative difference %.2g", len(params), worst)
		})
	}
}

// TestShortRunIsPinned pins the bits of a short SGD run: a change to the
// arithmetic's order shows up here (and in every benchmark's golden
// scores), so it must be deliberate. Runs on many goroutines at once give
// the same bits, whatever GOMAXPROCS is.
func TestShortRunIsPinned(t *testing.T) {
	t.Parallel()
	run := func() uint64 {
		m, params, tokens := tinyModel(t, Config{Vocab: 17, Width: 8, Layers: 2, Heads: 2, Context: 6}, 4, 3)
		grads := make([]float64, len(params))
		var loss float64
		for range 20 {
			var err error
			if loss, err = m.LossGrad(params, grads, tokens); err != nil {
				t.Fatal(err)
			}
			for i, g := range grads {
				params[i] -= float64(0.1 * g)
			}
		}
		return math.Float64bits(loss)
	}
	const want = 0x3ffb93b002dfc293
	results := make(chan uint64, 8)
	for range cap(results) {
		go func() { results <- run() }()
	}
	for range cap(results) {
		if got := <-results; got != want {
			t.Errorf("loss after 20 steps: %v (%#016x), pinned %v (%#016x)", math.Float64frombits(got), got, math.Float64frombits(want), uint64(want))
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cfg := Config{Vocab: 5, Width: 4, Layers: 1, Heads: 2, Context: 3}
	m, err := New(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	params := make([]float64, cfg.NumParams())
	cases := []struct {
		name   string
		params []float64
		tokens []uint16
	}{
		{"short params", params[1:], make([]uint16, 4)},
		{"partial sequence", params, make([]uint16, 5)},
		{"too many sequences", params, make([]uint16, 12)},
		{"token outside the vocabulary", params, []uint16{0, 1, 5, 2}},
		{"no tokens", params, nil},
	}
	for _, tc := range cases {
		if _, err := m.Loss(tc.params, tc.tokens); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	for _, bad := range []Config{
		{Vocab: 1, Width: 4, Layers: 1, Heads: 1, Context: 3},
		{Vocab: 5, Width: 6, Layers: 1, Heads: 4, Context: 3},
		{Vocab: 5, Width: 4, Layers: 0, Heads: 1, Context: 3},
		{Vocab: 5, Width: 4, Layers: 1, Heads: 1, Context: 0},
		{Vocab: 65536, Width: 1024, Layers: 32, Heads: 1, Context: 1024},
	} {
		if _, err := New(bad, 1); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
