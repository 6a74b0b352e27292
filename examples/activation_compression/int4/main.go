// Command int4 quantizes each row of a tensor to 4-bit integers (−7..7)
// against its largest magnitude: a row of 16 bfloat16 values, 32 bytes,
// goes in 10.
package main

import (
	"github.com/arena-dev/arena/baseline/lossy"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.RegisterCodec(&lossy.Quantize{Bits: 4}) }

func main() {}
