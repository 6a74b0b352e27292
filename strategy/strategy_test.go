package strategy_test

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/strategy"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func engine(t *testing.T) *sandbox.Engine {
	t.Helper()
	eng := sandbox.NewEngine(4)
	t.Cleanup(func() { eng.Close(context.Background()) })
	return eng
}

// smallCalls bounds each call well below what the whole loop spends, so
// the loop only finishes if every call gets its own allowance.
func smallCalls() arena.Limits {
	lim := arena.DefaultLimits()
	lim.FuelPerTask = 200_000
	return lim
}

// trainSignSGD minimizes ½‖x‖² with the signsgd example for steps steps
// in the trainer's own loop.
func trainSignSGD(t *testing.T, eng *sandbox.Engine, n, steps int) ([]float64, int64) {
	t.Helper()
	ctx := context.Background()
	opt, err := strategy.NewOptimizer(ctx, eng, read(t, "../examples/optimizer/signsgd.wasm"), n, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close(ctx)
	params, grads := make([]float64, n), make([]float64, n)
	for i := range params {
		params[i] = float64(i%7) - 3
	}
	for step := range steps {
		loss := 0.0
		for i, p := range params {
			grads[i], loss = p, loss+p*p/2
		}
		if err := opt.Step(step, params, grads, loss); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	return params, opt.FuelUsed()
}

func TestOptimizerRunsInATrainersLoopAsWritten(t *testing.T) {
	t.Parallel()
	eng := engine(t)
	const n, steps = 1000, 300
	got, fuel := trainSignSGD(t, eng, n, steps)

	// The same rule in Go: every parameter moves 0.05/sqrt(t+1) against
	// the sign of its gradient.
	want := make([]float64, n)
	for i := range want {
		want[i] = float64(i%7) - 3
	}
	for step := range steps {
		lr := 0.05 / math.Sqrt(float64(step+1))
		for i, p := range want {
			if p != 0 {
				want[i] = p - math.Copysign(lr, p)
			}
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("parameter %d: %v in the sandbox, %v in Go", i, got[i], want[i])
		}
	}
	if fuel <= smallCalls().FuelPerTask {
		t.Errorf("the loop spent %d fuel, within one call's allowance of %d: the test proves nothing", fuel, smallCalls().FuelPerTask)
	}
	if _, again := trainSignSGD(t, eng, n, steps); again != fuel {
		t.Errorf("fuel %d, then %d on the same run", fuel, again)
	}
}

func TestAHostileOptimizerFailsItsCallAndStaysFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	opt, err := strategy.NewOptimizer(ctx, eng, read(t, "../sandbox/testdata/loop.wasm"), 4, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close(ctx)
	params, grads := make([]float64, 4), make([]float64, 4)
	err = opt.Step(0, params, grads, 1)
	if err == nil || !strings.Contains(err.Error(), "fuel exhausted: the task's budget of 200000 fuel ran out") {
		t.Fatalf("a step that never returns: %v", err)
	}
	if again := opt.Step(1, params, grads, 1); again == nil || again.Error() != err.Error() {
		t.Errorf("the next step: %v, want the first failure again", again)
	}
	if err := opt.Step(0, params[:3], grads, 1); err == nil {
		t.Error("a failed optimizer took another step")
	}

	// Bad input to a healthy optimizer is refused before the guest sees it.
	good, err := strategy.NewOptimizer(ctx, eng, read(t, "../examples/optimizer/signsgd.wasm"), 4, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close(ctx)
	if err := good.Step(0, params[:3], grads, 1); err == nil || !strings.Contains(err.Error(), "3 parameters and 4 gradients for an optimizer of 4") {
		t.Errorf("mismatched lengths: %v", err)
	}
	if err := good.Step(0, params, grads, 1); err != nil {
		t.Errorf("a good step after refused input: %v", err)
	}
}

func TestScheduleRatesAndRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	module := read(t, "testdata/lineardecay.wasm")
	sched, err := strategy.NewSchedule(ctx, eng, module, 2000, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Close(ctx)
	for _, step := range []int{0, 500, 999} {
		want := 0.1 * (1 - float64(step)/2000) // in float64, as the guest computes it
		if got, err := sched.LR(step, 1); err != nil || got != want {
			t.Errorf("LR(%d) = %v, %v; want %v", step, got, err, want)
		}
	}
	if _, err := sched.LR(1000, 1); err == nil || !strings.Contains(err.Error(), "returned -1 at step 1000; a learning rate must be between 0 and 1000") {
		t.Errorf("an out-of-range rate: %v", err)
	}
	if _, err := sched.LR(0, 1); err == nil {
		t.Error("a schedule that failed gave another rate")
	}

	for name, c := range map[string]struct {
		wasm []byte
		want string
	}{
		"an optimizer as a schedule": {read(t, "../examples/optimizer/signsgd.wasm"), "lr_init"},
		"random bytes":               {[]byte("not wasm at all"), "not a WebAssembly module"},
	} {
		if _, err := strategy.NewSchedule(ctx, eng, c.wasm, 10, smallCalls()); !sandbox.IsReject(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a rejection naming %q", name, err, c.want)
		}
	}
	bad := smallCalls()
	bad.FuelPerTask = 0
	if _, err := strategy.NewSchedule(ctx, eng, module, 10, bad); arena.ErrorCode(err) != arena.EINVALID {
		t.Errorf("no fuel per call: %v, want invalid", err)
	}
}

// The two sides of a gradient codec run in instances of their own, as
// they would on different machines: only the message crosses.
func TestGradientWorkersAndAggregator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	module := read(t, "testdata/prefix.wasm")
	const workers, n, budget = 2, 10, 32 // four values fit a message
	var ws []*strategy.GradientWorker
	for k := range workers {
		w, err := strategy.NewGradientWorker(ctx, eng, module, k, workers, n, budget, smallCalls())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close(ctx)
		ws = append(ws, w)
	}
	agg, err := strategy.NewGradientAggregator(ctx, eng, module, workers, n, budget, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close(ctx)
	for step := range 3 {
		for k, w := range ws {
			grad := make([]float64, n)
			for i := range grad {
				grad[i] = float64(100*k + 10*step + i)
			}
			msg, err := w.Compress(step, grad)
			if err != nil || len(msg) != budget {
				t.Fatalf("worker %d step %d: %d bytes, %v", k, step, len(msg), err)
			}
			out := make([]float64, n)
			if err := agg.Decompress(k, step, msg, out); err != nil {
				t.Fatal(err)
			}
			for i, v := range out {
				want := 0.0
				if i < budget/8 {
					want = grad[i]
				}
				if v != want {
					t.Fatalf("worker %d step %d value %d: %v through the codec, want %v", k, step, i, v, want)
				}
			}
		}
	}
	if err := agg.Decompress(0, 3, make([]byte, budget+1), make([]float64, n)); err == nil || !strings.Contains(err.Error(), "over the budget of 32") {
		t.Errorf("a message over budget: %v", err)
	}
	if _, err := strategy.NewGradientWorker(ctx, eng, module, 2, workers, n, budget, smallCalls()); err == nil || !strings.Contains(err.Error(), "worker 2 of 2") {
		t.Errorf("a worker index out of range: %v", err)
	}
}

func TestActivationEncoderAndDecoder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	module := read(t, "testdata/copy.wasm")
	const size = 4 * 8 * 16 // 8×16 float32
	enc, err := strategy.NewActivationEncoder(ctx, eng, module, size, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close(ctx)
	dec, err := strategy.NewActivationDecoder(ctx, eng, module, size, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close(ctx)
	tensor := make([]byte, size)
	for i := range tensor {
		tensor[i] = byte(i * 7)
	}
	msg, err := enc.Encode(scoring.Forward, 1, 8, 16, tensor)
	if err != nil || len(msg) != size {
		t.Fatalf("compress: %d bytes, %v", len(msg), err)
	}
	got, err := dec.Decode(scoring.Backward, 1, 8, 16, msg, size) // a v1 module is not told
	if err != nil || string(got) != string(tensor) {
		t.Fatalf("the tensor did not come back: %v", err)
	}
	if _, err := enc.Encode(scoring.Forward, 1, 8, 32, make([]byte, 2*size)); err == nil || !strings.Contains(err.Error(), "over the encoder's") {
		t.Errorf("a tensor larger than the encoder takes: %v", err)
	}
	if _, err := enc.Encode(2, 1, 8, 16, tensor); err == nil || !strings.Contains(err.Error(), "direction 2") {
		t.Errorf("direction 2: %v", err)
	}
	if _, err := enc.Encode(scoring.Forward, 1, 8, 16, tensor); err != nil {
		t.Errorf("a good tensor after refused input: %v", err)
	}
}

// An ABI v2 codec is told the direction: the fixture's decoder traps
// unless it is given the direction its encoder wrote into the message.
func TestActivationCodecGetsTheDirection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	module := read(t, "testdata/direction.wasm")
	const size = 2 * 4 * 8
	enc, err := strategy.NewActivationEncoder(ctx, eng, module, size, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close(ctx)
	tensor := make([]byte, size)
	for i := range tensor {
		tensor[i] = byte(i)
	}
	for _, dir := range []int{scoring.Forward, scoring.Backward} {
		dec, err := strategy.NewActivationDecoder(ctx, eng, module, size, smallCalls())
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close(ctx)
		msg, err := enc.Encode(dir, 0, 4, 8, tensor)
		if err != nil || len(msg) != size+1 || msg[0] != byte(dir) {
			t.Fatalf("direction %d: message % x, %v", dir, msg, err)
		}
		if got, err := dec.Decode(dir, 0, 4, 8, msg, size); err != nil || string(got) != string(tensor) {
			t.Fatalf("direction %d: decoded % x, %v", dir, got, err)
		}
		if _, err := dec.Decode(1-dir, 0, 4, 8, msg, size); err == nil {
			t.Errorf("direction %d: the decoder was told the other direction and did not trap", dir)
		}
	}
}

// Time spent between calls is the trainer's: only calls are timed.
func TestTimeBetweenCallsDoesNotCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lim := smallCalls()
	lim.TaskTimeoutMS = 50
	sched, err := strategy.NewSchedule(ctx, engine(t), read(t, "testdata/lineardecay.wasm"), 100, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Close(ctx)
	for step := range 3 {
		time.Sleep(120 * time.Millisecond) // a long backward pass
		if _, err := sched.LR(step, 1); err != nil {
			t.Fatalf("step %d after a pause longer than the time limit: %v", step, err)
		}
	}
}

// stagePair is a cut's two stages, the first and the second, closed when
// the test ends.
func stagePair(t *testing.T, eng *sandbox.Engine, module []byte, size int) (first, second *strategy.ActivationStage) {
	t.Helper()
	ctx := context.Background()
	for i, s := range []**strategy.ActivationStage{&first, &second} {
		stage, err := strategy.NewActivationStage(ctx, eng, module, size, i == 0, smallCalls())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stage.Close(ctx) })
		*s = stage
	}
	return first, second
}

// Two stages of a cut: the activation crosses from the first to the
// second, its gradient back, each decoded by the other stage's instance
// with the direction it was sent in.
func TestActivationStages(t *testing.T) {
	t.Parallel()
	eng := engine(t)
	module := read(t, "testdata/direction.wasm")
	const size = 2 * 4 * 8
	a, b := stagePair(t, eng, module, size)
	x := make([]byte, size)
	for i := range x {
		x[i] = byte(3 * i)
	}
	for _, hop := range []struct {
		dir      int
		from, to *strategy.ActivationStage
	}{{scoring.Forward, a, b}, {scoring.Backward, b, a}} {
		msg, err := hop.from.Encode(hop.dir, 0, 4, 8, x)
		if err != nil {
			t.Fatalf("direction %d: %v", hop.dir, err)
		}
		if got, err := hop.to.Decode(hop.dir, 0, 4, 8, msg, size); err != nil || string(got) != string(x) {
			t.Fatalf("direction %d: % x, %v", hop.dir, got, err)
		}
	}
}

// A codec that keeps state from the forward pass for the backward one
// (testdata/keyed.wasm codes the gradient with the key it chose, or
// read, for the activation) sees that state only when each stage's
// encoder and decoder share an instance: the backward message is the
// gradient XOR the forward key. With an instance per direction and side
// the backward instances never saw the key, and the gradient goes raw.
func TestActivationStagesShareState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	module := read(t, "testdata/keyed.wasm")
	const size = 2 * 4 * 8
	a, b := stagePair(t, eng, module, size)
	bwdEnc, err := strategy.NewActivationEncoder(ctx, eng, module, size, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer bwdEnc.Close(ctx)

	x, g := make([]byte, size), make([]byte, size)
	for step := range 3 {
		for i := range x {
			x[i], g[i] = byte(3*i+step), byte(5*i+7*step)
		}
		fwd, err := a.Encode(scoring.Forward, 0, 4, 8, x)
		if err != nil {
			t.Fatal(err)
		}
		key := fwd[0]
		if got, err := b.Decode(scoring.Forward, 0, 4, 8, fwd, size); err != nil || string(got) != string(x) {
			t.Fatalf("step %d forward: % x, %v", step, got, err)
		}
		bwd, err := b.Encode(scoring.Backward, 0, 4, 8, g)
		if err != nil {
			t.Fatal(err)
		}
		if len(bwd) != size || bwd[0] != g[0]^key || bwd[size-1] != g[size-1]^key {
			t.Fatalf("step %d: backward message % x, want the gradient XOR the forward key %#x", step, bwd, key)
		}
		if got, err := a.Decode(scoring.Backward, 0, 4, 8, bwd, size); err != nil || string(got) != string(g) {
			t.Fatalf("step %d backward: % x, %v", step, got, err)
		}
		// A separate backward encoder has no key: what it sends differs.
		raw, err := bwdEnc.Encode(scoring.Backward, 0, 4, 8, g)
		if err != nil || string(raw) != string(g) {
			t.Fatalf("step %d: a backward encoder of its own sent % x, %v; want the raw gradient", step, raw, err)
		}
	}
}
