// Command signum is Signum, the sign of the momentum (tensoropt.Signum,
// with decoupled weight decay, a warmup and a cosine decay), at
// baseline.SignumLR as an Arena optimizer of ABI v2.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewSignum(baseline.SignumLR)) }

func main() {}
