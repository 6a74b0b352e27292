// Command linear warms up linearly over the first 5% of the run to
// baseline.LinearDecayPeak, then decays linearly to zero (Defazio et al.
// 2023).
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() { schedule.Register(baseline.NewLinearDecay(baseline.LinearDecayPeak)) }

func main() {}
