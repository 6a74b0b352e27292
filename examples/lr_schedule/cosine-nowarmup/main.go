// Command cosine-nowarmup is a half cosine from a high peak,
// baseline.CosineNoWarmupPeak, down to 0, with no warmup: the control that
// shows what warmup is worth.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() { schedule.Register(&baseline.Cosine{Peak: baseline.CosineNoWarmupPeak}) }

func main() {}
