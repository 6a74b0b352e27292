//go:build wasm

package activation

import "github.com/arena-dev/arena/guest"

// The module exports ABI v2 alone: the host passes the direction.

//go:wasmexport ac_encode
func acEncode(direction, dtype, rows, cols, in, size, out, capacity int32) int32 {
	return int32(current().Encode(int(direction), int(dtype), int(rows), int(cols), guest.Bytes(in, size), guest.Bytes(out, capacity)))
}

//go:wasmexport ac_decode
func acDecode(direction, dtype, rows, cols, msg, size, out, outSize int32) {
	current().Decode(int(direction), int(dtype), int(rows), int(cols), guest.Bytes(msg, size), guest.Bytes(out, outSize))
}
