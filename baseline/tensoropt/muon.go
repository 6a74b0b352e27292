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
		for i := range r {
			xi := x[i*c : i*c+c]
			for k := i; k < r; k++ {
				xk := x[k*c : k*c+len(xi)] // the same length: no bounds checks below
				s := 0.0
				for j, v := range xi {
					s += float64(v * xk[j])
				}
				a[i*r+k], a[k*r+i] = s, s
			}
		}
		// B = b·A + c·A², into aa. A is symmetric, so (A²)ᵢₖ = Σⱼ AᵢⱼAₖⱼ:
		// the same products in the same order as Σⱼ AᵢⱼAⱼₖ, but along
		// rows, which Go's WebAssembly runs several times faster; and A²
		// is symmetric too, so the upper triangle is mirrored.
		for i := range r {
			ai := a[i*r : i*r+r]
			for k := i; k < r; k++ {
				ak := a[k*r : k*r+len(ai)]
				s := 0.0
				for j, v := range ai {
					s += float64(v * ak[j])
				}
				aa[i*r+k], aa[k*r+i] = s, s
			}
		}
		for i := range aa {
			aa[i] = float64(nsB*a[i]) + float64(nsC*aa[i])
		}
		// X' = a·X + B X: each entry's sum over k in order, then a·X.
		for i := range r {
			yi := y[i*c : i*c+c]
			clear(yi)
			for k := range r {
				bik, xk := aa[i*r+k], x[k*c:k*c+len(yi)]
				for j, v := range xk {
					yi[j] += float64(bik * v)
				}
			}
			xi := x[i*c : i*c+len(yi)]
			for j, v := range xi {
				yi[j] = float64(nsA*v) + yi[j]
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
