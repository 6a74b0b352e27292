//go:build wasm

package gradient

import "github.com/arena-dev/arena/guest"

//go:wasmexport gc_init
func gcInit(worker, workers, n, budget int32) {
	initFlat(int(worker), int(workers), int(n), int(budget))
}

//go:wasmexport gc_init2
func gcInit2(worker, workers, n, budget, table, count, steps int32) {
	if count < 1 || count > guest.MaxTensors {
		panic("arena guest: gc_init2: a table of 1 to 4096 tensors")
	}
	initTable(int(worker), int(workers), int(n), int(budget), guest.Bytes(table, count*guest.TableEntryBytes), int(count), int(steps))
}

//go:wasmexport gc_compress
func gcCompress(t, grad, n, out, budget int32) int32 {
	return int32(current().Compress(int(t), guest.Float64s(grad, n), guest.Bytes(out, budget)))
}

//go:wasmexport gc_decompress
func gcDecompress(worker, t, msg, size, out, n int32) {
	current().Decompress(int(worker), int(t), guest.Bytes(msg, size), guest.Float64s(out, n))
}
