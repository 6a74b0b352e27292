// Command templar is the grad_compression benchmark's built-in baseline
// on the language model, gradcodec.Templar (Templar's 64×64 block top-k
// with packed 12-bit indices, 8-bit values and error feedback), compiled
// to a module: it scores exactly 0.
package main

import (
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.RegisterTensors(gradcodec.NewTemplar()) }

func main() {}
