package scoring

import (
	"encoding/json"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
	"github.com/arena-dev/arena/sandbox"
)

// LRScheduleKind is the learning-rate schedule benchmark.
const LRScheduleKind = "lr_schedule"

// lrScheduleVersion: v2, the rosenbrock workload joins the defaults.
// v3: the transformer LM, trained by the host's AdamW at the schedule's
// rates and scored by time to target against the best constant rate, is
// the default; the old workloads remain as controls.
// v4: the baseline's constant rate is 0.01, the best constant on the
// vocab-512 default model (docs/tuning.md), where it was 0.02.
const lrScheduleVersion = 4

// MaxLR bounds the rates a schedule may return.
const MaxLR = 1e3

// LRScheduleParams configures the schedule benchmark: the optimizer
// benchmark's workloads, trained at the guest's rates by the host's AdamW
// (the LM) or SGD with momentum (the controls).
type LRScheduleParams struct {
	OptimizerParams
	Momentum float64 `json:"momentum"` // the controls: heavy-ball coefficient of the host's SGD
}

type lrScheduleBench struct {
	p         LRScheduleParams
	baselines memo[Task, baselineRun]
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

// rates is a learning-rate schedule seen from the host.
type rates struct {
	init func(total int) error
	lr   func(t, total int, loss float64) (float64, error)
}

// trainWith trains a control task with the host's momentum SGD at the
// rates r gives, and returns the held-out loss.
func (b *lrScheduleBench) trainWith(task Task, r rates) (float64, error) {
	opt := &baseline.Momentum{Beta: b.p.Momentum}
	total := b.p.Steps
	return b.p.train(task,
		func(t int, params, grads []float64, loss float64) error {
			rate, err := r.lr(t, total, loss)
			if err != nil {
				return err
			}
			opt.LR = rate
			opt.Step(t, params, grads, loss)
			return nil
		},
		func(params []float64) error {
			opt.Init(len(params))
			return r.init(total)
		})
}

// lmCurve trains the task's LM with the host's AdamW at the rates r
// gives; see curveRun for what it returns.
func (b *lrScheduleBench) lmCurve(task Task, r rates) ([]arena.CurvePoint, bool, error) {
	run, err := newLMRun(b.p.LMParams, b.p.Steps, task.Seed)
	if err != nil {
		return nil, false, err
	}
	total := b.p.Steps
	ts := hostTensors(run.model.Config().Table())
	opt := tensoropt.NewAdamW(0)
	opt.Init(ts, total)
	if err := r.init(total); err != nil {
		return nil, false, err
	}
	return run.curveRun(func(t int, params, grads []float64, loss float64) error {
		rate, err := r.lr(t, total, loss)
		if err != nil {
			return err
		}
		optimizer.Slices(ts, params, grads)
		opt.StepLR(t, ts, rate)
		return nil
	})
}

// nativeRates runs a schedule natively.
func nativeRates(s interface {
	Init(total int)
	LR(t, total int, loss float64) float64
}) rates {
	return rates{
		init: func(total int) error { s.Init(total); return nil },
		lr:   func(t, total int, loss float64) (float64, error) { return s.LR(t, total, loss), nil },
	}
}

// baseline is the built-in constant schedule's run of task: its held-out
// curve on the LM, its final loss on a control.
func (b *lrScheduleBench) baseline(task Task) baselineRun {
	return b.baselines.get(task, func() baselineRun { return b.runBaseline(task) })
}

func (b *lrScheduleBench) WarmBaseline(task Task) bool {
	return b.baselines.warm(task, func() baselineRun { return b.runBaseline(task) })
}

func (b *lrScheduleBench) BaselineKnown(task Task) bool { return b.baselines.known(task) }

func (b *lrScheduleBench) runBaseline(task Task) baselineRun {
	if task.Workload == LMWorkload {
		curve, _, _ := b.lmCurve(task, nativeRates(&baseline.Constant{Rate: baseline.LMConstantLR}))
		return baselineRun{curve: curve}
	}
	loss, _ := b.trainWith(task, nativeRates(&baseline.Constant{Rate: baseline.ConstantLR}))
	return baselineRun{loss: loss}
}

func (b *lrScheduleBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	var sched *GuestSchedule
	guest := rates{
		init: func(total int) (err error) {
			sched, err = NewGuestSchedule(inst, total)
			return err
		},
		lr: func(t, total int, loss float64) (float64, error) { return sched.LR(t, loss) },
	}
	if task.Workload == LMWorkload {
		curve, diverged, err := b.lmCurve(task, guest)
		if err != nil {
			return arena.TaskResult{}, err
		}
		return targetResult(task, b.p.Steps, curve, b.baseline(task).curve, diverged), nil
	}
	loss, err := b.trainWith(task, guest)
	if err != nil {
		return arena.TaskResult{}, err
	}
	return lossResult(task, loss, b.baseline(task).loss), nil
}

var _ BaselineWarmer = (*lrScheduleBench)(nil)
