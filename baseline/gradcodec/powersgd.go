package gradcodec

import (
	"math"
	"strconv"

	"github.com/arena-dev/arena/guest/gradient"
)

// PowerSGD is Vogels, Karimireddy and Jaggi's 2019 "PowerSGD: practical
// low-rank gradient compression for distributed optimization", with
// error feedback: each matrix M (gradient plus residual) is approximated
// by one step of subspace iteration warm-started from the last step's Q,
//
//	P ← M·Q,  P̂ ← orthonormalize(P) (Gram–Schmidt),  Q ← Mᵀ·P̂,  M ≈ P̂·Qᵀ,
//
// and the worker keeps M − P̂·Qᵀ as its residual. Vectors (norm gains),
// and matrices too thin for a rank-r factorization to save anything, go
// whole. Every value travels as an 8-bit logarithmic code (logquant.go)
// against an absmax float32 scale: one per factor column, one per vector.
//
// One difference from the paper: there the workers all-reduce P before
// orthonormalizing and then Q, two rounds of communication a step; a
// peer here sends one message, so each sends its own P̂ and Q, and the
// aggregator's average is of K rank-r approximations.
//
// The rank is the largest up to Rank whose messages fit the budget; Init
// panics when not even rank 1 fits.
type PowerSGD struct {
	Rank int     // at most this rank a matrix
	Beta float64 // error-feedback decay: ef ← Beta·ef + g; 1 is the paper's
	// Bits a factor value: 8, logarithmic codes (logquant.go), or 4,
	// linear codes of ±7 steps of the column's absmax / 7, two a byte.
	// Vectors are always sent at 8.
	Bits int
	// Iterations of subspace iteration a step, at least 1 (the paper's
	// 1; more cost only the peer's compute, no bytes).
	Iterations int

	rank    int
	tensors []gradient.Tensor
	size    int
	ef      []float64
	q       [][]float64 // each matrix's Q, cols × rank, warm-started
	p       []float64   // scratch: P, rows × rank
	qq      []float64   // scratch: quantized Q and P, dequantized
	pq      []float64
	vec     []float64 // scratch: a whole tensor, dequantized
}

// NewPowerSGD is the shipped example's settings: rank 4 at 4 bits a
// factor value, two iterations a step, classic error feedback (decay 1).
// At the default 32× budget of the LM, rank 4 at 4 bits fits where rank
// 2 at 8 bits would, and ends nearer the dense run (docs/tuning.md).
func NewPowerSGD() *PowerSGD { return &PowerSGD{Rank: 4, Beta: 1, Bits: 4, Iterations: 2} }

// factored reports whether t is sent as rank-r factors rather than whole.
func factored(t gradient.Tensor, r int) bool {
	return matrix(t) && r*(t.Rows+t.Cols) < t.Rows*t.Cols
}

// codeBytes is the bytes count codes of bits bits take.
func codeBytes(count, bits int) int {
	if bits == 4 {
		return (count + 1) / 2
	}
	return count
}

// powerBytes is a message's size at rank r.
func powerBytes(tensors []gradient.Tensor, r, bits int) int {
	size := 0
	for _, t := range tensors {
		if factored(t, r) {
			size += 2*r*scaleBytes + codeBytes(r*t.Rows, bits) + codeBytes(r*t.Cols, bits)
		} else {
			size += scaleBytes + t.Size()
		}
	}
	return size
}

