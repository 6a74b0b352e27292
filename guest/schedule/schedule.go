// Package schedule lets a Go strategy be an Arena learning-rate schedule
// (kind lr_schedule): register a Schedule in init and build the module.
package schedule

import "github.com/arena-dev/arena/guest"

// Schedule gives the learning rate for each step.
type Schedule interface {
	// Init is called once per task with the number of steps.
	Init(total int)
	// LR returns the learning rate for step t of total, given the loss of
	// the current minibatch.
	LR(t, total int, loss float64) float64
}

// Func adapts a stateless schedule function to Schedule.
type Func func(t, total int, loss float64) float64

func (f Func) Init(int)                              {}
func (f Func) LR(t, total int, loss float64) float64 { return f(t, total, loss) }

var registered guest.Slot[Schedule]

// Register makes the module's schedule v. Call it from init.
func Register(v Schedule) { registered.Set(v) }

func current() Schedule { return registered.Get("schedule.Register") }
