// Package lossy holds the lossy activation codecs of the
// activation_compression kind's lossy track (ABI v2,
// guest/activation.Codec). Each stage of the pipeline runs
// its own instance, so a decoder knows only the message, the tensor's
// shape and type and the direction; every message here is a function of
// the tensor alone, so the same tensor always gives the same bytes. Like
// package baseline, it stays clear of fmt.
package lossy

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/arena-dev/arena/baseline"
)

// Element types, as the ABI passes them.
const (
	BFloat16 = baseline.BFloat16
	Float32  = baseline.Float32
)

// ElementSize is the width in bytes of an element of dtype.
func ElementSize(dtype int) int { return baseline.ElementSize(dtype) }

// element reads element i of a little-endian tensor of dtype.
func element(dtype int, b []byte, i int) float64 {
	if dtype == BFloat16 {
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
	}
	return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
}

// setElement writes v as element i of dtype: rounded to float32, then for
// bfloat16 to nearest even on the 16 bits kept.
func setElement(dtype int, b []byte, i int, v float64) {
	f := math.Float32bits(float32(v))
	if dtype == BFloat16 {
		binary.LittleEndian.PutUint16(b[2*i:], baseline.BF16Bits(f))
		return
	}
	binary.LittleEndian.PutUint32(b[4*i:], f)
}

// load reads every element of b, a tensor of dtype, into a float64
// scratch of its length.
func load(dtype int, b []byte, scratch *[]float64) []float64 {
	x := grow(scratch, len(b)/ElementSize(dtype))
	if dtype == BFloat16 {
		for i := range x {
			x[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		}
		return x
	}
	for i := range x {
		x[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return x
}

// store writes x into b as dtype elements, as setElement does.
func store(dtype int, x []float64, b []byte) {
	if dtype == BFloat16 {
		for i, v := range x {
			binary.LittleEndian.PutUint16(b[2*i:], baseline.BF16Bits(math.Float32bits(float32(v))))
		}
		return
	}
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(v)))
	}
}

func needLen(name string, msg []byte, want int) {
	if len(msg) != want {
		panic(name + ": the message has the wrong length for the tensor")
	}
}

// BF16Cast sends float32 tensors as bfloat16, rounded to nearest even;
// bfloat16 tensors go as they are.
type BF16Cast struct{}

func (BF16Cast) Encode(_, dtype, rows, cols int, in, out []byte) int {
	n := rows * cols
	if dtype == BFloat16 {
		return baseline.Identity{}.Compress(dtype, rows, cols, in, out)
	}
	if len(out) < 2*n {
		return -1
	}
	for i := range n {
		binary.LittleEndian.PutUint16(out[2*i:], baseline.BF16Bits(binary.LittleEndian.Uint32(in[4*i:])))
	}
	return 2 * n
}

func (BF16Cast) Decode(_, dtype, rows, cols int, msg, out []byte) {
	n := rows * cols
	if dtype == BFloat16 {
		baseline.Identity{}.Decompress(dtype, rows, cols, msg, out)
		return
	}
	needLen("bf16cast", msg, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(binary.LittleEndian.Uint16(msg[2*i:]))<<16)
	}
}

// Quantize is per-row absmax quantization (as LLM.int8, Dettmers et al.
// 2022, does per vector): each row is sent as its largest magnitude m,
// a bfloat16 rounded up, and each value as the nearest of the integers
// −L..L (L = 2^(Bits−1) − 1) times m/L, packed Bits to a value, low bits
// first. Bits is 2, 4 or 8; at 2 that is ternary, −m, 0 or m (TernGrad,
// Wen et al. 2017, with nearest rather than stochastic rounding), and one
// of the four codes goes unused: Midrise uses them all.
type Quantize struct {
	Bits int
	x    []float64
}

func (q *Quantize) levels() float64 { return float64(int(1)<<(q.Bits-1) - 1) }

// rowBytes is a row's size in the message: the scale and the packed values.
func (q *Quantize) rowBytes(cols int) int { return 2 + (cols*q.Bits+7)/8 }