func (c *PowerSGD) Init(_, _ int, tensors []gradient.Tensor, budget, _ int) {
	if c.Bits != 8 && c.Bits != 4 {
		panic("gradcodec: PowerSGD sends factors at 8 or 4 bits, not " + strconv.Itoa(c.Bits))
	}
	c.rank = 0
	for r := max(1, c.Rank); r >= 1; r-- {
		if powerBytes(tensors, r, c.Bits) <= budget {
			c.rank = r
			break
		}
	}
	if c.rank == 0 {
		panic("gradcodec: PowerSGD at rank 1 needs " + strconv.Itoa(powerBytes(tensors, 1, c.Bits)) + " bytes a message; the budget is " + strconv.Itoa(budget))
	}
	c.tensors = tensors
	c.size = powerBytes(tensors, c.rank, c.Bits)
	n, widest, whole := 0, 0, 0
	for _, t := range tensors {
		n += t.Size()
		widest = max(widest, t.Rows, t.Cols)
		if !factored(t, c.rank) {
			whole = max(whole, t.Size())
		}
	}
	c.vec = make([]float64, whole)
	c.ef = make([]float64, n)
	c.q = make([][]float64, len(tensors))
	for i, t := range tensors {
		if !factored(t, c.rank) {
			continue
		}
		// Every worker starts from the same Q, drawn from the tensor's
		// place in the table: uniform in [-1, 1).
		c.q[i] = make([]float64, t.Cols*c.rank)
		state := uint64(i)*0x2545f4914f6cdd1d + 0x9e3779b97f4a7c15
		for j := range c.q[i] {
			c.q[i][j] = float64(splitmix(&state)>>11)/(1<<52) - 1
		}
	}
	c.p = make([]float64, widest*c.rank)
	c.pq = make([]float64, widest*c.rank)
	c.qq = make([]float64, widest*c.rank)
}

// orthonormalize makes the r columns of p (rows × r, row-major)
// orthonormal by modified Gram–Schmidt; a column that vanishes stays 0.
func orthonormalize(p []float64, rows, r int) {
	for j := range r {
		for k := range j {
			var dot float64
			for i := range rows {
				dot += float64(p[i*r+j] * p[i*r+k])
			}
			for i := range rows {
				p[i*r+j] -= float64(dot * p[i*r+k])
			}
		}
		var norm float64
		for i := range rows {
			norm += float64(p[i*r+j] * p[i*r+j])
		}
		norm = math.Sqrt(norm)
		if norm < 1e-30 {
			for i := range rows {
				p[i*r+j] = 0
			}
			continue
		}
		for i := range rows {
			p[i*r+j] /= norm
		}
	}
}

// quantizeColumns writes the r columns of f (n × r) as r float32 scales
// then n·r codes of bits bits, row-major, into out (zeroed), and leaves in
// deq what they decode to.
func quantizeColumns(f []float64, n, r, bits int, out []byte, deq []float64) []byte {
	scales := out[:r*scaleBytes]
	for j := range r {
		var m float64
		for i := range n {
			m = max(m, math.Abs(f[i*r+j]))
		}
		s := float32(m)
		if float64(s) < m {
			s = math.Nextafter32(s, float32(math.Inf(1)))
		}
		putScale(scales[j*scaleBytes:], s)
	}
	vals := out[r*scaleBytes : r*scaleBytes+codeBytes(n*r, bits)]
	for i := range n * r {
		s := getScale(scales[i%r*scaleBytes:])
		if bits == 8 {
			q := logEncode(f[i], s)
			vals[i] = q
			deq[i] = logDecode(q, s)
			continue
		}
		q := nibbleEncode(f[i], s)
		vals[i/2] |= q << (i % 2 * 4)
		deq[i] = nibbleDecode(q, s)
	}
	return out[r*scaleBytes+len(vals):]
}

// dequantizeColumns reads what quantizeColumns wrote into deq (n × r).
func dequantizeColumns(in []byte, n, r, bits int, deq []float64) []byte {
	scales, vals := in[:r*scaleBytes], in[r*scaleBytes:r*scaleBytes+codeBytes(n*r, bits)]
	for i := range n * r {
		s := getScale(scales[i%r*scaleBytes:])
		if bits == 8 {
			deq[i] = logDecode(vals[i], s)
		} else {
			deq[i] = nibbleDecode(vals[i/2]>>(i%2*4)&0xf, s)
		}
	}
	return in[r*scaleBytes+len(vals):]
}

