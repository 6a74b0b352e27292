//go:build wasm

package activation

import "github.com/arena-dev/arena/guest"

//go:wasmexport ac_compress
func acCompress(dtype, rows, cols, in, size, out, capacity int32) int32 {
	return int32(current().Compress(int(dtype), int(rows), int(cols), guest.Bytes(in, size), guest.Bytes(out, capacity)))
}

//go:wasmexport ac_decompress
func acDecompress(dtype, rows, cols, msg, size, out, outSize int32) {
	current().Decompress(int(dtype), int(rows), int(cols), guest.Bytes(msg, size), guest.Bytes(out, outSize))
}
