// Command randk-ef is random-k with error feedback: what a worker's
// message leaves out is carried, decayed by baseline.RandKEFDecay a step,
// into its next gradient instead of being lost. A flat (ABI v1) module.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() {
	gradient.Register(&baseline.RandK{ErrorFeedback: true, Decay: baseline.RandKEFDecay})
}

func main() {}
