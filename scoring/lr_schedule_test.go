package scoring

import (
	"context"
	"os"
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
	constant := evaluateKind(t, eng, LRScheduleKind, `{}`, exampleModules["lr_schedule/constant"])
	if constant.Status != arena.StatusScored || *constant.Score != 0 {
		t.Fatalf("constant example: %s %v %q; want exactly 0", constant.Status, constant.Score, constant.Error)
	}
	cosine := evaluateKind(t, eng, LRScheduleKind, `{}`, exampleModules["lr_schedule/cosine"])
	if cosine.Status != arena.StatusScored || *cosine.Score <= 0 {
		t.Fatalf("cosine: %s %v %q; want a positive score", cosine.Status, cosine.Score, cosine.Error)
	}
	// A too-large constant rate diverges; cosine beats it by any measure.
	tooLarge := evaluateKind(t, eng, LRScheduleKind, `{}`, testdataModule(t, "toolarge"))
	if tooLarge.Status == arena.StatusScored && *tooLarge.Score >= *cosine.Score {
		t.Errorf("rate 1.0 scored %v, not below cosine's %v", *tooLarge.Score, *cosine.Score)
	}
	if tooLarge.FailedTasks == 0 || !strings.Contains(tooLarge.Error, "diverged") {
		t.Errorf("rate 1.0: %d failed tasks, error %q; want divergence", tooLarge.FailedTasks, tooLarge.Error)
	}

	bad := evaluateKind(t, eng, LRScheduleKind, `{"steps":20}`, testdataModule(t, "negativelr"))
	if bad.Status != arena.StatusFailed || !strings.Contains(bad.Error, "lr_step: returned -0.5 at step 3") {
		t.Errorf("negative rate: %s %q", bad.Status, bad.Error)
	}

	// An optimizer module is not a schedule: rejected by ABI.
	wrong := evaluateKind(t, eng, LRScheduleKind, `{}`, exampleModules["optimizer/signsgd"])
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
