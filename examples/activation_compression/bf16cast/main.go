// Command bf16cast sends float32 tensors as bfloat16, rounded to nearest
// even: half the bytes, about three significant digits kept. On the
// default bfloat16 wire it sends tensors as they are, like identity.
package main

import (
	"github.com/arena-dev/arena/baseline/lossy"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.RegisterCodec(lossy.BF16Cast{}) }

func main() {}
