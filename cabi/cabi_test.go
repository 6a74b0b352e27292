package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// The exports are thin conversions of C types around the functions tested
// here (test files cannot use cgo); the Python tests and testdata/smoke.c
// cross the real boundary.

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestEngine(t *testing.T) uint64 {
	t.Helper()
	h, err := newEngine(4, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeHandle(h) })
	return h
}

const smallLimits = `{"fuel_per_task": 1000000}`

func TestErrorClasses(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, codeOK},
		{&sandbox.RejectError{Reason: "x"}, codeRejected},
		{fmt.Errorf("strategy failed: %w", &sandbox.RunError{Func: "opt_step", Reason: "fuel exhausted"}), codeFailed},
		{badInput("no"), codeBadInput},
		{errors.New("step 1: 3 parameters and 4 gradients for an optimizer of 4"), codeBadInput},
		{arena.Errorf(arena.EINVALID, "limits.fuel_per_task: ..."), codeBadInput},
		{fmt.Errorf("opt_step: %w", errorsCanceled()), codeInternal},
		{guard(func() error { panic("boom") }), codeInternal},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	err := guard(func() error { var m map[string]int; m["x"]++; return nil })
	if err == nil || !strings.Contains(err.Error(), "libarena: internal error: assignment to entry in nil map") {
		t.Errorf("a panic: %v", err)
	}
	if got := message(arena.Errorf(arena.EINVALID, "limits.memory_pages: must be between 1 and 65536, got 0")); got != "limits.memory_pages: must be between 1 and 65536, got 0" {
		t.Errorf("message of an arena.Error: %q", got)
	}
}

func errorsCanceled() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx.Err()
}

func TestLimits(t *testing.T) {
	lim, err := parseLimits("")
	if err != nil || lim != arena.DefaultLimits() {
		t.Errorf("no limits: %+v, %v", lim, err)
	}
	lim, err = parseLimits(`{"fuel_per_task": 5000, "memory_pages": 64}`)
	want := arena.DefaultLimits()
	want.FuelPerTask, want.MemoryPages = 5000, 64
	if err != nil || lim != want {
		t.Errorf("some limits: %+v, %v", lim, err)
	}
	for js, msg := range map[string]string{
		`{"fuel": 1}`:               `unknown field "fuel"`,
		`{"fuel_per_task": 10}`:     "limits.fuel_per_task: must be between 1000",
		`{"fuel_per_task": "lots"}`: "cannot unmarshal string",
		`{} {}`:                     "trailing data",
		`[`:                         "limits:",
	} {
		if _, err := parseLimits(js); classify(err) != codeBadInput || !strings.Contains(err.Error(), msg) {
			t.Errorf("limits %s: %v, want bad input naming %q", js, err, msg)
		}
	}
}

func TestTables(t *testing.T) {
	table, err := parseTable(`[{"name":"wte","role":"embedding","rows":4,"cols":3,"offset":0},{"name":"ln_f.g","role":"norm_gain","rows":1,"cols":3,"offset":12}]`)
	if err != nil || len(table) != 2 || table[1] != (arena.Tensor{Name: "ln_f.g", Role: arena.TensorNormGain, Rows: 1, Cols: 3, Offset: 12}) {
		t.Fatalf("%+v, %v", table, err)
	}
	for js, msg := range map[string]string{
		`[{"name":"w","role":"embedding","rows":4,"cols":3}]`:                     `has no "offset"`,
		`[{"name":"w","role":"wheel","rows":4,"cols":3,"offset":0}]`:              `unknown tensor role "wheel"`,
		`[{"name":"w","role":"flat","rows":4,"cols":3,"offset":0,"dtype":"f32"}]`: "fields other than",
		`{"name":"w"}`: "cannot unmarshal object",
	} {
		if _, err := parseTable(js); classify(err) != codeBadInput || !strings.Contains(err.Error(), msg) {
			t.Errorf("table %s: %v, want bad input naming %q", js, err, msg)
		}
	}
}

