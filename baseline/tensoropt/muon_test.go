package tensoropt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/optimizer"
)

func TestMuonLeavesOtherTensorsToAdamW(t *testing.T) {
	const steps = 30
	table, n := tinyTable()
	var rest []optimizer.Tensor
	for _, tn := range table {
		if !tn.Role.Hidden() {
			rest = append(rest, tn)
		}
	}
	q := newQuadratic(n, 11)
	init := make([]float64, n)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range init {
		init[i] = 0.1 * r.NormFloat64()
	}
	pm, gm := append([]float64(nil), init...), make([]float64, n)
	pa, ga := append([]float64(nil), init...), make([]float64, n)
	muon, adam := NewMuon(baseline.MuonLR, baseline.MuonAdamLR), NewAdamW(baseline.MuonAdamLR)
	muon.Init(table, steps)
	adam.Init(rest, steps)
	optimizer.Slices(table, pm, gm)
	optimizer.Slices(rest, pa, ga)
	for s := range steps {
		muon.Step(s, table, q.grad(pm, gm))
		adam.Step(s, rest, q.grad(pa, ga))
	}
	moved := false
	for _, tn := range table {
		for j := range tn.Rows * tn.Cols {
			i := tn.Offset + j
			if tn.Role.Hidden() {
				moved = moved || pm[i] != init[i]
			} else if math.Float64bits(pm[i]) != math.Float64bits(pa[i]) {
				t.Fatalf("%s[%d]: Muon gives %.17g, AdamW alone %.17g", tn.Name, j, pm[i], pa[i])
			}
		}
	}
	if !moved {
		t.Error("Muon left the hidden matrices alone")
	}
}

// orthogonalize returns newtonSchulz's five steps on a copy of g.
func orthogonalize(g []float64, rows, cols int) []float64 {
	var w newtonSchulz
	w.alloc(rows*cols, min(rows, cols))
	out := append([]float64(nil), g...)
	w.orthogonalize(out, rows, cols, 5)
	return out
}

// symEigen is the eigenvalues of the symmetric n × n matrix a, by cyclic
// Jacobi rotations.
func symEigen(a []float64, n int) []float64 {
	a = append([]float64(nil), a...)
	for range 100 {
		off := 0.0
		for p := range n {
			for q := p + 1; q < n; q++ {
				off += a[p*n+q] * a[p*n+q]
			}
		}
		if off < 1e-24 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				if a[p*n+q] == 0 {
					continue
				}
				theta := (a[q*n+q] - a[p*n+p]) / (2 * a[p*n+q])
				tn := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(tn*tn+1)
				s := tn * c
				for k := range n { // columns p, q
					akp, akq := a[k*n+p], a[k*n+q]
					a[k*n+p], a[k*n+q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := range n { // rows p, q
					apk, aqk := a[p*n+k], a[q*n+k]
					a[p*n+k], a[q*n+k] = c*apk-s*aqk, s*apk+c*aqk
				}
			}
		}
	}
	out := make([]float64, n)
	for i := range n {
		out[i] = a[i*n+i]
	}
	return out
}

func TestNewtonSchulzNearlyOrthogonal(t *testing.T) {
	const rows, cols = 8, 16
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 9))
		g := make([]float64, rows*cols)
		for i := range g {
			g[i] = r.NormFloat64()
		}
		o := orthogonalize(g, rows, cols)
		gram := make([]float64, rows*rows) // O Oᵀ
		for i := range rows {
			for k := range rows {
				for j := range cols {
					gram[i*rows+k] += o[i*cols+j] * o[k*cols+j]
				}
			}
		}
		// The quintic leaves the singular values in about [0.68, 1.13]
		// (it trades exactness for speed), so O Oᵀ = U Σ² Uᵀ has a
		// diagonal of weighted means of σ² ∈ [0.46, 1.28]: near the
		// identity, not at it.
		for i := range rows {
			for k := range rows {
				want, tol := 0.0, 0.35
				if i == k {
					want, tol = 1, 0.55
				}
				if d := math.Abs(gram[i*rows+k] - want); d > tol {
					t.Errorf("seed %d: (O Oᵀ)[%d][%d] = %.3f, want %g ± %g", seed, i, k, gram[i*rows+k], want, tol)
				}
			}
		}
		for _, l := range symEigen(gram, rows) {
			if s := math.Sqrt(l); s < 0.6 || s > 1.2 {
				t.Errorf("seed %d: singular value %.3f outside [0.6, 1.2]", seed, s)
			}
		}
	}
}

