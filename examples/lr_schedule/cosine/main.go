// Command cosine warms up over the first 5% of the steps to a peak of
// baseline.CosinePeak, then decays along a half cosine to 0.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() {
	schedule.Register(&baseline.Cosine{Peak: baseline.CosinePeak, Warmup: baseline.DefaultWarmup})
}

func main() {}
