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

// NewPowerSGD is the shipped example's settings: rank 4, classic error
// feedback (decay 1), factor values at 4 bits (so rank 4 fits a 32×
// budget where rank 2 at 8 bits would), and two subspace iterations a
// step, which cost the peer compute but no bytes. Every one of the eight
// peers' factorizations and the aggregator's eight reconstructions costs
// O(n·rank·iterations) multiply-adds a step: about 50 billion fuel a
// default task, which the kind's default budget holds (docs/tuning.md).
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

// Factors are stored column by column: column j of an n × r factor f is
// f[j·n : (j+1)·n], so every inner loop below runs over contiguous
// memory, which a Go-built guest pays for least.

// orthonormalize makes the r columns of p (rows × r) orthonormal by
// modified Gram–Schmidt; a column that vanishes stays 0.
func orthonormalize(p []float64, rows, r int) {
	for j := range r {
		pj := p[j*rows : (j+1)*rows]
		for k := range j {
			pk := p[k*rows : (k+1)*rows][:len(pj)]
			var dot float64
			for i, x := range pj {
				dot += float64(x * pk[i])
			}
			for i := range pj {
				pj[i] -= float64(dot * pk[i])
			}
		}
		var norm float64
		for _, x := range pj {
			norm += float64(x * x)
		}
		norm = math.Sqrt(norm)
		if norm < 1e-30 {
			clear(pj)
			continue
		}
		for i := range pj {
			pj[i] /= norm
		}
	}
}

// quantizeColumns writes the r columns of f (n × r) as r float32 scales
// then n·r codes of bits bits, column by column, into out (zeroed), and
// leaves in deq what they decode to.
func quantizeColumns(f []float64, n, r, bits int, out []byte, deq []float64) []byte {
	scales := out[:r*scaleBytes]
	for j := range r {
		putScale(scales[j*scaleBytes:], absMaxScale(f[j*n:(j+1)*n]))
	}
	vals := out[r*scaleBytes : r*scaleBytes+codeBytes(n*r, bits)]
	for i := range n * r {
		s := getScale(scales[i/n*scaleBytes:])
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
		s := getScale(scales[i/n*scaleBytes:])
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
		lowRank(m, rows, cols, r, pq, qq, true)
	}
	return c.size
}

// dot is Σ a[k]·b[k] over a's length (b at least as long), in four
// running sums, k mod 4, added pairwise at the end: unrolled, the loop
// costs a Go-built guest about half the fuel a multiply-add.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(a); k += 4 {
		a4, b4 := a[k:k+4:k+4], b[k:k+4:k+4]
		s0 += float64(a4[0] * b4[0])
		s1 += float64(a4[1] * b4[1])
		s2 += float64(a4[2] * b4[2])
		s3 += float64(a4[3] * b4[3])
	}
	for ; k < len(a); k++ {
		s0 += float64(a[k] * b[k])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds s·x to y, unrolled as dot is.
func axpy(y []float64, s float64, x []float64) {
	y = y[:len(x)]
	k := 0
	for ; k+4 <= len(x); k += 4 {
		x4, y4 := x[k:k+4:k+4], y[k:k+4:k+4]
		y4[0] += float64(s * x4[0])
		y4[1] += float64(s * x4[1])
		y4[2] += float64(s * x4[2])
		y4[3] += float64(s * x4[3])
	}
	for ; k < len(x); k++ {
		y[k] += float64(s * x[k])
	}
}

// iterate is one step of subspace iteration on m (rows × cols) from q
// (cols × r): P = M·Q into p, orthonormalized, then Q = Mᵀ·P̂ into q.
func (c *PowerSGD) iterate(m []float64, rows, cols int, q, p []float64) {
	r := c.rank
	for j := range r {
		qj, pj := q[j*cols:(j+1)*cols], p[j*rows:(j+1)*rows]
		for i := range pj {
			pj[i] = dot(m[i*cols:(i+1)*cols], qj)
		}
	}
	orthonormalize(p, rows, r)
	clear(q[:cols*r])
	for j := range r {
		qj, pj := q[j*cols:(j+1)*cols], p[j*rows:(j+1)*rows]
		for i, a := range pj {
			axpy(qj, a, m[i*cols:(i+1)*cols])
		}
	}
}

// lowRank sets (sub false) or subtracts from (sub true) o, rows × cols,
// the product P·Qᵀ of p (rows × r) and q (cols × r).
func lowRank(o []float64, rows, cols, r int, p, q []float64, sub bool) {
	if !sub {
		clear(o[:rows*cols])
	}
	for i := range rows {
		row := o[i*cols : (i+1)*cols]
		for j := range r {
			a := p[j*rows+i]
			if sub {
				a = -a
			}
			axpy(row, a, q[j*cols:(j+1)*cols])
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
		lowRank(o, rows, cols, r, pq, qq, false)
	}
}
