package scoring

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/sandbox"
)

var (
	exampleModules map[string][]byte
	handWritten    = map[string]bool{} // examples written as .wat, quick to compile
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "arena-examples")
	if err != nil {
		panic(err)
	}
	paths, err := examples.BuildAll(context.Background(), dir)
	if err != nil {
		panic(err)
	}
	list, err := examples.List()
	if err != nil {
		panic(err)
	}
	for _, e := range list {
		handWritten[e.Kind+"/"+e.Name] = e.WASM != ""
	}
	exampleModules = map[string][]byte{}
	for name, p := range paths {
		if exampleModules[name], err = os.ReadFile(p); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func evaluate(t *testing.T, eng *sandbox.Engine, params string, module []byte) arena.Evaluation {
	t.Helper()
	return evaluateKind(t, eng, OptimizerKind, params, module)
}

func TestOptimizerExamplesRankSensibly(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())

	quad := `{"workloads":["quadratic"]}`
	sgd := evaluate(t, eng, quad, exampleModules["optimizer/sgd"])
	mom := evaluate(t, eng, quad, exampleModules["optimizer/momentum"])
	if sgd.Status != arena.StatusScored || mom.Status != arena.StatusScored {
		t.Fatalf("statuses sgd=%s (%s) momentum=%s (%s)", sgd.Status, sgd.Error, mom.Status, mom.Error)
	}
	if *mom.Score <= *sgd.Score {
		t.Errorf("momentum scored %.4f on the ill-conditioned quadratic, not above SGD's %.4f", *mom.Score, *sgd.Score)
	}

	// The Adam example runs the baseline's own code, compiled to wasm: it
	// must reproduce the native baseline's losses bit for bit.
	adam := evaluate(t, eng, `{}`, exampleModules["optimizer/adam"])
	if adam.Status != arena.StatusScored || *adam.Score != 0 {
		t.Fatalf("adam example: status %s score %v error %q; want scored with exactly 0", adam.Status, adam.Score, adam.Error)
	}
	for _, task := range adam.Tasks {
		if task.Loss == nil || *task.Loss != task.BaselineLoss {
			t.Errorf("%s seed %d: wasm adam loss %v != native baseline %v", task.Workload, task.Seed, task.Loss, task.BaselineLoss)
		}
	}
}

func TestOptimizerScoresAreDeterministic(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"optimizer/momentum", "optimizer/signsgd"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Two engines: nothing cached may carry over between runs.
			var scores [2]arena.Evaluation
			for i := range scores {
				eng := sandbox.NewEngine(2)
				scores[i] = evaluate(t, eng, `{"seeds":[11,12]}`, exampleModules[name])
				eng.Close(context.Background())
			}
			a, b := scores[0], scores[1]
			if a.Status != arena.StatusScored {
				t.Fatalf("status %s: %s", a.Status, a.Error)
			}
			if math.Float64bits(*a.Score) != math.Float64bits(*b.Score) {
				t.Fatalf("scores differ: %v vs %v", *a.Score, *b.Score)
			}
			if a.FuelUsed == nil || *a.FuelUsed == 0 || *a.FuelUsed != *b.FuelUsed {
				t.Fatalf("fuel differs or is missing: %v vs %v", a.FuelUsed, b.FuelUsed)
			}
			for i := range a.Tasks {
				if math.Float64bits(*a.Tasks[i].Loss) != math.Float64bits(*b.Tasks[i].Loss) {
					t.Errorf("task %d losses differ: %v vs %v", i, *a.Tasks[i].Loss, *b.Tasks[i].Loss)
				}
				if *a.Tasks[i].FuelUsed != *b.Tasks[i].FuelUsed {
					t.Errorf("task %d fuel differs: %d vs %d", i, *a.Tasks[i].FuelUsed, *b.Tasks[i].FuelUsed)
				}
			}
		})
	}
}

func TestOptimizerParamsValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		params string
		field  string // "" means valid
	}{
		{`{}`, ""},
		{`{"steps":50,"seeds":[4]}`, ""},
		{`{"steps":0}`, "params.steps"},
		{`{"workloads":["nope"]}`, "params.workloads"},
		{`{"workloads":[]}`, "params.workloads"},
		{`{"seeds":[1,1]}`, "params.seeds"},
		{`{"dim":1}`, "params.dim"},
		{`{"condition":0.5}`, "params.condition"},
		{`{"noise":-1}`, "params.noise"},
		{`{"batch":0}`, "params.batch"},
		{`{"stpes":5}`, "params"},
		{`[1,2]`, "params"},
	}
	for _, c := range cases {
		_, err := New(OptimizerKind, []byte(c.params))
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.params, err)
		case c.field != "" && err == nil:
			t.Errorf("%s: accepted, want an error naming %s", c.params, c.field)
		case c.field != "" && (arena.ErrorCode(err) != arena.EINVALID || !strings.Contains(arena.ErrorMessage(err), c.field)):
			t.Errorf("%s: error %v does not name %s as invalid", c.params, err, c.field)
		}
	}
	if _, err := New("sorting", nil); arena.ErrorCode(err) != arena.EINVALID {
		t.Errorf("unknown kind: got %v", err)
	}
}

func TestLossScore(t *testing.T) {
	t.Parallel()
	cases := []struct {
		loss, baseline, want float64
	}{
		{1, 1, 0},
		{math.NaN(), 1, WorstTaskScore},
		{math.Inf(1), 1, WorstTaskScore},
		{1e300, 1, WorstTaskScore},
		{0, 1, BestTaskScore},
		{0.5, 1, math.Log(2)},
	}
	for _, c := range cases {
		got := lossScore(c.loss, c.baseline)
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("lossScore(%v, %v) = %v, want %v", c.loss, c.baseline, got, c.want)
		}
	}
}
