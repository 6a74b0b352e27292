package scoring

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// tinyCut is the activation kind on a two-block tiny LM, cut between the
// blocks, with more fields given as JSON members.
func tinyCut(more string) string {
	p := `"seeds":[1],"vocab":128,"width":16,"layers":2,"heads":2,"context":16,"batch":4,"steps":40,"eval_every":10,"eval_sequences":8`
	if more != "" {
		p += "," + more
	}
	return "{" + p + "}"
}

func strategyFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../strategy/testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Identity (built with the SDK, so ABI v2), a hand-written v1 module and
// a v2 module that checks the direction it is given all send the tensors
// as they are: they train exactly the uncompressed run and score 0.
func TestActivationLosslessCodecsTrainTheBaseline(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	for name, module := range map[string][]byte{
		"identity":  exampleModules["activation_compression/identity"],
		"copy (v1)": strategyFixture(t, "copy"),
		"direction": strategyFixture(t, "direction"),
		"byteplane": exampleModules["activation_compression/byteplane"],
		"bf16cast":  exampleModules["activation_compression/bf16cast"],
	} {
		ev := evaluateKind(t, eng, ActivationCompressionKind, tinyCut(""), module)
		if ev.Status != arena.StatusScored || ev.FailedTasks != 0 {
			t.Fatalf("%s: %s, %q", name, ev.Status, ev.Error)
		}
		task := ev.Tasks[0]
		tr := task.Training
		if tr == nil || len(tr.Curve) != 5 || len(tr.BaselineCurve) != 5 {
			t.Fatalf("%s: training %+v", name, tr)
		}
		for i := range tr.Curve {
			if tr.Curve[i] != tr.BaselineCurve[i] {
				t.Errorf("%s: curve point %d is %v, the uncompressed run's %v", name, i, tr.Curve[i], tr.BaselineCurve[i])
			}
		}
		if raw := int64(40 * 2 * 4 * 16 * 16 * 2); tr.RawBytes != raw {
			t.Errorf("%s: %d raw bytes crossed, want 40 steps × 2 directions × 64 rows × 16 × 2 bytes = %d", name, tr.RawBytes, raw)
		}
		switch name {
		case "identity", "copy (v1)", "bf16cast":
			if task.Score != 0 || tr.SentBytes != tr.RawBytes {
				t.Errorf("%s: score %v, %d bytes sent of %d; want 0 and all of them", name, task.Score, tr.SentBytes, tr.RawBytes)
			}
		case "byteplane":
			if task.Score <= 0 || tr.SentBytes >= tr.RawBytes {
				t.Errorf("byteplane: score %v, %d bytes sent of %d; want it to save some", task.Score, tr.SentBytes, tr.RawBytes)
			}
		}
	}
}

// Lossy codecs: int8 passes the spot check and scores; a floor it cannot
// pass fails the task with the step, direction and similarity named.
func TestActivationLossyTrack(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	int8 := evaluateKind(t, eng, ActivationCompressionKind, tinyCut(""), exampleModules["activation_compression/int8"])
	if int8.Status != arena.StatusScored || int8.FailedTasks != 0 || !(*int8.Score > 0.4) {
		t.Fatalf("int8: %s %v %q; want scored above 0.4", int8.Status, int8.Score, int8.Error)
	}
	tr := int8.Tasks[0].Training
	if ratio := float64(tr.RawBytes) / float64(tr.SentBytes); math.Abs(ratio-32.0/18) > 1e-9 {
		t.Errorf("int8: ratio %v, want 32/18 (16 bfloat16 values a row in 16 bytes and a 2-byte scale)", ratio)
	}
	strict := evaluateKind(t, eng, ActivationCompressionKind, tinyCut(`"min_cosine":0.9999`), exampleModules["activation_compression/int4"])
	if strict.Status != arena.StatusFailed || !strings.Contains(strict.Error, "ac_decode: step 0, forward (activation): the decoded tensor's cosine similarity to the original is 0.99") || !strings.Contains(strict.Error, "below the floor of 0.9999") {
		t.Errorf("int4 under a floor of 0.9999: %s %q; want failed at step 0 forward", strict.Status, strict.Error)
	}
	if strict.Tasks[0].Score != 0 {
		t.Errorf("a failed task scored %v, want 0", strict.Tasks[0].Score)
	}
}

