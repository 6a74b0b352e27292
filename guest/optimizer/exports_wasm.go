//go:build wasm

package optimizer

import "github.com/arena-dev/arena/guest"

//go:wasmexport opt_init
func optInit(n int32) { current().init(int(n)) }

//go:wasmexport opt_init2
func optInit2(n, table, count, steps int32) {
	if count < 1 || count > maxTensors {
		panic("arena guest: opt_init2: a table of 1 to 4096 tensors")
	}
	current().init2(int(n), guest.Bytes(table, count*entryBytes), int(count), int(steps))
}

//go:wasmexport opt_step
func optStep(t, params, grads, n int32, loss float64) {
	r := current()
	if r.flat != nil {
		r.flat.Step(int(t), guest.Float64s(params, n), guest.Float64s(grads, n), loss)
		return
	}
	r.step(int(t), params, grads, n, loss, guest.Float64s)
}
