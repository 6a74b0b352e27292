// Command adagrad is Adagrad (tensoropt.Adagrad, with a warmup and a cosine
// decay) at baseline.AdagradLR as an Arena optimizer of ABI v2.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewAdagrad(baseline.AdagradLR)) }

func main() {}