func TestOptimizerThroughHandles(t *testing.T) {
	eng := newTestEngine(t)
	mod, err := loadModule(eng, "optimizer", read(t, "../examples/optimizer/signsgd.wasm"), smallLimits)
	if err != nil {
		t.Fatal(err)
	}
	info, err := infoOf(mod)
	if err != nil || !strings.Contains(info, `"kind":"optimizer"`) || !strings.Contains(info, `"fuel_per_task":1000000`) {
		t.Errorf("info: %s, %v", info, err)
	}
	opt, err := newOptimizer(mod, 4, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	params, grads := []float64{1, -2, 3, -4}, []float64{1, -1, 1, -1}
	if err := optimizerStep(opt, 0, params, grads, 1); err != nil || params[0] != 1-0.05 || params[3] != -4+0.05 {
		t.Fatalf("step: %v %v", params, err)
	}

	// The caller's mistakes are refused, and the optimizer carries on.
	for name, err := range map[string]error{
		"short":           optimizerStep(opt, 1, params[:3], grads[:3], 1),
		"negative step":   optimizerStep(opt, -1, params, grads, 1),
		"wrong kind":      func() error { _, err := scheduleLR(opt, 0, 0); return err }(),
		"not a handle":    optimizerStep(12345678, 0, params, grads, 1),
		"module as kind":  func() error { _, err := newSchedule(mod, 10); return err }(),
		"unknown kind":    func() error { _, err := loadModule(eng, "optimiser", nil, ""); return err }(),
		"flat with steps": func() error { _, err := newOptimizer(mod, 4, "", 10); return err }(),
		"table and n": func() error {
			_, err := newOptimizer(mod, 5, `[{"name":"p","role":"flat","rows":1,"cols":4,"offset":0}]`, 0)
			return err
		}(),
		"bad table": func() error {
			_, err := newOptimizer(mod, 0, `[{"name":"p","role":"flat","rows":1,"cols":4,"offset":1}]`, 0)
			return err
		}(),
	} {
		if classify(err) != codeBadInput {
			t.Errorf("%s: %v, want bad input", name, err)
		}
	}
	if err := optimizerStep(opt, 1, params, grads, 1); err != nil {
		t.Errorf("a step after refused input: %v", err)
	}
	if fuel, err := fuelUsed(opt); err != nil || fuel <= 0 {
		t.Errorf("fuel %d, %v", fuel, err)
	}

	// Closing the module leaves the optimizer; closing the engine does not.
	if err := closeHandle(mod); err != nil {
		t.Fatal(err)
	}
	if err := optimizerStep(opt, 2, params, grads, 1); err != nil {
		t.Errorf("after closing its module: %v", err)
	}
	if err := closeHandle(eng); err != nil {
		t.Fatal(err)
	}
	if err := optimizerStep(opt, 3, params, grads, 1); classify(err) != codeBadInput || !strings.Contains(err.Error(), "not open") {
		t.Errorf("after closing its engine: %v", err)
	}
	if _, err := loadModule(eng, "optimizer", read(t, "../examples/optimizer/signsgd.wasm"), ""); classify(err) != codeBadInput {
		t.Errorf("loading into a closed engine: %v", err)
	}
}

// Each hostile module ends in its class with a reason, and the engine goes
// on to run a good one.
func TestHostileModules(t *testing.T) {
	eng := newTestEngine(t)
	fixture := func(name string) []byte { return read(t, "../sandbox/testdata/"+name+".wasm") }
	for _, c := range []struct {
		name   string
		module []byte
		code   int
		reason string
	}{
		{"garbage", []byte("garbage bytes, not wasm"), codeRejected, "not a WebAssembly module"},
		{"unknown import", fixture("badimport"), codeRejected, "is not allowed"},
		{"infinite loop", fixture("loop"), codeFailed, "fuel exhausted"},
		{"recursion", fixture("recurse"), codeFailed, "opt_step"},
		{"memory bomb", fixture("membomb"), codeFailed, "fuel exhausted"},
		{"trap", fixture("trap"), codeFailed, "unreachable"},
		{"bad pointer", fixture("badptr"), codeFailed, "outside memory"},
		{"trap in opt_init", fixture("trapinit"), codeFailed, "integer divide by zero"},
	} {
		err := func() error {
			mod, err := loadModule(eng, "optimizer", c.module, smallLimits)
			if err != nil {
				return err
			}
			defer closeHandle(mod)
			opt, err := newOptimizer(mod, 16, "", 0)
			if err != nil {
				return err
			}
			defer closeHandle(opt)
			return optimizerStep(opt, 0, make([]float64, 16), make([]float64, 16), 0)
		}()
		if classify(err) != c.code || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v (class %d), want class %d naming %q", c.name, err, classify(err), c.code, c.reason)
		}
	}
	mod, err := loadModule(eng, "optimizer", read(t, "../examples/optimizer/signsgd.wasm"), smallLimits)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := newOptimizer(mod, 16, "", 0)
	if err == nil {
		err = optimizerStep(opt, 0, make([]float64, 16), make([]float64, 16), 0)
	}
	if err != nil {
		t.Errorf("a good module after hostile ones: %v", err)
	}
}

