// Command wsd is warmup-stable-decay (MiniCPM; Hägele et al. 2024): a 5%
// linear warmup to baseline.WSDPeak, constant, then a linear cooldown to
// zero over the last 20% of the run.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() { schedule.Register(baseline.NewWSD(baseline.WSDPeak)) }

func main() {}
