// Command int8 quantizes each row of a tensor to 8-bit integers against
// its largest magnitude (per-row absmax, as LLM.int8 does per vector): a
// row of 16 bfloat16 values, 32 bytes, goes in 18.
package main

import (
	"github.com/arena-dev/arena/baseline/lossy"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.RegisterCodec(&lossy.Quantize{Bits: 8}) }

func main() {}