func (q *Quantize) Encode(_, dtype, rows, cols int, in, out []byte) int {
	size := rows * q.rowBytes(cols)
	if len(out) < size {
		return -1
	}
	clear(out[:size])
	x := load(dtype, in[:rows*cols*ElementSize(dtype)], &q.x)
	L := q.levels()
	mask := uint(1)<<q.Bits - 1
	for r := range rows {
		row := out[r*q.rowBytes(cols):]
		xr := x[r*cols : r*cols+cols]
		var m float64
		for _, v := range xr {
			if a := math.Abs(v); a > m {
				m = a
			}
		}
		// Round the scale up, so no value quantizes past L.
		f := math.Float32bits(float32(m))
		sb := uint16(f >> 16)
		if f&0xffff != 0 && f < 0x7f800000 {
			sb++
		}
		binary.LittleEndian.PutUint16(row, sb)
		scale := float64(math.Float32frombits(uint32(sb) << 16))
		inv := 0.0
		if scale > 0 && scale <= math.MaxFloat32 {
			inv = L / scale
		}
		for j, v := range xr {
			k := math.Floor(float64(v*inv) + 0.5)
			switch {
			case k > L:
				k = L
			case k < -L:
				k = -L
			case k != k: // NaN input
				k = 0
			}
			code := uint(int(k)+int(L)) & mask
			bit := j * q.Bits
			row[2+bit/8] |= byte(code << (bit % 8))
		}
	}
	return size
}

func (q *Quantize) Decode(_, dtype, rows, cols int, msg, out []byte) {
	needLen("quantize", msg, rows*q.rowBytes(cols))
	L := q.levels()
	mask := uint(1)<<q.Bits - 1
	x := grow(&q.x, rows*cols)
	for r := range rows {
		row := msg[r*q.rowBytes(cols):]
		step := float64(float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(row))<<16)) / L)
		xr := x[r*cols : r*cols+cols]
		for j := range xr {
			bit := j * q.Bits
			code := uint(row[2+bit/8]>>(bit%8)) & mask
			xr[j] = float64(float64(int(code)-int(L)) * step)
		}
	}
	store(dtype, x, out[:rows*cols*ElementSize(dtype)])
}

// Midrise is per-row absmax quantization, as Quantize, on the uniform
// midrise quantizer instead (Gray & Neuhoff 1998, "Quantization"; Jayant
// & Noll 1984): every one of the 2^Bits codes is a level, ±(k + 1/2)·Δ
// for k = 0..H − 1 (H = 2^(Bits−1)), with Δ = m/(H − 1/2) so the
// outermost level is the row's largest magnitude m, and none is 0. At 2
// bits the levels are ±m/3 and ±m. A row is m as a bfloat16 rounded up,
// then the codes k + H, Bits to a value, low bits first. Bits is 2, 4 or
// 8.
type Midrise struct {
	Bits int
	x    []float64
}

// half is H, the number of levels on each side of 0.
func (q *Midrise) half() int { return 1 << (q.Bits - 1) }

func (q *Midrise) rowBytes(cols int) int { return 2 + (cols*q.Bits+7)/8 }

func (q *Midrise) Encode(_, dtype, rows, cols int, in, out []byte) int {
	size := rows * q.rowBytes(cols)
	if len(out) < size {
		return -1
	}
	clear(out[:size])
	x := load(dtype, in[:rows*cols*ElementSize(dtype)], &q.x)
	H := q.half()
	lo, hi := float64(-H), float64(H-1)
	L := float64(H) - 0.5
	for r := range rows {
		row := out[r*q.rowBytes(cols):]
		xr := x[r*cols : r*cols+cols]
		var m float64
		for _, v := range xr {
			if a := math.Abs(v); a > m {
				m = a
			}
		}
		// Round the scale up, as Quantize does, so no value lies past
		// the outermost level.
		f := math.Float32bits(float32(m))
		sb := uint16(f >> 16)
		if f&0xffff != 0 && f < 0x7f800000 {
			sb++
		}
		binary.LittleEndian.PutUint16(row, sb)
		scale := float64(math.Float32frombits(uint32(sb) << 16))
		inv := 0.0
		if scale > 0 && scale <= math.MaxFloat32 {
			inv = L / scale
		}
		for j, v := range xr {
			// In steps, the levels are k + 1/2: the nearest is ⌊v/Δ⌋.
			k := math.Floor(float64(v * inv))
			switch {
			case k > hi:
				k = hi
			case k < lo:
				k = lo
			case k != k: // NaN input
				k = 0
			}
			code := uint(int(k) + H)
			bit := j * q.Bits
			row[2+bit/8] |= byte(code << (bit % 8))
		}
	}
	return size
}

func (q *Midrise) Decode(_, dtype, rows, cols int, msg, out []byte) {
	needLen("midrise", msg, rows*q.rowBytes(cols))
	H := q.half()
	L := float64(H) - 0.5
	mask := uint(1)<<q.Bits - 1
	x := grow(&q.x, rows*cols)
	for r := range rows {
		row := msg[r*q.rowBytes(cols):]
		step := float64(float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(row))<<16)) / L)
		xr := x[r*cols : r*cols+cols]
		for j := range xr {
			bit := j * q.Bits
			code := uint(row[2+bit/8]>>(bit%8)) & mask
			xr[j] = float64((float64(int(code)-H) + 0.5) * step)
		}
	}
	store(dtype, x, out[:rows*cols*ElementSize(dtype)])
}