// nibbleEncode is v as one of ±7 linear steps of scale/7, rounded to
// nearest, stored as step+8 (1 to 15; 8 is zero).
func nibbleEncode(v float64, scale float32) byte {
	if scale == 0 {
		return 8
	}
	q := math.Round(float64(v*7) / float64(scale))
	return byte(8 + max(-7, min(7, q)))
}

// nibbleDecode is what nibbleEncode's code b stands for.
func nibbleDecode(b byte, scale float32) float64 {
	return float64(float64(int(b)-8)*float64(scale)) / 7
}

// vector codes a whole tensor v: a float32 scale and 8-bit codes.
func vector(v []float64, out []byte, deq []float64) []byte {
	s := absMaxScale(v)
	putScale(out, s)
	for i, x := range v {
		q := logEncode(x, s)
		out[scaleBytes+i] = q
		deq[i] = logDecode(q, s)
	}
	return out[scaleBytes+len(v):]
}

func (c *PowerSGD) Compress(_ int, grad []float64, out []byte) int {
	for i, g := range grad {
		c.ef[i] = float64(c.Beta*c.ef[i]) + g
	}
	rest, r := out[:c.size], c.rank
	clear(rest)
	for ti, t := range c.tensors {
		m := c.ef[t.Offset : t.Offset+t.Size()]
		if !factored(t, r) {
			deq := c.vec[:t.Size()]
			rest = vector(m, rest, deq)
			for i, v := range deq {
				m[i] -= v
			}
			continue
		}
		rows, cols, q, p := t.Rows, t.Cols, c.q[ti], c.p[:t.Rows*r]
		for it := range max(1, c.Iterations) {
			if it > 0 {
				orthonormalize(q, cols, r)
			}
			c.iterate(m, rows, cols, q, p)
		}
		pq, qq := c.pq[:rows*r], c.qq[:cols*r]
		rest = quantizeColumns(p, rows, r, c.Bits, rest, pq)
		rest = quantizeColumns(q, cols, r, c.Bits, rest, qq)
		// The residual: M minus what the aggregator will decode.
		for i := range rows {
			for k := range cols {
				var s float64
				for j := range r {
					s += float64(pq[i*r+j] * qq[k*r+j])
				}
				m[i*cols+k] -= s
			}
		}
	}
	return c.size
}

// iterate is one step of subspace iteration on m (rows × cols) from q
// (cols × r): P = M·Q into p, orthonormalized, then Q = Mᵀ·P̂ into q.
func (c *PowerSGD) iterate(m []float64, rows, cols int, q, p []float64) {
	r := c.rank
	for i := range rows {
		for j := range r {
			var s float64
			for k := range cols {
				s += float64(m[i*cols+k] * q[k*r+j])
			}
			p[i*r+j] = s
		}
	}
	orthonormalize(p, rows, r)
	for k := range cols {
		for j := range r {
			var s float64
			for i := range rows {
				s += float64(m[i*cols+k] * p[i*r+j])
			}
			q[k*r+j] = s
		}
	}
}

func (c *PowerSGD) Decompress(_, _ int, msg []byte, out []float64) {
	clear(out)
	if len(msg) < c.size {
		return // not a message of this layout: nothing to add
	}
	rest, r := msg, c.rank
	for _, t := range c.tensors {
		o := out[t.Offset : t.Offset+t.Size()]
		if !factored(t, r) {
			s := getScale(rest)
			for i := range o {
				o[i] = logDecode(rest[scaleBytes+i], s)
			}
			rest = rest[scaleBytes+len(o):]
			continue
		}
		rows, cols := t.Rows, t.Cols
		pq, qq := c.pq[:rows*r], c.qq[:cols*r]
		rest = dequantizeColumns(rest, rows, r, c.Bits, pq)
		rest = dequantizeColumns(rest, cols, r, c.Bits, qq)
		for i := range rows {
			for k := range cols {
				var s float64
				for j := range r {
					s += float64(pq[i*r+j] * qq[k*r+j])
				}
				o[i*cols+k] = s
			}
		}
	}
}