func TestNewtonSchulzTransposes(t *testing.T) {
	const rows, cols = 8, 16
	r := rand.New(rand.NewPCG(1, 2))
	g := make([]float64, rows*cols)
	gt := make([]float64, rows*cols)
	for i := range rows {
		for j := range cols {
			g[i*cols+j] = r.NormFloat64()
			gt[j*rows+i] = g[i*cols+j]
		}
	}
	o, ot := orthogonalize(g, rows, cols), orthogonalize(gt, cols, rows)
	for i := range rows {
		for j := range cols {
			if math.Float64bits(o[i*cols+j]) != math.Float64bits(ot[j*rows+i]) {
				t.Fatalf("O[%d][%d] = %.17g, but (orthogonalize gᵀ)[%d][%d] = %.17g", i, j, o[i*cols+j], j, i, ot[j*rows+i])
			}
		}
	}
}

// plainNewtonSchulz is orthogonalize written as the plain loops whose
// order of arithmetic it must keep: every sum from 0 in increasing index,
// each product rounded on its own.
func plainNewtonSchulz(g []float64, rows, cols, steps int) []float64 {
	r, c := rows, cols
	x := make([]float64, rows*cols)
	if rows > cols {
		r, c = cols, rows
		for i := range rows {
			for j := range cols {
				x[j*rows+i] = g[i*cols+j]
			}
		}
	} else {
		copy(x, g)
	}
	sum := 0.0
	for _, v := range x {
		sum += float64(v * v)
	}
	norm := math.Sqrt(sum) + 1e-7
	for i := range x {
		x[i] /= norm
	}
	a, aa, y := make([]float64, r*r), make([]float64, r*r), make([]float64, r*c)
	for range steps {
		for i := range r {
			for k := range r {
				s := 0.0
				for j := range c {
					s += float64(x[i*c+j] * x[k*c+j])
				}
				a[i*r+k] = s
			}
		}
		for i := range r {
			for k := range r {
				s := 0.0
				for j := range r {
					s += float64(a[i*r+j] * a[k*r+j])
				}
				aa[i*r+k] = float64(nsB*a[i*r+k]) + float64(nsC*s)
			}
		}
		for i := range r {
			for j := range c {
				s := 0.0
				for k := range r {
					s += float64(aa[i*r+k] * x[k*c+j])
				}
				y[i*c+j] = float64(nsA*x[i*c+j]) + s
			}
		}
		x, y = y, x
	}
	out := make([]float64, rows*cols)
	if rows > cols {
		for i := range rows {
			for j := range cols {
				out[i*cols+j] = x[j*rows+i]
			}
		}
	} else {
		copy(out, x)
	}
	return out
}

// TestNewtonSchulzMatchesThePlainLoops holds orthogonalize, whose loops
// are blocked and unrolled to cost less fuel in WebAssembly, to the plain
// loops bit for bit, on shapes that leave every remainder of the blocking.
func TestNewtonSchulzMatchesThePlainLoops(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][2]int{{16, 64}, {64, 16}, {16, 16}, {1, 3}, {3, 1}, {2, 2}, {5, 9}, {7, 13}, {9, 12}, {12, 17}, {13, 31}} {
		rows, cols := shape[0], shape[1]
		g := make([]float64, rows*cols)
		for i := range g {
			g[i] = r.NormFloat64()
		}
		got, want := orthogonalize(g, rows, cols), plainNewtonSchulz(g, rows, cols, 5)
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%d×%d: element %d is %.17g, the plain loops give %.17g", rows, cols, i, got[i], want[i])
			}
		}
	}
}
