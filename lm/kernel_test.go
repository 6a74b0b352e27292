package lm

import (
	"fmt"
	"math"
	"testing"

	"github.com/arena-dev/arena/detmath"
)

// The kernels are tiled and unrolled for speed, but each output element
// must still be the plain loop's sum, term by term in increasing inner
// index: that order is what the pinned run and every golden score depend
// on. These tests hold them to the plain triple loops, bit for bit, on
// every remainder of the tiling.

func plainMatmul(c, a, w []float64, n, k, m int) {
	for i := range n {
		for j := range m {
			var s float64
			for p := range k {
				s += float64(a[i*k+p] * w[p*m+j])
			}
			c[i*m+j] = s
		}
	}
}

func plainMatmulATAdd(g, a, d []float64, n, k, m int) {
	for p := range k {
		for j := range m {
			s := g[p*m+j]
			for i := range n {
				s += float64(a[i*k+p] * d[i*m+j])
			}
			g[p*m+j] = s
		}
	}
}

func plainMatmulBT(o, d, w []float64, n, k, m int) {
	for i := range n {
		for p := range k {
			var s float64
			for j := range m {
				s += float64(d[i*m+j] * w[p*m+j])
			}
			o[i*k+p] = s
		}
	}
}

func normals(r *detmath.RNG, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Normal()
	}
	return v
}

func requireSameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s: element %d is %v, the plain loop gives %v", what, i, got[i], want[i])
		}
	}
}

// TestKernelsMatchPlainLoops runs on both paths where the CPU has vector
// kernels. It is not parallel: it switches useVector, which the parallel
// tests read only after it has finished.
func TestKernelsMatchPlainLoops(t *testing.T) {
	defer func(saved bool) { useVector = saved }(useVector)
	for _, vector := range []bool{false, true} {
		if vector && !haveVector {
			t.Log("no vector kernels on this CPU")
			continue
		}
		useVector = vector
		r := detmath.NewRNG(1, "kernels")
		var shapes [][3]int
		for n := 1; n <= 9; n++ {
			for k := 1; k <= 10; k++ {
				for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 20, 37} {
					shapes = append(shapes, [3]int{n, k, m})
				}
			}
		}
		// Past matmulATAddVector's row chunks, and the default model's.
		shapes = append(shapes, [3]int{65, 16, 16}, [3]int{129, 17, 37}, [3]int{200, 3, 52}, [3]int{2048, 16, 64})
		for _, s := range shapes {
			n, k, m := s[0], s[1], s[2]
			shape := fmt.Sprintf("vector=%v n=%d k=%d m=%d", vector, n, k, m)
			a, w, d := normals(r, n*k), normals(r, k*m), normals(r, n*m)

			got, want := normals(r, n*m), make([]float64, n*m)
			matmul(got, a, w, n, k, m)
			plainMatmul(want, a, w, n, k, m)
			requireSameBits(t, "matmul "+shape, got, want)

			got = normals(r, k*m)
			want = append([]float64(nil), got...)
			matmulATAdd(got, a, d, n, k, m)
			plainMatmulATAdd(want, a, d, n, k, m)
			requireSameBits(t, "matmulATAdd "+shape, got, want)

			got, want = normals(r, n*k), make([]float64, n*k)
			matmulBT(got, d, w, make([]float64, k*m), n, k, m)
			plainMatmulBT(want, d, w, n, k, m)
			requireSameBits(t, "matmulBT "+shape, got, want)
		}
	}
}

