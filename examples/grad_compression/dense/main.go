// Command dense sends every gradient coordinate, as float64 (float32 or
// bfloat16 when only 4 or 2 bytes a coordinate fit): at a budget of 8
// bytes a parameter it trains exactly as the uncompressed run does, the
// sanity check of the aggregation path. The default budget is 64 times
// smaller, so it fails there, saying so.
package main

import (
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.RegisterTensors(&gradcodec.Dense{}) }

func main() {}
