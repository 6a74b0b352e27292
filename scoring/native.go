package scoring

import (
	"fmt"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/guest/optimizer"
	"github.com/arena-dev/arena/guest/schedule"
)

// The native runners score Go strategies on the host, without a sandbox,
// on the same runs and against the same baselines as RunTask does a
// module. The validity suite tunes its reference strategies with them:
// the examples built from the same code score the same, bit for bit.

// NativeOptimizer scores opt on one LM task of an optimizer benchmark.
func NativeOptimizer(b Benchmark, task Task, opt optimizer.TensorOptimizer) (arena.TaskResult, error) {
	ob, ok := b.(*optimizerBench)
	if !ok || task.Workload != LMWorkload {
		return arena.TaskResult{}, fmt.Errorf("native optimizers run on the %s workload of the %s kind", LMWorkload, OptimizerKind)
	}
	curve, diverged, err := ob.lmCurve(task, func(table []arena.Tensor) (lmStepper, error) {
		return nativeStepper(opt, table, ob.p.Steps), nil
	})
	if err != nil {
		return arena.TaskResult{}, err
	}
	return targetResult(task, ob.p.Steps, curve, ob.baseline(task).curve, diverged), nil
}

// NativeSchedule scores s on one task of an lr_schedule benchmark.
func NativeSchedule(b Benchmark, task Task, s schedule.Schedule) (arena.TaskResult, error) {
	sb, ok := b.(*lrScheduleBench)
	if !ok {
		return arena.TaskResult{}, fmt.Errorf("native schedules run on the %s kind", LRScheduleKind)
	}
	if task.Workload != LMWorkload {
		loss, err := sb.trainWith(task, nativeRates(s))
		if err != nil {
			return arena.TaskResult{}, err
		}
		return lossResult(task, loss, sb.baseline(task).loss), nil
	}
	curve, diverged, err := sb.lmCurve(task, nativeRates(s))
	if err != nil {
		return arena.TaskResult{}, err
	}
	return targetResult(task, sb.p.Steps, curve, sb.baseline(task).curve, diverged), nil
}
