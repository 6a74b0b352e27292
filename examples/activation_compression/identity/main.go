// Command identity stores each tensor as it is. It is the
// activation_compression benchmark's built-in baseline: ratio 1.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.Register(baseline.Identity{}) }

func main() {}
