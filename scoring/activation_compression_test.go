package scoring

import (
	"context"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

func TestActivationCodersRankSensibly(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())

	identity := evaluateKind(t, eng, ActivationCompressionKind, `{}`, exampleModules["activation_compression/identity"])
	if identity.Status != arena.StatusScored || *identity.Score != 0 {
		t.Fatalf("identity: %s %v %q; want scored exactly 0", identity.Status, identity.Score, identity.Error)
	}
	// Every real coder must beat identity, on every task.
	for name, module := range exampleModules {
		if !strings.HasPrefix(name, ActivationCompressionKind+"/") || name == ActivationCompressionKind+"/identity" {
			continue
		}
		ev := evaluateKind(t, eng, ActivationCompressionKind, `{}`, module)
		if ev.Status != arena.StatusScored || ev.FailedTasks != 0 || *ev.Score <= *identity.Score {
			t.Errorf("%s: %s, score %v, %d failed (%q); want it above identity's %v", name, ev.Status, ev.Score, ev.FailedTasks, ev.Error, *identity.Score)
			continue
		}
		for _, task := range ev.Tasks {
			if task.Score <= 0 || *task.Loss >= 1 {
				t.Errorf("%s on %s seed %d: size fraction %v, score %v; want it below 1 and a positive score", name, task.Workload, task.Seed, *task.Loss, task.Score)
			}
		}
	}
}

func TestActivationCompressionKeepsTheDecoderBlind(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	// The decompressor copies the tensor from where the host put it in the
	// compressor's memory: it must find nothing there.
	ev := evaluateKind(t, eng, ActivationCompressionKind, `{"seeds":[1],"tensors":1}`, testdataModule(t, "peek"))
	if ev.Status != arena.StatusFailed || !strings.Contains(ev.Error, "ac_decompress: tensor 0 came back different at byte") {
		t.Fatalf("peeking coder: %s %v %q; want failed on a lossless check", ev.Status, ev.Score, ev.Error)
	}
	for _, task := range ev.Tasks {
		if task.Score != 0 {
			t.Errorf("%s: a failed task scored %v, want 0", task.Workload, task.Score)
		}
	}
}

func TestTensorsAreTheirFamilies(t *testing.T) {
	t.Parallel()
	for _, name := range tensorNames {
		a, err := newTensor(name, 7, 0, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := newTensor(name, 7, 0, 16, 64)
		c, _ := newTensor(name, 7, 1, 16, 64)
		width := 4
		if strings.HasSuffix(name, "_bf16") {
			width = 2
		}
		if len(a.data) != 16*64*width || string(a.data) != string(b.data) || string(a.data) == string(c.data) {
			t.Errorf("%s: %d bytes, repeatable %v, distinct per index %v", name, len(a.data), string(a.data) == string(b.data), string(a.data) != string(c.data))
		}
		zeros := 0
		for i := 0; i < len(a.data); i += width {
			if string(a.data[i:i+width]) == string(make([]byte, width)) {
				zeros++
			}
		}
		// ReLU zeroes about half its inputs; the others have no exact zeros to speak of.
		if relu := name == "relu_bf16"; relu != (zeros > 16*64/4) {
			t.Errorf("%s: %d of %d elements are zero", name, zeros, 16*64)
		}
	}
	if _, err := newTensor("nope", 1, 0, 4, 4); err == nil {
		t.Error("unknown family accepted")
	}
}

func TestActivationCompressionParams(t *testing.T) {
	t.Parallel()
	for params, field := range map[string]string{
		`{"tensors":0}`:               "params.tensors",
		`{"rows":0}`:                  "params.rows",
		`{"cols":5000}`:               "params.cols",
		`{"rows":4096,"cols":4096}`:   "params.rows",
		`{"fuel_weight":-1}`:          "params.fuel_weight",
		`{"workloads":["quadratic"]}`: "params.workloads",
		`{"seeds":[]}`:                "params.seeds",
		`{"ratio":2}`:                 "params",
	} {
		if _, err := New(ActivationCompressionKind, []byte(params)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", params, err, field)
		}
	}
	if _, err := New(ActivationCompressionKind, []byte(`{"workloads":["relu_bf16"],"rows":8,"cols":8,"fuel_weight":0}`)); err != nil {
		t.Errorf("valid params refused: %v", err)
	}
}
