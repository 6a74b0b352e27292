// Command adamw is AdamW (tensoropt.AdamW: nanoGPT's settings, a warmup
// and a cosine decay) at baseline.AdamWLR as an Arena optimizer of ABI v2,
// which sees the tensor table and the run's length: the optimizer
// benchmark's built-in baseline on the language model, so it scores 0.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewAdamW(baseline.AdamWLR)) }

func main() {}
