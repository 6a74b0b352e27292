//go:build wasm

package optimizer

import "github.com/arena-dev/arena/guest"

//go:wasmexport opt_init
func optInit(n int32) { current().Init(int(n)) }

//go:wasmexport opt_step
func optStep(t, params, grads, n int32, loss float64) {
	current().Step(int(t), guest.Float64s(params, n), guest.Float64s(grads, n), loss)
}
