package detmath

import (
	"math"
	"testing"
)

// sliceInputs mixes the ranges the LM feeds exp (softmax arguments ≤ 0,
// GELU's tanh arguments of either sign) with the edges: the vector
// range's bounds, overflow, underflow into subnormals, NaN and infinities.
func sliceInputs() []float64 {
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 705, -705,
		math.Nextafter(705, 1000), math.Nextafter(-705, -1000), expMax, expMin,
		math.Nextafter(expMax, 1000), math.Nextafter(expMin, -1000), 710, -746, -740, 708,
		math.Inf(1), math.Inf(-1), math.NaN(), 1e-300, -1e-300, 0.34657359027997264, -0.34657359027997264}
	r := NewRNG(11, "slice")
	for i := range 400_000 {
		switch i % 4 {
		case 0:
			xs = append(xs, r.Uniform(-30, 0))
		case 1:
			xs = append(xs, r.Uniform(-25, 25))
		case 2:
			xs = append(xs, r.Uniform(-760, 760))
		default:
			xs = append(xs, math.Float64frombits(r.Next()))
		}
	}
	return xs
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// TestSlicesMatchScalar holds ExpSlice and TanhInto to Exp and Tanh bit
// for bit, on the vector path (where the CPU has it) and the Go path, at
// every length modulo four and at every offset of an out-of-range lane.
// Not parallel: it switches useVector.
func TestSlicesMatchScalar(t *testing.T) {
	defer func(saved bool) { useVector = saved }(useVector)
	xs := sliceInputs()
	for _, vector := range []bool{false, true} {
		if vector && !haveVector {
			t.Log("no vector exp on this CPU")
			continue
		}
		useVector = vector
		for start := range 5 {
			in := xs[start:]
			got := append([]float64(nil), in...)
			ExpSlice(got)
			for i, x := range in {
				if want := Exp(x); !sameFloat(got[i], want) {
					t.Fatalf("vector=%v: ExpSlice gives exp(%v) = %v, Exp %v", vector, x, got[i], want)
				}
			}
			TanhInto(got, in)
			for i, x := range in {
				if want := Tanh(x); !sameFloat(got[i], want) {
					t.Fatalf("vector=%v: TanhInto gives tanh(%v) = %v, Tanh %v", vector, x, got[i], want)
				}
			}
		}
	}
}

func BenchmarkExpSlice(b *testing.B) {
	r := NewRNG(1, "bench")
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = r.Uniform(-10, 0)
	}
	buf := make([]float64, len(xs))
	b.Run("Exp", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				buf[i] = Exp(x)
			}
		}
	})
	b.Run("ExpSlice", func(b *testing.B) {
		for b.Loop() {
			copy(buf, xs)
			ExpSlice(buf)
		}
	})
}
