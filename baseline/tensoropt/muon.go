package tensoropt

import (
	"math"

	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/optimizer"
)

// Muon is MomentUm Orthogonalized by Newton–Schulz (Jordan et al. 2024,
// "Muon: an optimizer for hidden layers in neural networks", as in
// modded-nanogpt). On each hidden-layer weight matrix (Role.Hidden(): the
// attention and MLP projections) it keeps Nesterov momentum with
// coefficient Beta, buf ← β·buf + g, u = g + β·buf (the form of
// modded-nanogpt's first Muon; the later lerp form differs only in scale,
// which the orthogonalization removes), replaces u by an approximation of
// the nearest semi-orthogonal matrix, NSSteps iterations of a quintic
// Newton–Schulz map, and steps by
// lr·sqrt(max(1, fan_out/fan_in)) along it. (modded-nanogpt writes that
// factor max(1, rows/cols)^0.5 for PyTorch's [out × in] weights; the
// matrices here are stored [in × out], so it is max(1, Cols/Rows).)
// Decoupled weight decay WD, 0 by default as in modded-nanogpt, shrinks
// those matrices.
//
// Every other tensor (embedding, positions, norm gains, head) goes to
// Adam, an AdamW with its own peak rate (NewMuon sets Adam.LR to adamLR);
// Init gives it Muon's Warmup and MinLRFrac, so both rates follow the same
// baseline.WarmupCosine schedule, and it updates those tensors exactly as
// an AdamW given only them would. A hidden role on a vector (one row or
// column) goes to Adam too.
type Muon struct {
	LR, Beta, WD, Warmup, MinLRFrac float64
	NSSteps                         int
	Adam                            AdamW

	sched  baseline.WarmupCosine
	hidden []int              // indices of the tensors Muon orthogonalizes
	buf    [][]float64        // their momentum, parallel to hidden
	rest   []int              // indices of the tensors Adam updates
	restT  []optimizer.Tensor // those tensors, refreshed each step
	ns     newtonSchulz       // workspace
	u      []float64          // the update being orthogonalized
}

// NewMuon returns Muon with β 0.95, five Newton–Schulz iterations, no
// weight decay on the hidden matrices, NewAdamW(adamLR) on the rest, and
// the default schedule.
func NewMuon(lr, adamLR float64) *Muon {
	return &Muon{LR: lr, Beta: 0.95, NSSteps: 5, Warmup: baseline.DefaultWarmup, MinLRFrac: baseline.DefaultMinLRFrac, Adam: *NewAdamW(adamLR)}
}

// orthogonalized reports whether Muon, rather than its AdamW, updates t.
func orthogonalized(t optimizer.Tensor) bool { return t.Role.Hidden() && t.Rows > 1 && t.Cols > 1 }

func (o *Muon) Init(tensors []optimizer.Tensor, steps int) {
	o.sched = baseline.WarmupCosine{Peak: o.LR, Warmup: o.Warmup, MinFrac: o.MinLRFrac}
	o.sched.Init(steps)
	o.hidden, o.rest, o.restT = nil, nil, nil
	var hiddenT []optimizer.Tensor
	size, small := 0, 0
	for i, t := range tensors {
		if !orthogonalized(t) {
			o.rest = append(o.rest, i)
			o.restT = append(o.restT, t)
			continue
		}
		o.hidden = append(o.hidden, i)
		hiddenT = append(hiddenT, t)
		size = max(size, t.Rows*t.Cols)
		small = max(small, min(t.Rows, t.Cols))
	}
	o.buf = perTensor(hiddenT)
	o.u = make([]float64, size)
	o.ns.alloc(size, small)
	o.Adam.Warmup, o.Adam.MinLRFrac = o.Warmup, o.MinLRFrac
	o.Adam.Init(o.restT, steps)
}

func (o *Muon) Step(t int, tensors []optimizer.Tensor, loss float64) {
	lr, b := o.sched.LR(t), o.Beta
	for k, i := range o.hidden {
		tn := tensors[i]
		buf, p := o.buf[k], tn.Params
		u := o.u[:len(p)]
		for j, g := range tn.Grads {
			buf[j] = float64(b*buf[j]) + g
			u[j] = g + float64(b*buf[j])
		}
		o.ns.orthogonalize(u, tn.Rows, tn.Cols, o.NSSteps)
		step := float64(lr * math.Sqrt(max(1, float64(tn.Cols)/float64(tn.Rows))))
		keep := shrink(true, lr, o.WD)
		for j := range p {
			p[j] = float64(p[j]*keep) - float64(step*u[j])
		}
	}
	for k, i := range o.rest {
		o.restT[k] = tensors[i]
	}
	o.Adam.Step(t, o.restT, loss)
}

// The quintic Newton–Schulz coefficients of modded-nanogpt, chosen to
// push every singular value in (0, 1] quickly into about [0.7, 1.2]
// rather than to converge to exactly 1.
const (
	nsA = 3.4445
	nsB = -4.7750
	nsC = 2.0315
)

// newtonSchulz is the workspace of orthogonalize.
type newtonSchulz struct {
	x, y  []float64 // the iterate, r × c with r ≤ c, and the next one
	a, aa []float64 // X Xᵀ and its square, r × r; aa then holds b·A + c·A²
}

// alloc sizes the workspace for matrices of up to size elements whose
// smaller side is at most small.
func (w *newtonSchulz) alloc(size, small int) {
	w.x, w.y = make([]float64, size), make([]float64, size)
	w.a, w.aa = make([]float64, small*small), make([]float64, small*small)
}