// The lossless track codes captured activations and gradients: byteplane
// shrinks them, a lossy codec fails, and a decoder that looks for the
// tensor where the host put it in the encoder's memory finds nothing.
func TestActivationLosslessTrack(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	params := tinyCut(`"lossless":true,"tensors":3`)
	bp := evaluateKind(t, eng, ActivationCompressionKind, params, exampleModules["activation_compression/byteplane"])
	if bp.Status != arena.StatusScored || !(*bp.Score > 0) || !(*bp.Tasks[0].Loss < 1) {
		t.Fatalf("byteplane: %s %v %q", bp.Status, bp.Score, bp.Error)
	}
	id := evaluateKind(t, eng, ActivationCompressionKind, params, exampleModules["activation_compression/identity"])
	if id.Status != arena.StatusScored || *id.Score != 0 || *id.Tasks[0].Loss != 1 {
		t.Fatalf("identity: %s %v %q", id.Status, id.Score, id.Error)
	}
	for name, module := range map[string][]byte{"int8": exampleModules["activation_compression/int8"], "peek": testdataModule(t, "peek")} {
		ev := evaluateKind(t, eng, ActivationCompressionKind, params, module)
		if ev.Status != arena.StatusFailed || !strings.Contains(ev.Error, "ac_decode: tensor 0 (step 10, forward (activation)) came back different at byte") {
			t.Errorf("%s: %s %q; want failed on the lossless check", name, ev.Status, ev.Error)
		}
	}
}

// Every example gives the same messages and tensors twice.
func TestActivationExamplesAreDeterministic(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	b, err := New(ActivationCompressionKind, []byte(tinyCut("")))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, module := range exampleModules {
		if !strings.HasPrefix(name, ActivationCompressionKind+"/") {
			continue
		}
		n++
		if err := CheckActivationDeterminism(context.Background(), eng, b, arena.DefaultLimits(), module, Task{Workload: LMWorkload, Seed: 1}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n < 7 {
		t.Errorf("%d activation examples, want at least 7", n)
	}
}

func TestActivationCompressionParams(t *testing.T) {
	t.Parallel()
	for params, field := range map[string]string{
		`{"tensors":0}`:               "params.tensors",
		`{"steps":3,"tensors":4}`:     "params.tensors",
		`{"cut":0}`:                   "params.cut",
		`{"cut":3}`:                   "params.cut",
		`{"dtype":"fp8"}`:             "params.dtype",
		`{"min_cosine":2}`:            "params.min_cosine",
		`{"loss_weight":-1}`:          "params.loss_weight",
		`{"fuel_weight":-1}`:          "params.fuel_weight",
		`{"workloads":["quadratic"]}`: "params.workloads",
		`{"seeds":[]}`:                "params.seeds",
		`{"width":15}`:                "params.heads",
		`{"ratio":2}`:                 "params",
	} {
		if _, err := New(ActivationCompressionKind, []byte(params)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", params, err, field)
		}
	}
	if _, err := New(ActivationCompressionKind, []byte(tinyCut(`"dtype":"float32","lossless":true,"cut":2,"min_cosine":0.5`))); err != nil {
		t.Errorf("valid params refused: %v", err)
	}
}

// The host's wire conversion and spot check take any bytes a decoder
// returns: NaN, infinities and zeros fail the check, never the host.
func FuzzWireCosine(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x7f, 1, 2, 3, 4}, true)
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, got []byte, bf16 bool) {
		dtype, size := 1, 4
		if bf16 {
			dtype, size = 0, 2
		}
		n := len(got) / size
		x := make([]float64, n)
		decodeWire(dtype, got[:n*size], x)
		orig := make([]float64, n)
		for i := range orig {
			orig[i] = float64(i%3) - 1
		}
		c := cosine(orig, x)
		if !math.IsNaN(c) && (c < -1-1e-9 || c > 1+1e-9) {
			t.Errorf("cosine %v outside [-1, 1]", c)
		}
		back := make([]byte, n*size)
		encodeWire(dtype, x, back)
		for i := 0; i < n*size; i += size {
			// A value that is not NaN survives the round trip exactly.
			if v := x[i/size]; v == v && string(back[i:i+size]) != string(got[i:i+size]) {
				t.Fatalf("element %d: % x came back % x", i/size, got[i:i+size], back[i:i+size])
			}
		}
	})
}

// A module needs a way to encode and a way to decode, of either version:
// validation names the pair it lacks.
func TestActivationABINamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(2)
	defer eng.Close(context.Background())
	ev := evaluateKind(t, eng, ActivationCompressionKind, tinyCut(""), testdataModule(t, "encodeonly"))
	if ev.Status != arena.StatusRejected || !strings.Contains(ev.Error, "exports neither ac_decode(i32, i32, i32, i32, i32, i32, i32, i32) nor ac_decompress(i32, i32, i32, i32, i32, i32, i32)") {
		t.Errorf("a module with ac_encode alone: %s %q", ev.Status, ev.Error)
	}
}

// Hostile codecs fail their own tasks with a reason, never the host.
func TestActivationHostileCodecs(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(4)
	defer eng.Close(context.Background())
	for name, want := range map[string]string{
		"nandecode": "ac_decode: step 0, forward (activation): the decoded tensor's cosine similarity to the original is NaN, below the floor of 0.9",
		"overcap":   "ac_encode: returned ",
	} {
		ev := evaluateKind(t, eng, ActivationCompressionKind, tinyCut(""), testdataModule(t, name))
		if ev.Status != arena.StatusFailed || !strings.Contains(ev.Error, want) {
			t.Errorf("%s: %s %q; want failed with %q", name, ev.Status, ev.Error, want)
		}
	}
}
