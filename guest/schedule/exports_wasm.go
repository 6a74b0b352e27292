//go:build wasm

package schedule

import _ "github.com/arena-dev/arena/guest" // exports arena_alloc

//go:wasmexport lr_init
func lrInit(total int32) { current().Init(int(total)) }

//go:wasmexport lr_step
func lrStep(t, total int32, loss float64) float64 { return current().LR(int(t), int(total), loss) }
