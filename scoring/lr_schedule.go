package scoring

import (
	"encoding/json"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/sandbox"
)

// LRScheduleKind is the learning-rate schedule benchmark.
const LRScheduleKind = "lr_schedule"

// lrScheduleVersion: v2, the rosenbrock workload joins the defaults.
const lrScheduleVersion = 2

// MaxLR bounds the rates a schedule may return.
const MaxLR = 1e3

// LRScheduleParams configures the schedule benchmark: the optimizer
// benchmark's workloads, trained by SGD with momentum at the guest's rates.
type LRScheduleParams struct {
	OptimizerParams
	Momentum float64 `json:"momentum"` // heavy-ball coefficient of the host's SGD
}

type lrScheduleBench struct {
	p         LRScheduleParams
	baselines baselineMemo
}

func parseLRSchedule(raw json.RawMessage) (Benchmark, error) {
	p := LRScheduleParams{OptimizerParams: DefaultOptimizerParams(), Momentum: 0.9}
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if err := p.OptimizerParams.validate(); err != nil {
		return nil, err
	}
	if !(p.Momentum >= 0 && p.Momentum < 1) {
		return nil, badParam("momentum", "must be in [0, 1), got %v", p.Momentum)
	}
	return &lrScheduleBench{p: p}, nil
}

func (b *lrScheduleBench) Kind() string        { return LRScheduleKind }
func (b *lrScheduleBench) Version() int        { return lrScheduleVersion }
func (b *lrScheduleBench) ABI() sandbox.ABI    { return LRScheduleABI }
func (b *lrScheduleBench) Params() any         { return b.p }
func (b *lrScheduleBench) Workloads() []string { return b.p.Workloads }
func (b *lrScheduleBench) Seeds() []uint64     { return b.p.Seeds }

func (b *lrScheduleBench) FailedTaskScore() float64 { return WorstTaskScore }

// trainWith trains task with the host's momentum SGD at the rates lr
// returns, and gives the held-out loss.
func (b *lrScheduleBench) trainWith(task Task, init func(total int) error, lr func(t, total int, loss float64) (float64, error)) (float64, error) {
	opt := &baseline.Momentum{Beta: b.p.Momentum}
	total := b.p.Steps
	return b.p.train(task,
		func(t int, params, grads []float64, loss float64) error {
			rate, err := lr(t, total, loss)
			if err != nil {
				return err
			}
			opt.LR = rate
			opt.Step(t, params, grads, loss)
			return nil
		},
		func(params []float64) error {
			opt.Init(len(params))
			return init(total)
		})
}

// BaselineLoss is the held-out loss with the built-in constant schedule.
func (b *lrScheduleBench) BaselineLoss(task Task) float64 {
	return b.baselines.get(task, func() float64 {
		s := &baseline.Constant{Rate: baseline.ConstantLR}
		loss, _ := b.trainWith(task,
			func(total int) error { s.Init(total); return nil },
			func(t, total int, loss float64) (float64, error) { return s.LR(t, total, loss), nil })
		return loss
	})
}

func (b *lrScheduleBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	var sched *GuestSchedule
	loss, err := b.trainWith(task,
		func(total int) (err error) {
			sched, err = NewGuestSchedule(inst, total)
			return err
		},
		func(t, total int, loss float64) (float64, error) { return sched.LR(t, loss) })
	if err != nil {
		return arena.TaskResult{}, err
	}
	return lossResult(task, loss, b.BaselineLoss(task)), nil
}
