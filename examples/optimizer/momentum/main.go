// Command momentum is SGD with heavy-ball momentum (tensoropt.MomentumT,
// with a warmup and a cosine decay) at baseline.MomentumLR as an Arena
// optimizer of ABI v2.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewMomentum(baseline.MomentumLR)) }

func main() {}
