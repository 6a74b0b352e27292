package baseline

// This package stays clear of fmt, which would add 400 KB and its
// start-up to every example module.
import "encoding/binary"

// Each activation coder here implements guest/activation.Coder. A task
// compresses in one instance and decompresses in another, so the
// decompressor knows only the message and the tensor's shape and type.

// Activation tensor element types, as the ABI passes them.
const (
	BFloat16 = 0
	Float32  = 1
)

// ElementSize is the width in bytes of an element of dtype.
func ElementSize(dtype int) int {
	if dtype == BFloat16 {
		return 2
	}
	return 4
}

// BF16Bits rounds float32 bits to bfloat16's, to nearest even; NaN stays
// NaN.
func BF16Bits(f uint32) uint16 {
	if f&0x7fffffff > 0x7f800000 {
		return uint16(f>>16) | 0x40
	}
	return uint16((f + 0x7fff + (f >> 16 & 1)) >> 16)
}

// Identity stores the tensor as it is: ratio 1, the activation_compression
// benchmark's built-in baseline.
type Identity struct{}

func (Identity) Compress(_, _, _ int, in, out []byte) int {
	if len(out) < len(in) {
		return -1
	}
	return copy(out, in)
}

func (Identity) Decompress(_, _, _ int, msg, out []byte) {
	if len(msg) != len(out) {
		panic("identity: the message and the tensor differ in size")
	}
	copy(out, msg)
}

// BytePlane regroups a tensor's bytes by their place inside an element
// (every element's low byte, then every next byte, ...) and codes each
// plane with its own Huffman code. The sign-and-exponent bytes of
// activations take few values and code in a few bits; the mantissa bytes
// are close to random and cost about eight. Plain Go without allocation
// per byte, so it is cheap in fuel.
type BytePlane struct {
	buf   []byte
	table [1 << maxCodeLen]uint16 // decoding: symbol | length<<8
}

// maxCodeLen bounds code lengths, so a code fits the decoding table and a
// length fits a nibble of the message's header.
const maxCodeLen = 12

// The message's first byte says how the rest is stored.
const (
	storedRaw     = 0
	storedHuffman = 1
)

func (c *BytePlane) Compress(dtype, _, _ int, in, out []byte) int {
	width := ElementSize(dtype)
	n := len(in) / width
	// Worst case: 1 + per plane a 132-byte header and maxCodeLen bits a byte.
	if need := 1 + width*(132+(n*maxCodeLen+7)/8); cap(c.buf) < need {
		c.buf = make([]byte, need)
	}
	buf := c.buf[:cap(c.buf)]
	buf[0] = storedHuffman
	w := 1
	for b := 0; b < width; b++ {
		var freq [256]int
		for i := b; i < len(in); i += width {
			freq[in[i]]++
		}
		var lengths [256]uint8
		codeLengths(&freq, &lengths)
		var codes [256]uint16
		canonicalCodes(&lengths, &codes)
		for s := 0; s < 256; s += 2 {
			buf[w] = lengths[s] | lengths[s+1]<<4
			w++
		}
		sizeAt := w
		w += 4
		var acc uint64
		nbits := uint(0)
		for i := b; i < len(in); i += width {
			sym := in[i]
			l := uint(lengths[sym]) & 63
			acc = acc<<l | uint64(codes[sym])
			nbits += l
			if nbits >= 32 {
				nbits -= 32
				binary.BigEndian.PutUint32(buf[w:], uint32(acc>>nbits))
				w += 4
			}
		}
		for nbits >= 8 {
			nbits -= 8
			buf[w] = byte(acc >> nbits)
			w++
		}
		if nbits > 0 {
			buf[w] = byte(acc << (8 - nbits))
			w++
		}
		binary.LittleEndian.PutUint32(buf[sizeAt:], uint32(w-sizeAt-4))
	}
	if w < 1+len(in) && w <= len(out) {
		return copy(out, buf[:w])
	}
	if 1+len(in) > len(out) {
		return -1
	}
	out[0] = storedRaw
	return 1 + copy(out[1:], in)
}