// indexBits is how many bits an index below cols takes.
func indexBits(cols int) int {
	b := 1
	for 1<<b < cols {
		b++
	}
	return b
}

// putBits writes v's low n bits at bit offset pos of b, low bits first.
func putBits(b []byte, pos, n int, v uint32) {
	for i := range n {
		if v>>i&1 != 0 {
			b[(pos+i)/8] |= 1 << ((pos + i) % 8)
		}
	}
}

func getBits(b []byte, pos, n int) uint32 {
	var v uint32
	for i := range n {
		v |= uint32(b[(pos+i)/8]>>((pos+i)%8)&1) << i
	}
	return v
}

// TopK keeps each row's largest magnitudes, the fraction Keep of them
// (at least one; ties to the lower index), and zeroes the rest, as top-k sparsification of activations does (Bian
// et al. 2023 compare it with quantization and learned bottlenecks). A
// row is its kept indices, ascending, packed in ⌈log2 cols⌉ bits each, then
// the kept values in the tensor's dtype.
type TopK struct {
	Keep float64
	idx  []int
	x    []float64
}

// kept is how many of n a fraction keep keeps: the nearest count, at
// least 1.
func kept(keep float64, n int) int { return max(1, min(n, int(math.Floor(keep*float64(n)+0.5)))) }

func (c *TopK) keep(cols int) int { return kept(c.Keep, cols) }

func (c *TopK) rowBytes(dtype, cols int) int {
	k := c.keep(cols)
	return (k*indexBits(cols)+7)/8 + k*ElementSize(dtype)
}

func (c *TopK) Encode(_, dtype, rows, cols int, in, out []byte) int {
	k, rb, ib, es := c.keep(cols), c.rowBytes(dtype, cols), indexBits(cols), ElementSize(dtype)
	if len(out) < rows*rb {
		return -1
	}
	clear(out[:rows*rb])
	x := load(dtype, in[:rows*cols*es], &c.x)
	for r := range rows {
		base := r * cols
		xr := x[base : base+cols]
		for j := range xr {
			xr[j] = math.Abs(xr[j])
		}
		// Insertion into the k best so far, by magnitude, earlier index
		// first on ties: no sort, no closure, cheap for short rows.
		c.idx = c.idx[:0]
		for j, a := range xr {
			n := len(c.idx)
			if n == k && !(a > xr[c.idx[n-1]]) {
				continue
			}
			if n < k {
				c.idx = append(c.idx, j)
			} else {
				n--
			}
			for n > 0 && a > xr[c.idx[n-1]] {
				c.idx[n] = c.idx[n-1]
				n--
			}
			c.idx[n] = j
		}
		kept := c.idx[:k]
		slices.Sort(kept)
		row := out[r*rb:]
		vals := row[(k*ib+7)/8:]
		for i, j := range kept {
			putBits(row, i*ib, ib, uint32(j))
			copy(vals[i*es:(i+1)*es], in[(base+j)*es:(base+j+1)*es])
		}
	}
	return rows * rb
}

func (c *TopK) Decode(_, dtype, rows, cols int, msg, out []byte) {
	k, rb, ib, es := c.keep(cols), c.rowBytes(dtype, cols), indexBits(cols), ElementSize(dtype)
	needLen("topk", msg, rows*rb)
	clear(out)
	for r := range rows {
		row := msg[r*rb:]
		vals := row[(k*ib+7)/8:]
		for i := range k {
			j := int(getBits(row, i*ib, ib))
			if j >= cols {
				panic("topk: an index past the row")
			}
			copy(out[(r*cols+j)*es:(r*cols+j+1)*es], vals[i*es:(i+1)*es])
		}
	}
}

// LowRank projects the tensor's rows onto its top principal
// directions (uncentered PCA, as PowerSGD, Vogels et al. 2019, finds a
// low-rank factor: orthogonal iteration on XᵀX from a fixed start), fitted
// to each tensor on the fly. The basis travels in the message, so the
// decoder derives nothing itself: k × cols basis values, then each row's
// k coefficients, all in the tensor's dtype, where k is the fraction
// Keep of cols (at least 1). The coefficients
// are taken against the basis as sent, so the decoder rebuilds exactly
// what the encoder meant.
type LowRank struct {
	Keep        float64
	gram, basis []float64
	next, x, c  []float64
}

// powerIterations is enough for the small tensors here to settle.
const powerIterations = 12

// gramRows bounds the rows the basis is fitted on.
const gramRows = 512

