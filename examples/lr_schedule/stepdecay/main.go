// Command stepdecay starts at baseline.StepDecayPeak and multiplies the rate by 0.3 at half
// and at three quarters of the run.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() {
	schedule.Register(&baseline.StepDecay{Rate: baseline.StepDecayPeak, Factor: 0.3, Milestones: []float64{0.5, 0.75}})
}

func main() {}
