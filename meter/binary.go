package meter

import (
	"errors"
	"fmt"
	"math"
)

// errTruncated reports input that ends inside a construct.
var errTruncated = errors.New("unexpected end of module")

// reader walks a WebAssembly binary. Methods record the first error and
// return zero values after it, so callers check err once per construct.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.fail(errTruncated)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// leb reads an unsigned LEB128 of at most bits bits.
func (r *reader) leb(bits uint) uint64 {
	var v uint64
	var shift uint
	for {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift >= bits {
			r.fail(fmt.Errorf("integer too long at offset %d", r.off-1))
			return 0
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) u32() uint32 {
	v := r.leb(35)
	if v > math.MaxUint32 {
		r.fail(fmt.Errorf("integer overflows u32 at offset %d", r.off))
	}
	return uint32(v)
}

// sleb skips a signed LEB128 of at most bits bits (i32/i64 constants and
// block type indices); its value is never needed.
func (r *reader) sleb(bits uint) { r.leb(bits + 6) }

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

// limits reads table or memory limits and returns min and max (max < 0: none).
func (r *reader) limits() (min uint32, max int64) {
	flags := r.byte()
	min = r.u32()
	max = -1
	switch flags {
	case 0x00:
	case 0x01:
		max = int64(r.u32())
	default:
		r.fail(fmt.Errorf("unsupported limits flags %#x: shared memories (the threads proposal) and 64-bit memories are not supported", flags))
	}
	return min, max
}

// appendULEB and appendSLEB encode LEB128 integers.
func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
