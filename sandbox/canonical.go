package sandbox

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Canonical returns the module as it executes: the header and every
// non-custom section in order, each with its id and its size (re-encoded
// as the shortest LEB128), and the custom sections (names, producers,
// debug info, anything else) dropped. Custom sections never run, so two
// modules with the same canonical form are the same program: appending a
// custom section or renaming functions in the name section does not make
// a copy new. Only the section framing is checked here; what is in the
// sections is validation's business. Canonical of a canonical module is
// the module itself.
func Canonical(wasm []byte) ([]byte, error) {
	if len(wasm) < len(wasmMagic) || !bytes.Equal(wasm[:len(wasmMagic)], wasmMagic) {
		return nil, errors.New("not a WebAssembly 1.0 binary")
	}
	out := make([]byte, len(wasmMagic), len(wasm))
	copy(out, wasmMagic)
	for off := len(wasmMagic); off < len(wasm); {
		id := wasm[off]
		size, n, err := sectionSize(wasm[off+1:])
		if err != nil {
			return nil, fmt.Errorf("section %d at byte %d: %w", id, off, err)
		}
		start := off + 1 + n
		if size > uint64(len(wasm)-start) {
			return nil, fmt.Errorf("section %d at byte %d: its %d bytes run past the end of the module", id, off, size)
		}
		end := start + int(size)
		if id != 0 {
			out = append(out, id)
			out = appendULEB(out, size)
			out = append(out, wasm[start:end]...)
		}
		off = end
	}
	return out, nil
}

// CanonicalSHA256 is the SHA-256 of Canonical(wasm): the identity of what
// a module executes. Submissions' duplicate rule and the compile cache key
// on it; downloads and receipts keep the SHA-256 of the bytes as uploaded.
func CanonicalSHA256(wasm []byte) ([32]byte, error) {
	c, err := Canonical(wasm)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(c), nil
}

// sectionSize reads a section's size: an unsigned LEB128 of at most 32
// bits in at most 5 bytes, as the binary format requires.
func sectionSize(b []byte) (v uint64, n int, err error) {
	for shift := uint(0); ; shift += 7 {
		if n == len(b) {
			return 0, 0, errors.New("truncated section header")
		}
		c := b[n]
		n++
		if n == 5 && c > 0x0F {
			return 0, 0, errors.New("section size does not fit in 32 bits")
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			return v, n, nil
		}
	}
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
