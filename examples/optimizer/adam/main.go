// Command adam is Adam as an Arena optimizer: the same code, with the same
// learning rate, as the optimizer benchmark's built-in baseline, so it
// scores exactly 0.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.Register(baseline.NewAdam(baseline.AdamLR)) }

func main() {}