// orthogonalize replaces the rows × cols matrix g (row-major) by steps
// iterations of X ← a·X + (b·A + c·A²)·X, A = X Xᵀ, from X = g/(‖g‖_F +
// 1e-7). A tall matrix is transposed first, so the iteration works on the
// smaller Gram matrix, and back at the end; the norm is summed in the
// iterate's order, so orthogonalizing gᵀ gives exactly the transpose.
// Every sum runs in a fixed order and every product is rounded on its
// own, so the result is the same bits everywhere.
func (w *newtonSchulz) orthogonalize(g []float64, rows, cols, steps int) {
	r, c, tall := rows, cols, rows > cols
	x := w.x[:rows*cols]
	if tall {
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
	y, a, aa := w.y[:r*c], w.a[:r*r], w.aa[:r*r]
	for range steps {
		// A = X Xᵀ, symmetric: compute the upper triangle, mirror it.
		gramRows(a, x, r, c)
		// B = b·A + c·A², into aa. A is symmetric, so (A²)ᵢₖ = Σⱼ AᵢⱼAₖⱼ:
		// the same products in the same order as Σⱼ AᵢⱼAⱼₖ, but along
		// rows, which Go's WebAssembly runs several times faster; and A²
		// is symmetric too, so the upper triangle is mirrored.
		gramRows(aa, a, r, r)
		for i := range aa {
			aa[i] = float64(nsB*a[i]) + float64(nsC*aa[i])
		}
		// X' = a·X + B X: each entry's sum over k in order, then a·X.
		// Eight columns at a time keep their sums in locals across k, so
		// no entry of X' is stored until it is done.
		for i := range r {
			bi, yi, xi := aa[i*r:i*r+r], y[i*c:i*c+c], x[i*c:i*c+c]
			j := 0
			for ; j+8 <= c; j += 8 {
				var s0, s1, s2, s3, s4, s5, s6, s7 float64
				o := j
				for _, bik := range bi {
					xk := x[o : o+8 : o+8]
					o += c
					s0 += float64(bik * xk[0])
					s1 += float64(bik * xk[1])
					s2 += float64(bik * xk[2])
					s3 += float64(bik * xk[3])
					s4 += float64(bik * xk[4])
					s5 += float64(bik * xk[5])
					s6 += float64(bik * xk[6])
					s7 += float64(bik * xk[7])
				}
				yj := yi[j : j+8 : j+8]
				xj := xi[j : j+8 : j+8]
				yj[0] = float64(nsA*xj[0]) + s0
				yj[1] = float64(nsA*xj[1]) + s1
				yj[2] = float64(nsA*xj[2]) + s2
				yj[3] = float64(nsA*xj[3]) + s3
				yj[4] = float64(nsA*xj[4]) + s4
				yj[5] = float64(nsA*xj[5]) + s5
				yj[6] = float64(nsA*xj[6]) + s6
				yj[7] = float64(nsA*xj[7]) + s7
			}
			for ; j < c; j++ {
				s := 0.0
				for k, bik := range bi {
					s += float64(bik * x[k*c+j])
				}
				yi[j] = float64(nsA*xi[j]) + s
			}
		}
		x, y = y, x
	}
	if tall {
		for i := range rows {
			for j := range cols {
				g[i*cols+j] = x[j*rows+i]
			}
		}
	} else {
		copy(g, x)
	}
}

// gramRows sets the r × r matrix g to m mᵀ for the r × c matrix m: each
// entry a dot product of two rows summed in order, the upper triangle
// computed and mirrored. Four rows of m at a time share the loads of the
// first, and four terms are added a pass, left to right: Go's
// WebAssembly pays for every loop pass, so fewer passes cost less fuel.
func gramRows(g, m []float64, r, c int) {
	for i := range r {
		mi := m[i*c : i*c+c]
		k := i
		for ; k+4 <= r; k += 4 {
			m0 := m[k*c : k*c+len(mi)]
			m1 := m[(k+1)*c : (k+1)*c+len(mi)]
			m2 := m[(k+2)*c : (k+2)*c+len(mi)]
			m3 := m[(k+3)*c : (k+3)*c+len(mi)]
			var s0, s1, s2, s3 float64
			j := 0
			for ; j+4 <= len(mi); j += 4 {
				v0, v1, v2, v3 := mi[j], mi[j+1], mi[j+2], mi[j+3]
				s0 = s0 + float64(v0*m0[j]) + float64(v1*m0[j+1]) + float64(v2*m0[j+2]) + float64(v3*m0[j+3])
				s1 = s1 + float64(v0*m1[j]) + float64(v1*m1[j+1]) + float64(v2*m1[j+2]) + float64(v3*m1[j+3])
				s2 = s2 + float64(v0*m2[j]) + float64(v1*m2[j+1]) + float64(v2*m2[j+2]) + float64(v3*m2[j+3])
				s3 = s3 + float64(v0*m3[j]) + float64(v1*m3[j+1]) + float64(v2*m3[j+2]) + float64(v3*m3[j+3])
			}
			for ; j < len(mi); j++ {
				v := mi[j]
				s0 += float64(v * m0[j])
				s1 += float64(v * m1[j])
				s2 += float64(v * m2[j])
				s3 += float64(v * m3[j])
			}
			g[i*r+k], g[k*r+i] = s0, s0
			g[i*r+k+1], g[(k+1)*r+i] = s1, s1
			g[i*r+k+2], g[(k+2)*r+i] = s2, s2
			g[i*r+k+3], g[(k+3)*r+i] = s3, s3
		}
		for ; k < r; k++ {
			mk := m[k*c : k*c+len(mi)]
			s := 0.0
			for j, v := range mi {
				s += float64(v * mk[j])
			}
			g[i*r+k], g[k*r+i] = s, s
		}
	}
}
