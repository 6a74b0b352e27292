// Command topk sends each worker's budget/8 largest-magnitude gradient
// coordinates as (index, float32 value) pairs, and drops the rest. It is
// the grad_compression benchmark's built-in baseline, so it scores
// exactly 0.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.Register(&baseline.TopK{ErrorFeedback: false}) }

func main() {}
