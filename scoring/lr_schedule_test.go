package scoring

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

func evaluateKind(t *testing.T, eng *sandbox.Engine, kind, params string, module []byte) arena.Evaluation {
	t.Helper()
	b, err := New(kind, []byte(params))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), eng, b, arena.DefaultLimits(), module, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func testdataModule(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLRSchedulesRankSensibly(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())

	// The constant example is the baseline's own schedule, compiled to wasm.
	constant := evaluateKind(t, eng, LRScheduleKind, tiny(""), exampleModules["lr_schedule/constant"])
	if constant.Status != arena.StatusScored || *constant.Score != 0 {
		t.Fatalf("constant example: %s %s %q; want exactly 0", constant.Status, fmtScore(constant.Score), constant.Error)
	}
	cosine := evaluateKind(t, eng, LRScheduleKind, tiny(""), exampleModules["lr_schedule/cosine"])
	// Whether it beats the constant on a model this small says nothing (the
	// validity suite checks that on the default workload); it must score,
	// with a curve of its own.
	if cosine.Status != arena.StatusScored || *cosine.Score == 0 || slices.Equal(cosine.Tasks[0].Training.Curve, cosine.Tasks[0].Training.BaselineCurve) {
		t.Fatalf("cosine: %s %s %q; want a score of its own", cosine.Status, fmtScore(cosine.Score), cosine.Error)
	}
	// A rate of 1.0 is far too large for AdamW on the LM: it never
	// reaches the target.
	tooLarge := evaluateKind(t, eng, LRScheduleKind, tiny(""), testdataModule(t, "toolarge"))
	if tooLarge.Status == arena.StatusScored && (*tooLarge.Score >= 0 || tooLarge.Tasks[0].Training.StepsToTarget != nil) {
		t.Errorf("rate 1.0 scored %v, reaching the target in %v steps", *tooLarge.Score, tooLarge.Tasks[0].Training.StepsToTarget)
	}
	// On a control, momentum SGD at rate 1.0 diverges.
	diverged := evaluateKind(t, eng, LRScheduleKind, `{"workloads":["mlp"]}`, testdataModule(t, "toolarge"))
	if diverged.FailedTasks == 0 || !strings.Contains(diverged.Error, "diverged") {
		t.Errorf("rate 1.0 on the mlp: %d failed tasks, error %q; want divergence", diverged.FailedTasks, diverged.Error)
	}

	bad := evaluateKind(t, eng, LRScheduleKind, tiny(`"steps":20`), testdataModule(t, "negativelr"))
	if bad.Status != arena.StatusFailed || !strings.Contains(bad.Error, "lr_step: returned -0.5 at step 3") {
		t.Errorf("negative rate: %s %q", bad.Status, bad.Error)
	}

	// An optimizer module is not a schedule: rejected by ABI.
	wrong := evaluateKind(t, eng, LRScheduleKind, tiny(""), exampleModules["optimizer/signsgd"])
	if wrong.Status != arena.StatusRejected || !strings.Contains(wrong.Error, "missing export lr_init") {
		t.Errorf("optimizer as schedule: %s %q", wrong.Status, wrong.Error)
	}
}

func TestLRScheduleParams(t *testing.T) {
	t.Parallel()
	for params, field := range map[string]string{
		`{"momentum":1}`:    "params.momentum",
		`{"momentum":-0.1}`: "params.momentum",
		`{"steps":0}`:       "params.steps",
		`{"lr":0.1}`:        "params",
	} {
		if _, err := New(LRScheduleKind, []byte(params)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", params, err, field)
		}
	}
	if _, err := New(LRScheduleKind, []byte(`{"momentum":0.5,"workloads":["mlp"],"seeds":[9]}`)); err != nil {
		t.Errorf("valid params refused: %v", err)
	}
}
