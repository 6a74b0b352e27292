// Command int2 quantizes each row of a tensor to 2 bits a value against
// its largest magnitude m, on the uniform midrise levels ±m/3 and ±m: a
// row of 16 bfloat16 values, 32 bytes, goes in 6.
package main

import (
	"github.com/arena-dev/arena/baseline/lossy"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.RegisterCodec(&lossy.Midrise{Bits: 2}) }

func main() {}
