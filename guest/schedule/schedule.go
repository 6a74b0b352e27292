// Package schedule lets a Go strategy be an Arena learning-rate schedule
// (kind lr_schedule): register a Schedule in init and build the module.
package schedule

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

var registered Schedule

// Register makes s the module's schedule. Call it from init.
func Register(s Schedule) { registered = s }

func current() Schedule {
	if registered == nil {
		panic("arena guest: no schedule registered; call schedule.Register in an init function")
	}
	return registered
}