func (c *BytePlane) Decompress(dtype, _, _ int, msg, out []byte) {
	if len(msg) == 0 {
		panic("byteplane: empty message")
	}
	if msg[0] == storedRaw {
		copy(out, msg[1:])
		return
	}
	width := ElementSize(dtype)
	n := len(out) / width
	pos := 1
	for b := 0; b < width; b++ {
		if pos+128+4 > len(msg) {
			panic("byteplane: truncated message")
		}
		var lengths [256]uint8
		for s := 0; s < 256; s += 2 {
			lengths[s], lengths[s+1] = msg[pos]&15, msg[pos]>>4
			pos++
		}
		var codes [256]uint16
		canonicalCodes(&lengths, &codes)
		clear(c.table[:])
		for s, l := range lengths {
			if l == 0 {
				continue
			}
			first := int(codes[s]) << (maxCodeLen - l)
			for k := first; k < first+1<<(maxCodeLen-l); k++ {
				c.table[k] = uint16(s) | uint16(l)<<8
			}
		}
		size := int(binary.LittleEndian.Uint32(msg[pos:]))
		pos += 4
		if size > len(msg)-pos {
			panic("byteplane: truncated plane")
		}
		bits := msg[pos : pos+size]
		pos += size
		var acc uint64
		nbits, next := uint(0), 0
		for i := b; i < n*width; i += width {
			if nbits < maxCodeLen {
				// Refill: four bytes at once while they last.
				if next+4 <= len(bits) {
					acc = acc<<32 | uint64(binary.BigEndian.Uint32(bits[next:]))
					next += 4
					nbits += 32
				} else {
					for nbits <= 56 && next < len(bits) {
						acc = acc<<8 | uint64(bits[next])
						next++
						nbits += 8
					}
				}
			}
			var peek uint64
			if nbits >= maxCodeLen {
				peek = acc >> (nbits - maxCodeLen)
			} else {
				peek = acc << (maxCodeLen - nbits)
			}
			e := c.table[peek&(1<<maxCodeLen-1)]
			l := uint(e >> 8)
			if l == 0 || l > nbits {
				panic("byteplane: corrupt plane")
			}
			nbits -= l
			out[i] = byte(e)
		}
	}
}

// codeLengths sets Huffman code lengths for the symbols of freq, none
// longer than maxCodeLen: while the tree is too deep, halve the counts
// (keeping every used symbol) and build it again.
func codeLengths(freq *[256]int, lengths *[256]uint8) {
	f := *freq
	for huffmanLengths(&f, lengths) > maxCodeLen {
		for s := range f {
			f[s] = (f[s] + 1) / 2
		}
	}
}

// huffmanLengths builds a Huffman tree by the two-queue method and
// returns its depth. Ties go to the lower symbol, so it is deterministic.
func huffmanLengths(f *[256]int, lengths *[256]uint8) int {
	*lengths = [256]uint8{}
	var syms []int
	for s, w := range f {
		if w == 0 {
			continue
		}
		// Insertion keeps syms sorted by (count, symbol).
		syms = append(syms, s)
		for j := len(syms) - 1; j > 0 && f[syms[j-1]] > w; j-- {
			syms[j], syms[j-1] = syms[j-1], syms[j]
		}
	}
	k := len(syms)
	switch k {
	case 0:
		return 0
	case 1:
		lengths[syms[0]] = 1
		return 1
	}
	weight := make([]int, 0, 2*k-1)
	parent := make([]int, 2*k-1)
	for _, s := range syms {
		weight = append(weight, f[s])
	}
	leaf, inner := 0, k
	pick := func() int {
		if leaf < k && (inner >= len(weight) || weight[leaf] <= weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for len(weight) < 2*k-1 {
		a, b := pick(), pick()
		parent[a], parent[b] = len(weight), len(weight)
		weight = append(weight, weight[a]+weight[b])
	}
	depth := make([]int, 2*k-1)
	deepest := 0
	for i := 2*k - 3; i >= 0; i-- { // the root, 2k-2, has depth 0
		depth[i] = depth[parent[i]] + 1
		if i < k {
			lengths[syms[i]] = uint8(depth[i])
			deepest = max(deepest, depth[i])
		}
	}
	return deepest
}

// canonicalCodes assigns canonical Huffman codes: shorter codes first,
// and within a length, in symbol order.
func canonicalCodes(lengths *[256]uint8, codes *[256]uint16) {
	code := 0
	for l := uint8(1); l <= maxCodeLen; l++ {
		for s, sl := range lengths {
			if sl == l {
				codes[s] = uint16(code)
				code++
			}
		}
		code <<= 1
	}
}
