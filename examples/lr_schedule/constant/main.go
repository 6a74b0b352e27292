// Command constant is a fixed learning rate: the lr_schedule benchmark's
// built-in baseline, so it scores exactly 0.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() { schedule.Register(&baseline.Constant{Rate: baseline.ConstantLR}) }

func main() {}
