// Command topk-ef is top-k with error feedback: what a worker's message
// leaves out is carried, decayed by baseline.TopKEFDecay a step, into its
// next gradient instead of being lost. A flat (ABI v1) module.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() {
	gradient.Register(&baseline.TopK{ErrorFeedback: true, Decay: baseline.TopKEFDecay})
}

func main() {}