// TestCausalKernelsArePlainSums holds causalScores, causalMix and
// causalMixT, on both paths, to the plain sums in order over the causal
// range, on odd and even contexts.
func TestCausalKernelsArePlainSums(t *testing.T) {
	defer func(saved bool) { useVector = saved }(useVector)
	for _, vector := range []bool{false, true} {
		if vector && !haveVector {
			continue
		}
		useVector = vector
		r := detmath.NewRNG(2, "scores")
		for _, c := range [][3]int{{1, 4, 4}, {2, 4, 2}, {5, 6, 3}, {7, 8, 8}, {9, 12, 4}, {17, 16, 8}, {32, 16, 8}, {33, 24, 8}} {
			T, d, dh := c[0], c[1], c[2]
			a, b := normals(r, T*d), normals(r, T*d)
			out := normals(r, T*T)
			causalScores(out, a, b, make([]float64, dh*T), T, d, dh)
			for i := range T {
				for j := 0; j <= i; j++ {
					var want float64
					for k := range dh {
						want += float64(a[i*d+k] * b[j*d+k])
					}
					if math.Float64bits(out[i*T+j]) != math.Float64bits(want) {
						t.Fatalf("vector=%v T=%d d=%d dh=%d: score (%d, %d) is %v, the dot product %v", vector, T, d, dh, i, j, out[i*T+j], want)
					}
				}
			}
			// The mixes read only the lower triangle of p: the rest is NaN.
			p := normals(r, T*T)
			for i := range T {
				for j := i + 1; j < T; j++ {
					p[i*T+j] = math.NaN()
				}
			}
			mix, mixT := normals(r, T*d), normals(r, T*d)
			causalMix(mix, p, b, T, d, dh)
			causalMixT(mixT, p, b, T, d, dh)
			for i := range T {
				for c := range dh {
					var want, wantT float64
					for j := 0; j <= i; j++ {
						want += float64(p[i*T+j] * b[j*d+c])
					}
					for j := i; j < T; j++ {
						wantT += float64(p[j*T+i] * b[j*d+c])
					}
					if math.Float64bits(mix[i*d+c]) != math.Float64bits(want) || math.Float64bits(mixT[i*d+c]) != math.Float64bits(wantT) {
						t.Fatalf("vector=%v T=%d d=%d dh=%d: row %d column %d mixes to %v and %v, the plain sums %v and %v",
							vector, T, d, dh, i, c, mix[i*d+c], mixT[i*d+c], want, wantT)
					}
				}
			}
		}
	}
}

// TestRowMaxIsTheRunningMax holds rowMax to the one running max it
// replaces, bit for bit, on rows with NaN, both zeros and infinities at
// every position and of every length modulo four.
func TestRowMaxIsTheRunningMax(t *testing.T) {
	t.Parallel()
	specials := []float64{math.NaN(), 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), -1, 2}
	r := detmath.NewRNG(3, "rowmax")
	for n := 1; n <= 11; n++ {
		for trial := range 200 {
			row := normals(r, n)
			for range trial % 3 {
				row[r.Intn(n)] = specials[r.Intn(len(specials))]
			}
			if trial%5 == 0 { // all zeros of either sign
				for i := range row {
					row[i] = specials[1+r.Intn(2)]
				}
			}
			want := math.Inf(-1)
			for _, v := range row {
				want = max(want, v)
			}
			got := rowMax(row)
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("rowMax(%v) = %v, the running max %v", row, got, want)
			}
		}
	}
}

func BenchmarkKernel(b *testing.B) {
	r := detmath.NewRNG(1, "kernels")
	// The default model's shapes: rows = batch × context, by width, 4 ×
	// width and vocabulary.
	for _, s := range [][3]int{{2048, 16, 16}, {2048, 16, 64}, {2048, 64, 16}, {2048, 16, 128}} {
		n, k, m := s[0], s[1], s[2]
		a, w, d := normals(r, n*k), normals(r, k*m), normals(r, n*m)
		c, g, o, wt := make([]float64, n*m), make([]float64, k*m), make([]float64, n*k), make([]float64, k*m)
		shape := fmt.Sprintf("%dx%dx%d", n, k, m)
		b.Run("matmul/"+shape, func(b *testing.B) {
			for b.Loop() {
				matmul(c, a, w, n, k, m)
			}
		})
		b.Run("matmulATAdd/"+shape, func(b *testing.B) {
			for b.Loop() {
				matmulATAdd(g, a, d, n, k, m)
			}
		})
		b.Run("matmulBT/"+shape, func(b *testing.B) {
			for b.Loop() {
				matmulBT(o, d, w, wt, n, k, m)
			}
		})
	}
}