// The host may call one object from several threads; the calls take
// turns, and closing the engine under them is safe.
func TestConcurrentCalls(t *testing.T) {
	eng := newTestEngine(t)
	mod, err := loadModule(eng, "optimizer", read(t, "../examples/optimizer/signsgd.wasm"), smallLimits)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := newOptimizer(mod, 64, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params, grads := make([]float64, 64), make([]float64, 64)
			for step := range 50 {
				grads[step%64] = float64(g + 1)
				if err := optimizerStep(opt, int64(step), params, grads, 0); err != nil {
					if classify(err) != codeBadInput { // closed under us
						t.Errorf("goroutine %d step %d: %v", g, step, err)
					}
					return
				}
				_, _ = fuelUsed(opt)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = closeHandle(eng) }()
	wg.Wait()
}

// Two stages hold a cut as the benchmark does: keyed.wasm codes the
// gradient with the key its instance kept from the activation, which
// only works out when a stage's encoder and decoder share an instance.
// The checks an encoder and a decoder make apply to a stage too.
func TestActivationStagesThroughHandles(t *testing.T) {
	eng := newTestEngine(t)
	mod, err := loadModule(eng, "activation_compression", read(t, "../strategy/testdata/keyed.wasm"), smallLimits)
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 // 4×8 bfloat16
	a, err := newActivationStage(mod, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newActivationStage(mod, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	capacity := int(activationCapacity(size))
	x, g := make([]byte, size), make([]byte, size)
	for i := range x {
		x[i], g[i] = byte(i), byte(200-i)
	}
	msg, out := make([]byte, capacity), make([]byte, size)
	k, err := activationStageEncode(a, 0, 0, 4, 8, x, msg)
	if err != nil || k != size+1 {
		t.Fatalf("forward: %d bytes, %v", k, err)
	}
	key := msg[0]
	if err := activationStageDecode(b, 0, 0, 4, 8, msg[:k], out); err != nil || string(out) != string(x) {
		t.Fatalf("forward decoded % x, %v", out, err)
	}
	if k, err = activationStageEncode(b, 1, 0, 4, 8, g, msg); err != nil || k != size || msg[0] != g[0]^key {
		t.Fatalf("backward: % x, %v; want the gradient XOR %#x", msg[:k], err, key)
	}
	if err := activationStageDecode(a, 1, 0, 4, 8, msg[:k], out); err != nil || string(out) != string(g) {
		t.Fatalf("backward decoded % x, %v", out, err)
	}

	enc, err := newActivationEncoder(mod, size)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"first 2":          func() error { _, err := newActivationStage(mod, size, 2); return err }(),
		"size 0":           func() error { _, err := newActivationStage(mod, 0, 1); return err }(),
		"direction 2":      func() error { _, err := activationStageEncode(a, 2, 0, 4, 8, x, msg); return err }(),
		"dtype 2":          activationStageDecode(a, 1, 2, 4, 8, msg[:size], out),
		"shape":            func() error { _, err := activationStageEncode(a, 0, 0, 4, 4, x, msg); return err }(),
		"short buffer":     func() error { _, err := activationStageEncode(a, 0, 0, 4, 8, x, msg[:size]); return err }(),
		"long message":     activationStageDecode(a, 1, 0, 4, 8, make([]byte, capacity+1), out),
		"over the size":    func() error { _, err := activationStageEncode(a, 0, 1, 4, 8, make([]byte, 128), msg); return err }(),
		"an encoder":       func() error { _, err := activationStageEncode(enc, 0, 0, 4, 8, x, msg); return err }(),
		"a stage as codec": func() error { _, err := activationCompress(a, 0, 0, 4, 8, x, msg); return err }(),
	} {
		if classify(err) != codeBadInput {
			t.Errorf("%s: %v, want bad input", name, err)
		}
	}
	// Refused input never reached the module: the stages carry on in step.
	if k, err = activationStageEncode(a, 0, 0, 4, 8, x, msg); err != nil || msg[0] == key {
		t.Fatalf("the next forward: key %#x after %#x, %v", msg[0], key, err)
	}
	if fuel, err := fuelUsed(a); err != nil || fuel <= 0 {
		t.Errorf("fuel %d, %v", fuel, err)
	}
}
