// Command lowrank projects each tensor's rows onto its top principal
// directions, 3/4 of the width, fitted to the tensor on the fly and sent
// with it: at the default width of 16, 12 coefficients of 2 bytes a row,
// 24 bytes of 32 (plus the basis, 384 bytes a tensor), about the bytes
// the topk example sends.
package main

import (
	"github.com/arena-dev/arena/baseline/lossy"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.RegisterCodec(&lossy.LowRank{Keep: 3.0 / 4}) }

func main() {}