func (c *LowRank) rank(cols int) int { return kept(c.Keep, cols) }

func (c *LowRank) size(dtype, rows, cols int) int {
	return (c.rank(cols)*cols + rows*c.rank(cols)) * ElementSize(dtype)
}

func (c *LowRank) Encode(_, dtype, rows, cols int, in, out []byte) int {
	k := c.rank(cols)
	size := c.size(dtype, rows, cols)
	if len(out) < size {
		return -1
	}
	x := load(dtype, in[:rows*cols*ElementSize(dtype)], &c.x)
	// XᵀX from at most gramRows rows, evenly strided: the basis is an
	// estimate either way, and the rest of the work is per row.
	g := grow(&c.gram, cols*cols)
	clear(g)
	stride := (rows + gramRows - 1) / gramRows
	for r := 0; r < rows; r += stride {
		xr := x[r*cols : r*cols+cols]
		for a, xa := range xr {
			if xa != 0 {
				axpy(g[a*cols:a*cols+cols], xa, xr)
			}
		}
	}
	v, w := grow(&c.basis, k*cols), grow(&c.next, k*cols)
	seed := uint32(2463534242)
	for i := range v {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		v[i] = float64(seed)/4294967296 - 0.5
	}
	orthonormalize(v, k, cols)
	for range powerIterations {
		for i := range k {
			vi, wi := v[i*cols:i*cols+cols], w[i*cols:i*cols+cols]
			for a := range cols {
				wi[a] = dot(g[a*cols:a*cols+cols], vi)
			}
		}
		v, w = w, v
		orthonormalize(v, k, cols)
	}
	// The basis as sent, then each row's coefficients against it.
	es := ElementSize(dtype)
	store(dtype, v, out[:k*cols*es])
	v = load(dtype, out[:k*cols*es], &c.next)
	coef := grow(&c.c, rows*k)
	for r := range rows {
		xr := x[r*cols : r*cols+cols]
		for i := range k {
			coef[r*k+i] = dot(xr, v[i*cols:i*cols+cols])
		}
	}
	store(dtype, coef, out[k*cols*es:size])
	return size
}

func (c *LowRank) Decode(_, dtype, rows, cols int, msg, out []byte) {
	k := c.rank(cols)
	needLen("lowrank", msg, c.size(dtype, rows, cols))
	es := ElementSize(dtype)
	v := load(dtype, msg[:k*cols*es], &c.basis)
	coef := load(dtype, msg[k*cols*es:], &c.c)
	x := grow(&c.x, rows*cols)
	for r := range rows {
		xr := x[r*cols : r*cols+cols]
		clear(xr)
		for i, a := range coef[r*k : r*k+k] {
			axpy(xr, a, v[i*cols:i*cols+cols])
		}
	}
	store(dtype, x, out[:rows*cols*es])
}

// orthonormalize makes v's k rows of n orthonormal by modified
// Gram–Schmidt; a row that vanishes stays zero.
func orthonormalize(v []float64, k, n int) {
	for i := range k {
		vi := v[i*n : i*n+n]
		for j := range i {
			vj := v[j*n : j*n+n]
			var d float64
			for t := range vi {
				d += float64(vi[t] * vj[t])
			}
			for t := range vi {
				vi[t] -= float64(d * vj[t])
			}
		}
		var norm float64
		for _, x := range vi {
			norm += float64(x * x)
		}
		if norm < 1e-300 {
			clear(vi)
			continue
		}
		inv := 1 / math.Sqrt(norm)
		for t := range vi {
			vi[t] = float64(vi[t] * inv)
		}
	}
}

// dot is a·b, four terms at a time (fewer loop tests: each costs fuel).
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(a); j += 4 {
		s0 += float64(a[j] * b[j])
		s1 += float64(a[j+1] * b[j+1])
		s2 += float64(a[j+2] * b[j+2])
		s3 += float64(a[j+3] * b[j+3])
	}
	for ; j < len(a); j++ {
		s0 += float64(a[j] * b[j])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds s·x to y, four at a time.
func axpy(y []float64, s float64, x []float64) {
	x = x[:len(y)]
	j := 0
	for ; j+4 <= len(y); j += 4 {
		y[j] += float64(s * x[j])
		y[j+1] += float64(s * x[j+1])
		y[j+2] += float64(s * x[j+2])
		y[j+3] += float64(s * x[j+3])
	}
	for ; j < len(y); j++ {
		y[j] += float64(s * x[j])
	}
}

func grow(s *[]float64, n int) []float64 {
	if cap(*s) < n {
		*s = make([]float64, n)
	}
	return (*s)[:n]
}
