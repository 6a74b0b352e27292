package scoring

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/sandbox"
)

// OptimizerKind is the update-rule benchmark (ABI v1).
const OptimizerKind = "optimizer"

// optimizerVersion changes whenever the optimizer benchmark's behaviour
// does, so stored scores say which rules produced them.
// v2: the rosenbrock workload joins the defaults.
const optimizerVersion = 2

// OptimizerParams configures the optimizer benchmark.
type OptimizerParams struct {
	Workloads []string `json:"workloads"` // default: all of quadratic, logistic, mlp, rosenbrock
	Seeds     []uint64 `json:"seeds"`     // one task per workload and seed
	Steps     int      `json:"steps"`     // optimizer steps per task
	Dim       int      `json:"dim"`       // quadratic: dimension
	Condition float64  `json:"condition"` // quadratic: largest/smallest eigenvalue
	Noise     float64  `json:"noise"`     // quadratic: gradient noise standard deviation
	Batch     int      `json:"batch"`     // logistic, mlp: minibatch size
}

// DefaultOptimizerParams are the parameters a challenge gets by default.
func DefaultOptimizerParams() OptimizerParams {
	return OptimizerParams{
		Workloads: slices.Clone(workloadNames),
		Seeds:     []uint64{1, 2, 3},
		Steps:     300,
		Dim:       32,
		Condition: 1000,
		Noise:     0.01,
		Batch:     32,
	}
}

type optimizerBench struct {
	p         OptimizerParams
	baselines baselineMemo
}

func parseOptimizer(raw json.RawMessage) (Benchmark, error) {
	p := DefaultOptimizerParams()
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &optimizerBench{p: p}, nil
}

func (p OptimizerParams) validate() error {
	if err := validateNames("workloads", p.Workloads, workloadNames); err != nil {
		return err
	}
	if err := validateSeeds(p.Seeds); err != nil {
		return err
	}
	if p.Steps < 1 || p.Steps > 100_000 {
		return badParam("steps", "must be between 1 and 100000, got %d", p.Steps)
	}
	if p.Dim < 2 || p.Dim > 1024 {
		return badParam("dim", "must be between 2 and 1024, got %d", p.Dim)
	}
	if !(p.Condition >= 1 && p.Condition <= 1e8) {
		return badParam("condition", "must be between 1 and 1e8, got %v", p.Condition)
	}
	if !(p.Noise >= 0 && p.Noise <= 10) {
		return badParam("noise", "must be between 0 and 10, got %v", p.Noise)
	}
	if p.Batch < 1 || p.Batch > 1024 {
		return badParam("batch", "must be between 1 and 1024, got %d", p.Batch)
	}
	return nil
}

func (b *optimizerBench) Kind() string     { return OptimizerKind }
func (b *optimizerBench) Version() int     { return optimizerVersion }
func (b *optimizerBench) ABI() sandbox.ABI { return OptimizerABI }
func (b *optimizerBench) Params() any      { return b.p }

func (b *optimizerBench) FailedTaskScore() float64 { return WorstTaskScore }

func (b *optimizerBench) Workloads() []string { return b.p.Workloads }
func (b *optimizerBench) Seeds() []uint64     { return b.p.Seeds }

func (p OptimizerParams) config() workloadConfig {
	return workloadConfig{Dim: p.Dim, Condition: p.Condition, Noise: p.Noise, Batch: p.Batch}
}

// train runs p.Steps steps on a fresh workload and returns the held-out
// loss. A minibatch loss that is not finite ends training: the run diverged.
func (p OptimizerParams) train(task Task, step func(t int, params, grads []float64, loss float64) error, init func(params []float64) error) (float64, error) {
	w, err := newWorkload(task.Workload, task.Seed, p.config())
	if err != nil {
		return 0, err
	}
	n := w.dim()
	params, grads := make([]float64, n), make([]float64, n)
	w.init(params)
	if err := init(params); err != nil {
		return 0, err
	}
	for t := range p.Steps {
		loss := w.grad(t, params, grads)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return loss, nil
		}
		if err := step(t, params, grads, loss); err != nil {
			return 0, err
		}
	}
	return w.heldOut(params), nil
}

// BaselineLoss is the held-out loss of the built-in Adam baseline on task.
func (b *optimizerBench) BaselineLoss(task Task) float64 {
	return b.baselines.get(task, func() float64 {
		opt := baseline.NewAdam(baseline.AdamLR)
		loss, _ := b.p.train(task,
			func(t int, params, grads []float64, loss float64) error { opt.Step(t, params, grads, loss); return nil },
			func(params []float64) error { opt.Init(len(params)); return nil })
		return loss
	})
}

func (b *optimizerBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	var opt *GuestOptimizer
	loss, err := b.p.train(task,
		func(t int, params, grads []float64, loss float64) error { return opt.Step(t, params, grads, loss) },
		func(params []float64) (err error) {
			opt, err = NewGuestOptimizer(inst, len(params))
			return err
		})
	if err != nil {
		return arena.TaskResult{}, err
	}
	return lossResult(task, loss, b.BaselineLoss(task)), nil
}
