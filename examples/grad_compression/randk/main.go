// Command randk sends budget/4 coordinates per worker as float32 values
// alone: a generator seeded by the step picks them, and the aggregator
// runs the same generator, so indices cost nothing to send.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.Register(&baseline.RandK{ErrorFeedback: false}) }

func main() {}
