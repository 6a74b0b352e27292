// Command sgd is plain stochastic gradient descent (tensoropt.SGDT, with a
// warmup and a cosine decay) at baseline.SGDLR as an Arena optimizer of
// ABI v2.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewSGD(baseline.SGDLR)) }

func main() {}
