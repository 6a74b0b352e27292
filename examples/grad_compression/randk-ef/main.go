// Command randk-ef is random-k with error feedback: what a worker's
// message leaves out is added to its next gradient instead of being lost.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.Register(&baseline.RandK{ErrorFeedback: true}) }

func main() {}
