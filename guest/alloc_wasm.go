//go:build wasm

package guest

import "unsafe"

// buffers keeps every block handed to the host alive (Go's collector does
// not move objects, so the addresses stay valid) and lets the exports turn
// the host's pointers back into slices without pointer arithmetic.
var buffers = map[uint32][]float64{}

//go:wasmexport arena_alloc
func arenaAlloc(size int32) int32 {
	if size < 0 {
		panic("arena guest: negative allocation size")
	}
	s := make([]float64, max(1, (int(size)+7)/8)) // 8-aligned
	p := uint32(uintptr(unsafe.Pointer(&s[0])))
	buffers[p] = s
	return int32(p)
}

// Float64s returns the n float64s at ptr, which must come from arena_alloc.
func Float64s(ptr, n int32) []float64 {
	s, ok := buffers[uint32(ptr)]
	if !ok || n < 0 || int(n) > len(s) {
		panic("arena guest: the host passed a buffer arena_alloc did not return")
	}
	return s[:n]
}

// Bytes returns the n bytes at ptr, which must come from arena_alloc.
func Bytes(ptr, n int32) []byte {
	s, ok := buffers[uint32(ptr)]
	if !ok || n < 0 || int(n) > len(s)*8 {
		panic("arena guest: the host passed a buffer arena_alloc did not return")
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*8)[:n]
}
