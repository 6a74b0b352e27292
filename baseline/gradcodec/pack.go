package gradcodec

// Indices within a block travel as 12-bit unsigned integers, packed
// little-endian into a bit stream: index j takes bits 12j to 12j+11, so
// two indices fill three bytes. A block has at most 64×64 = 4096
// elements, which 12 bits address exactly.
const indexBits = 12

// packedBytes is how many bytes k packed indices take.
func packedBytes(k int) int { return (k*indexBits + 7) / 8 }

// pack12 writes the low 12 bits of each index into out, which must hold
// packedBytes(len(idx)) zeroed bytes. Index j starts at bit 12j, a byte
// boundary (j even) or the middle of one (j odd), so it spans two bytes.
func pack12(idx []uint16, out []byte) {
	for j, v := range idx {
		b, shift := j*indexBits/8, uint(j%2*4)
		w := uint16(v&0xfff) << shift
		out[b] |= byte(w)
		out[b+1] |= byte(w >> 8)
	}
}

// unpack12 reads len(idx) indices from in, which may come from anyone: an
// index the stream does not hold in full reads as 0xffff, outside every
// block.
func unpack12(in []byte, idx []uint16) {
	for j := range idx {
		b, shift := j*indexBits/8, uint(j%2*4)
		if b+1 >= len(in) {
			idx[j] = 0xffff
			continue
		}
		w := uint16(in[b]) | uint16(in[b+1])<<8
		idx[j] = w >> shift & 0xfff
	}
}
