// Command topk keeps the largest 5/8 of each row's values with their
// packed indices and zeroes the rest: at the default width of 16, 10
// values of 2 bytes and 10 indices of 4 bits, 25 bytes of 32, about the
// bytes the lowrank example sends.
package main

import (
	"github.com/arena-dev/arena/baseline/lossy"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.RegisterCodec(&lossy.TopK{Keep: 5.0 / 8}) }

func main() {}
