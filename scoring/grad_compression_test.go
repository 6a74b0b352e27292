package scoring

import (
	"context"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

func TestGradCompressorsRankSensibly(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	scores := map[string]float64{}
	for _, name := range []string{"topk", "topk-ef", "randk", "randk-ef"} {
		ev := evaluateKind(t, eng, GradCompressionKind, `{}`, exampleModules["grad_compression/"+name])
		if ev.Status != arena.StatusScored || ev.FailedTasks != 0 {
			t.Fatalf("%s: %s, %d failed tasks, %q", name, ev.Status, ev.FailedTasks, ev.Error)
		}
		scores[name] = *ev.Score
		t.Logf("%s: %.4f", name, *ev.Score)
		if name != "topk" {
			continue
		}
		// The top-k example is the baseline's own code, compiled to wasm.
		for _, task := range ev.Tasks {
			if *task.Loss != task.BaselineLoss {
				t.Errorf("%s seed %d: wasm top-k loss %v != native baseline %v", task.Workload, task.Seed, *task.Loss, task.BaselineLoss)
			}
		}
	}
	if scores["topk"] != 0 {
		t.Errorf("top-k, the baseline, scored %v, want exactly 0", scores["topk"])
	}
	if scores["topk-ef"] <= scores["topk"] {
		t.Errorf("error feedback did not help top-k at the same budget: %v <= %v", scores["topk-ef"], scores["topk"])
	}
	if scores["randk-ef"] <= scores["randk"] {
		t.Errorf("error feedback did not help random-k at the same budget: %v <= %v", scores["randk-ef"], scores["randk"])
	}
}

func TestGradCompressionEnforcesTheBudget(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	ev := evaluateKind(t, eng, GradCompressionKind, `{"seeds":[1],"workloads":["quadratic"]}`, testdataModule(t, "overbudget"))
	if ev.Status != arena.StatusFailed || !strings.Contains(ev.Error, "gc_compress: worker 0 returned a message of 33 bytes at step 0; the budget is 32") {
		t.Errorf("over budget: %s %q", ev.Status, ev.Error)
	}
}

func TestGradCompressionParams(t *testing.T) {
	t.Parallel()
	for params, field := range map[string]string{
		`{"workers":0}`:   "params.workers",
		`{"workers":17}`:  "params.workers",
		`{"budget":0}`:    "params.budget",
		`{"lr":0}`:        "params.lr",
		`{"momentum":1}`:  "params.momentum",
		`{"steps":0}`:     "params.steps",
		`{"bandwidth":8}`: "params",
	} {
		if _, err := New(GradCompressionKind, []byte(params)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", params, err, field)
		}
	}
	if _, err := New(GradCompressionKind, []byte(`{"workers":8,"budget":64,"workloads":["mlp"],"seeds":[9]}`)); err != nil {
		t.Errorf("valid params refused: %v", err)
	}
}
