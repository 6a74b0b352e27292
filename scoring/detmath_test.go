package scoring

import (
	"math"
	"testing"
)

func ulpDiff(a, b float64) uint64 {
	ia, ib := math.Float64bits(a), math.Float64bits(b)
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}

func TestDeterministicMathMatchesStdlib(t *testing.T) {
	t.Parallel()
	r := newRNG(7, "detmath")
	for range 200_000 {
		x := r.uniform(-700, 700)
		// amd64 computes math.Exp with its own assembly, so allow 2 ulp.
		if d := ulpDiff(dexp(x), math.Exp(x)); d > 2 {
			t.Fatalf("dexp(%v) = %v, math.Exp = %v (%d ulp)", x, dexp(x), math.Exp(x), d)
		}
		y := math.Abs(x) * r.float64()
		if y == 0 {
			continue
		}
		if d := ulpDiff(dlog(y), math.Log(y)); d > 1 {
			t.Fatalf("dlog(%v) = %v, math.Log = %v (%d ulp)", y, dlog(y), math.Log(y), d)
		}
	}
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		{"exp(0)", dexp(0), 1},
		{"exp(1000)", dexp(1000), math.Inf(1)},
		{"exp(-1000)", dexp(-1000), 0},
		{"log(1)", dlog(1), 0},
		{"log(0)", dlog(0), math.Inf(-1)},
		{"softplus(800)", softplus(800), 800},
		{"sigmoid(-800)", sigmoid(-800), 0},
		{"tanh(0)", dtanh(0), 0},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !math.IsNaN(dlog(-1)) {
		t.Errorf("log(-1) = %v, want NaN", dlog(-1))
	}
}
