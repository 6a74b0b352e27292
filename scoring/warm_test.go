package scoring

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// TestWarmedBaselinesAreTheOnesEvaluationsUse warms every task of an
// evaluation, public and hidden, then checks that each was computed once,
// that an evaluation on the warmed benchmark computes none again, and that
// it scores every task exactly as an evaluation on a cold benchmark does.
func TestWarmedBaselinesAreTheOnesEvaluationsUse(t *testing.T) {
	t.Parallel()
	hidden := []uint64{101, 102}
	for _, tc := range []struct {
		kind, module, params string
	}{
		{OptimizerKind, "optimizer/signsgd", tiny(`"seeds":[11]`)},
		{LRScheduleKind, "lr_schedule/cosine", tiny(`"seeds":[11]`)},
		{ActivationCompressionKind, "activation_compression/int8", tinyCut("")},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			params := json.RawMessage(tc.params)
			warm, err := New(tc.kind, params)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := warm.(BaselineWarmer)
			if !ok {
				t.Fatalf("%s's benchmark does not warm its baselines", tc.kind)
			}
			tasks := Tasks(warm, hidden)
			if len(tasks) != 3 {
				t.Fatalf("%d tasks, want 1 public and 2 hidden", len(tasks))
			}
			for _, task := range tasks {
				if w.BaselineKnown(task) {
					t.Fatalf("%+v: known before it was warmed", task)
				}
				if !w.WarmBaseline(task) {
					t.Fatalf("%+v: the first warm computed nothing", task)
				}
				if w.WarmBaseline(task) || !w.BaselineKnown(task) {
					t.Fatalf("%+v: warmed twice, or not remembered", task)
				}
			}
			eng := sandbox.NewEngine(2)
			defer eng.Close(context.Background())
			evaluate := func(b Benchmark) arena.Evaluation {
				ev, err := Evaluate(context.Background(), eng, b, arena.DefaultLimits(), exampleModules[tc.module], hidden)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Status != arena.StatusScored {
					t.Fatalf("status %s: %s", ev.Status, ev.Error)
				}
				return ev
			}
			got := evaluate(warm)
			for _, task := range tasks {
				if w.WarmBaseline(task) {
					t.Errorf("%+v: the evaluation left its baseline to be computed again", task)
				}
			}
			cold, err := New(tc.kind, params)
			if err != nil {
				t.Fatal(err)
			}
			want := evaluate(cold)
			if math.Float64bits(*got.Score) != math.Float64bits(*want.Score) {
				t.Errorf("score %v with warmed baselines, %v cold", *got.Score, *want.Score)
			}
			for i := range want.Tasks {
				g, c := got.Tasks[i], want.Tasks[i]
				if math.Float64bits(g.Score) != math.Float64bits(c.Score) || math.Float64bits(g.BaselineLoss) != math.Float64bits(c.BaselineLoss) {
					t.Errorf("task %d: score %v baseline %v warmed, %v and %v cold", i, g.Score, g.BaselineLoss, c.Score, c.BaselineLoss)
				}
			}
		})
	}
}
