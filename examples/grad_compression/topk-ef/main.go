// Command topk-ef is top-k with error feedback: what a worker's message
// leaves out is added to its next gradient instead of being lost.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.Register(&baseline.TopK{ErrorFeedback: true}) }

func main() {}
