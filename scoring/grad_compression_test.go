package scoring

import (
	"context"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/guest/gradient"
	"github.com/arena-dev/arena/sandbox"
)

// tinyGC is the grad_compression kind on the tiny LM, four peers of one
// sequence each.
func tinyGC(more string) string {
	if more != "" {
		more = "," + more
	}
	return tiny(`"workers":4` + more)
}

// controls are the toy workloads the kind keeps as non-default controls.
const controls = `{"workloads":["quadratic","logistic","mlp","rosenbrock"]}`

func TestGradCompressorsRankSensiblyOnTheControls(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	scores := map[string]float64{}
	for _, name := range []string{"topk", "topk-ef", "randk", "randk-ef"} {
		ev := evaluateKind(t, eng, GradCompressionKind, controls, exampleModules["grad_compression/"+name])
		if ev.Status != arena.StatusScored || ev.FailedTasks != 0 {
			t.Fatalf("%s: %s, %d failed tasks, %q", name, ev.Status, ev.FailedTasks, ev.Error)
		}
		scores[name] = *ev.Score
		t.Logf("%s: %.4f", name, *ev.Score)
		if name != "topk" {
			continue
		}
		// The top-k example is the controls' baseline's own code, compiled to wasm.
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

// The templar example is the LM baseline's own code compiled to wasm: it
// scores exactly 0, its curve is the baseline's bit for bit, and every
// task reports the dense run's final loss beside it. So does its native
// run.
func TestTemplarExampleIsTheBaseline(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	params := tinyGC(`"seeds":[1]`)
	ev := evaluateKind(t, eng, GradCompressionKind, params, exampleModules["grad_compression/templar"])
	if ev.Status != arena.StatusScored || ev.FailedTasks != 0 || *ev.Score != 0 {
		t.Fatalf("templar: %s, score %v, %d failed (%q); want scored exactly 0", ev.Status, ev.Score, ev.FailedTasks, ev.Error)
	}
	for _, task := range ev.Tasks {
		tr := task.Training
		if tr == nil || tr.DenseLoss == nil || *task.Loss != task.BaselineLoss || len(tr.Curve) != len(tr.BaselineCurve) {
			t.Fatalf("seed %d: %+v; want the baseline's curve and a dense loss", task.Seed, tr)
		}
		for i := range tr.Curve {
			if tr.Curve[i] != tr.BaselineCurve[i] {
				t.Errorf("seed %d: point %d: %v, baseline %v", task.Seed, i, tr.Curve[i], tr.BaselineCurve[i])
			}
		}
		if !(*tr.DenseLoss > 0) || *tr.DenseLoss == *task.Loss {
			t.Errorf("seed %d: dense run ends at %v, the baseline at %v", task.Seed, *tr.DenseLoss, *task.Loss)
		}
	}
	b, err := New(GradCompressionKind, []byte(params))
	if err != nil {
		t.Fatal(err)
	}
	native, err := NativeGradCompressor(b, Task{Workload: LMWorkload, Seed: 1}, func() gradient.TensorCompressor { return gradcodec.NewTemplar() })
	if err != nil || native.Score != 0 || *native.Loss != *ev.Tasks[0].Loss {
		t.Errorf("native templar: score %v, loss %v (%v); want 0 and the module's %v", native.Score, native.Loss, err, *ev.Tasks[0].Loss)
	}
}

// The dense example at 8 bytes a parameter trains exactly as the
// uncompressed run does; at the default budget it fails, saying why.
func TestDenseExampleIsTheDenseRun(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	ev := evaluateKind(t, eng, GradCompressionKind, tinyGC(`"seeds":[1],"budget":59776`), exampleModules["grad_compression/dense"])
	if ev.Status != arena.StatusScored || ev.FailedTasks != 0 {
		t.Fatalf("dense: %s, %d failed (%q)", ev.Status, ev.FailedTasks, ev.Error)
	}
	got, dense := *ev.Tasks[0].Loss, *ev.Tasks[0].Training.DenseLoss
	if got != dense {
		t.Errorf("dense example ends at %v, the dense run at %v", got, dense)
	}
	ev = evaluateKind(t, eng, GradCompressionKind, tinyGC(`"seeds":[1]`), exampleModules["grad_compression/dense"])
	if ev.Status != arena.StatusFailed || !strings.Contains(ev.Tasks[0].Log, "dense needs 2 bytes a coordinate") {
		t.Errorf("dense at the default budget: %s %q, log %q", ev.Status, ev.Error, ev.Tasks[0].Log)
	}
}

// A flat module (ABI v1, gc_init only) still runs on the LM: it sees one
// flat vector.
func TestFlatCompressorRunsOnTheLM(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	ev := evaluateKind(t, eng, GradCompressionKind, tinyGC(`"seeds":[1]`), exampleModules["grad_compression/topk-ef"])
	if ev.Status != arena.StatusScored || ev.FailedTasks != 0 || ev.Tasks[0].Training == nil {
		t.Fatalf("topk-ef: %s, %d failed (%q)", ev.Status, ev.FailedTasks, ev.Error)
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

// A module needs one of the init exports; the refusal names both.
func TestGradCompressionNeedsAnInit(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	ev := evaluateKind(t, eng, GradCompressionKind, `{"seeds":[1],"workloads":["quadratic"]}`, testdataModule(t, "gcnoinit"))
	if ev.Status != arena.StatusRejected || !strings.Contains(ev.Error, "gc_init(") || !strings.Contains(ev.Error, "gc_init2(") {
		t.Errorf("no init: %s %q; want it rejected, naming gc_init and gc_init2", ev.Status, ev.Error)
	}
}

func TestGradCompressionParams(t *testing.T) {
	t.Parallel()
	for params, field := range map[string]string{
		`{"workers":0}`:                         "params.workers",
		`{"workers":33}`:                        "params.workers",
		`{"workers":6}`:                         "params.batch", // 32 sequences do not split in 6
		`{"budget":-1}`:                         "params.budget",
		`{"lr":0}`:                              "params.lr",
		`{"momentum":1}`:                        "params.momentum",
		`{"steps":0}`:                           "params.steps",
		`{"workloads":["quadratic"],"batch":0}`: "params.batch",
		`{"bandwidth":8}`:                       "params",
	} {
		if _, err := New(GradCompressionKind, []byte(params)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", params, err, field)
		}
	}
	b, err := New(GradCompressionKind, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The default budget is 1/32 of the dense float32 gradient.
	if p := b.Params().(GradCompressionParams); p.Budget != 4*21600/32 || p.Workers != 8 || p.Workloads[0] != LMWorkload {
		t.Errorf("defaults: %+v", p)
	}
	if _, err := New(GradCompressionKind, []byte(`{"workers":8,"budget":64,"workloads":["mlp"],"seeds":[9]}`)); err != nil {
		t.Errorf("valid params refused: %v", err)
	}
}
