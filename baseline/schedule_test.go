package baseline

import (
	"math"
	"testing"
)

func TestSchedulesAtKeySteps(t *testing.T) {
	const total = 1000 // warmup 50 steps; WSD cools down over the last 200
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	wsd, lin := NewWSD(0.01), NewLinearDecay(0.01)
	cases := []struct {
		name string
		lr   func(t int) float64
		t    int
		want float64
	}{
		{"wsd first", func(t int) float64 { return wsd.LR(t, total, 0) }, 0, 0.01 / 50},
		{"wsd warmup end", func(t int) float64 { return wsd.LR(t, total, 0) }, 49, 0.01},
		{"wsd stable", func(t int) float64 { return wsd.LR(t, total, 0) }, 500, 0.01},
		{"wsd before cooldown", func(t int) float64 { return wsd.LR(t, total, 0) }, 799, 0.01},
		{"wsd cooldown start", func(t int) float64 { return wsd.LR(t, total, 0) }, 800, 0.01},
		{"wsd cooldown half", func(t int) float64 { return wsd.LR(t, total, 0) }, 900, 0.005},
		{"wsd last", func(t int) float64 { return wsd.LR(t, total, 0) }, 999, 0.01 / 200},
		{"wsd past the end", func(t int) float64 { return wsd.LR(t, total, 0) }, 1000, 0},
		{"linear first", func(t int) float64 { return lin.LR(t, total, 0) }, 0, 0.01 / 50},
		{"linear warmup end", func(t int) float64 { return lin.LR(t, total, 0) }, 49, 0.01},
		{"linear decay start", func(t int) float64 { return lin.LR(t, total, 0) }, 50, 0.01},
		{"linear decay half", func(t int) float64 { return lin.LR(t, total, 0) }, 525, 0.005},
		{"linear last", func(t int) float64 { return lin.LR(t, total, 0) }, 999, 0.01 / 950},
		{"no-warmup wsd starts at peak", func(t int) float64 { return (&WSD{Peak: 0.01, CooldownFrac: 0.2}).LR(t, total, 0) }, 0, 0.01},
	}
	for _, c := range cases {
		if got := c.lr(c.t); !near(got, c.want) {
			t.Errorf("%s: LR(%d) = %.17g, want %.17g", c.name, c.t, got, c.want)
		}
	}
}

func TestCosineWithoutWarmupStartsAtPeak(t *testing.T) {
	s := &Cosine{Peak: CosineNoWarmupPeak}
	s.Init(100)
	if got := s.LR(0, 100, 0); got != CosineNoWarmupPeak {
		t.Errorf("LR(0) = %g, want the peak %g", got, CosineNoWarmupPeak)
	}
	last := 0.0
	for step := 1; step < 100; step++ {
		last = s.LR(step, 100, 0)
	}
	if last > 1e-3*CosineNoWarmupPeak {
		t.Errorf("last LR = %g, want near 0", last)
	}
}

func TestWarmupCosine(t *testing.T) {
	const steps = 200 // 10 warmup steps, 190 decay steps
	s := WarmupCosine{Peak: 1, Warmup: 0.05, MinFrac: 0.1}
	s.Init(steps)
	lrs := make([]float64, steps)
	for i := range lrs {
		lrs[i] = s.LR(i)
	}
	if lrs[0] != 0.1 || lrs[9] != 1 || lrs[10] != 1 {
		t.Errorf("warmup: LR(0), LR(9), LR(10) = %g, %g, %g; want 0.1, 1, 1", lrs[0], lrs[9], lrs[10])
	}
	for i := 10; i < steps; i++ {
		want := 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*float64(i-10)/190))
		if math.Abs(lrs[i]-want) > 1e-12 {
			t.Errorf("LR(%d) = %.15g, want %.15g", i, lrs[i], want)
		}
		if i > 10 && lrs[i] > lrs[i-1] {
			t.Errorf("LR rises at step %d", i)
		}
	}
	if got := s.LR(steps); got != 0.1 {
		t.Errorf("past the end: LR = %g, want the floor 0.1", got)
	}
	// Out of order, the same values.
	for _, i := range []int{150, 20, 199, 10, 11} {
		if got := s.LR(i); got != lrs[i] {
			t.Errorf("LR(%d) out of order = %.17g, in order %.17g", i, got, lrs[i])
		}
	}
	var unknown WarmupCosine
	unknown.Peak = 0.5
	unknown.Init(0)
	if got := unknown.LR(12345); got != 0.5 {
		t.Errorf("unknown length: LR = %g, want the peak", got)
	}
}
