package detmath

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
	r := NewRNG(7, "detmath")
	for range 200_000 {
		x := r.Uniform(-700, 700)
		// amd64 computes math.Exp with its own assembly, so allow 2 ulp.
		if d := ulpDiff(Exp(x), math.Exp(x)); d > 2 {
			t.Fatalf("Exp(%v) = %v, math.Exp = %v (%d ulp)", x, Exp(x), math.Exp(x), d)
		}
		y := math.Abs(x) * r.Float64()
		if y == 0 {
			continue
		}
		if d := ulpDiff(Log(y), math.Log(y)); d > 1 {
			t.Fatalf("Log(%v) = %v, math.Log = %v (%d ulp)", y, Log(y), math.Log(y), d)
		}
	}
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		{"exp(0)", Exp(0), 1},
		{"exp(1000)", Exp(1000), math.Inf(1)},
		{"exp(-1000)", Exp(-1000), 0},
		{"log(1)", Log(1), 0},
		{"log(0)", Log(0), math.Inf(-1)},
		{"Softplus(800)", Softplus(800), 800},
		{"Sigmoid(-800)", Sigmoid(-800), 0},
		{"tanh(0)", Tanh(0), 0},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !math.IsNaN(Log(-1)) {
		t.Errorf("log(-1) = %v, want NaN", Log(-1))
	}
}
