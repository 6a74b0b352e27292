// Command constant is a fixed learning rate: the lr_schedule benchmark's
// built-in baseline on the language model (baseline.LMConstantLR), so it
// scores exactly 0 there.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/schedule"
)

func init() { schedule.Register(&baseline.Constant{Rate: baseline.LMConstantLR}) }

func main() {}
