// Command lion is Lion (tensoropt.Lion, with decoupled weight decay, a
// warmup and a cosine decay) at baseline.LionLR as an Arena optimizer of
// ABI v2.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewLion(baseline.LionLR)) }

func main() {}
