package scoring

import (
	"math"
	"strconv"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/detmath"
)

// Time to target, as AlgoPerf measures training speed (Dahl et al. 2023,
// "Benchmarking Neural Network Training Algorithms"): a task's target is
// the baseline's final held-out loss, and the score is
//
//	ln(baseline steps to target / submission steps to target)
//
// so 0 is the baseline, +0.01 is about 1% fewer steps and ln 2 is twice as
// fast. Steps to target are interpolated linearly between evaluation
// points, so scores are not quantized to eval_every.
//
// A run that never reaches the target gets a continuous score below the
// one it would have had reaching it on its last step: its steps are
// extrapolated from its final loss along the baseline's power law. The
// baseline's loss falls as L(t) ∝ t^-α, with α measured from its curve
// between the middle and the end of the run, so a run ending at loss L
// would need about steps·(L/target)^(1/α) steps. Closer runs score higher,
// and the score meets the reached case's at L = target.

// minAlpha bounds the extrapolation's exponent from below, so a baseline
// whose curve flattens cannot make a small miss arbitrarily costly.
const minAlpha = 0.05

// stepsToTarget is where curve first reaches target, interpolated between
// evaluation points; ok is false when it never does.
func stepsToTarget(curve []arena.CurvePoint, target float64) (steps float64, ok bool) {
	for i, pt := range curve {
		if pt.Loss > target {
			continue
		}
		if i == 0 {
			return math.Max(1, float64(pt.Step)), true
		}
		prev := curve[i-1]
		frac := (prev.Loss - target) / (prev.Loss - pt.Loss)
		s := float64(prev.Step) + float64(frac*float64(pt.Step-prev.Step))
		return math.Max(1, s), true
	}
	return 0, false
}

// lossAt is the curve's loss at step t, interpolated linearly.
func lossAt(curve []arena.CurvePoint, t float64) float64 {
	for i := 1; i < len(curve); i++ {
		if float64(curve[i].Step) >= t {
			a, b := curve[i-1], curve[i]
			frac := (t - float64(a.Step)) / float64(b.Step-a.Step)
			return a.Loss + float64(frac*(b.Loss-a.Loss))
		}
	}
	return curve[len(curve)-1].Loss
}

// targetResult scores a run's held-out curve against the baseline's. The
// baseline curve must reach the run's last step.
func targetResult(task Task, steps int, curve, base []arena.CurvePoint, diverged bool) arena.TaskResult {
	target := base[len(base)-1].Loss
	baseSteps, _ := stepsToTarget(base, target) // the baseline's curve ends on the target
	tr := arena.TaskResult{Workload: task.Workload, Seed: task.Seed, BaselineLoss: target,
		Training: &arena.Training{Steps: steps, Target: target, BaselineStepsToTarget: baseSteps,
			Curve: curve, BaselineCurve: base}}
	if diverged || len(curve) == 0 {
		tr.Score = WorstTaskScore
		tr.Error = "diverged: the loss stopped being finite"
		if len(curve) > 0 {
			tr.Error += " after step " + strconv.Itoa(curve[len(curve)-1].Step)
		}
		return tr
	}
	final := curve[len(curve)-1].Loss
	tr.Loss = &final
	var s float64
	if reached, ok := stepsToTarget(curve, target); ok {
		tr.Training.StepsToTarget = &reached
		s = detmath.Log(baseSteps) - detmath.Log(reached)
	} else {
		alpha := math.Max(minAlpha, (detmath.Log(lossAt(base, float64(steps)/2))-detmath.Log(target))/math.Ln2)
		// ln(estimated) = ln(steps) + ln(final/target)/α.
		lnEst := detmath.Log(float64(steps)) + (detmath.Log(final)-detmath.Log(target))/alpha
		est := detmath.Exp(lnEst)
		tr.Training.EstimatedSteps = &est
		s = detmath.Log(baseSteps) - lnEst
	}
	tr.Score = math.Max(WorstTaskScore, math.Min(BestTaskScore, s))
	return tr
}
