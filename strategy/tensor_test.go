package strategy_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/strategy"
)

// A module of ABI v1 (signsgd exports opt_init only) run through
// NewTensorOptimizer sees one flat vector, the table's tensors end to
// end, and updates it as it always has.
func TestAnABIv1ModuleSeesOneFlatVector(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	table := []arena.Tensor{
		{Name: "wte", Role: arena.TensorEmbedding, Rows: 5, Cols: 4, Offset: 0},
		{Name: "h0.attn.q", Role: arena.TensorAttnQ, Rows: 4, Cols: 4, Offset: 20},
		{Name: "ln_f.g", Role: arena.TensorNormGain, Rows: 1, Cols: 4, Offset: 36},
	}
	const n, steps = 40, 50
	opt, err := strategy.NewTensorOptimizer(ctx, eng, read(t, "../examples/optimizer/signsgd.wasm"), table, steps, smallCalls())
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close(ctx)
	if opt.Tensors() {
		t.Error("a v1 module reports the tensor table")
	}
	params, grads, want := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range params {
		params[i] = float64(i%7) - 3
		want[i] = params[i]
	}
	for step := range steps {
		copy(grads, params)
		if err := opt.Step(step, params, grads, 1); err != nil {
			t.Fatal(err)
		}
		lr := 0.05 / math.Sqrt(float64(step+1))
		for i, p := range want {
			if p != 0 {
				want[i] = p - math.Copysign(lr, p)
			}
		}
	}
	for i := range want {
		if params[i] != want[i] {
			t.Fatalf("parameter %d: %v in the sandbox, %v in Go", i, params[i], want[i])
		}
	}
	if err := opt.Step(steps, params[:n-1], grads, 1); err == nil || !strings.Contains(err.Error(), "39 parameters and 40 gradients for an optimizer of 40") {
		t.Errorf("a step of the wrong length: %v", err)
	}
}

// A table that cannot be handed to a module is refused as the caller's
// mistake, before any module is loaded.
func TestNewTensorOptimizerRefusesBadTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	module := read(t, "../sandbox/testdata/abi_v2.wasm")
	for _, c := range []struct {
		table []arena.Tensor
		err   string
	}{
		{[]arena.Tensor{{Name: "a", Rows: 2, Cols: 2}, {Name: "b", Rows: 2, Cols: 2, Offset: 2}}, "b starts at 2, inside the tensor before it"},
		{[]arena.Tensor{{Name: strings.Repeat("n", 32), Rows: 2, Cols: 2}}, "a name of 1 to 31 bytes, not 32"},
		{nil, "1 to 4096 tensors, not 0"},
	} {
		_, err := strategy.NewTensorOptimizer(ctx, eng, module, c.table, 10, smallCalls())
		var run *sandbox.RunError
		if err == nil || errors.As(err, &run) || strings.Contains(err.Error(), "strategy failed") || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: %v; want %q", c.table, err, c.err)
		}
	}
	// The module itself is fine.
	opt, err := strategy.NewTensorOptimizer(ctx, eng, module, []arena.Tensor{{Name: "a", Rows: 2, Cols: 2}}, 10, smallCalls())
	if err != nil || !opt.Tensors() {
		t.Fatalf("a good table: %v", err)
	}
	opt.Close(ctx)
}

// A v2 module that traps or spins in opt_init2 fails cleanly, as a v1
// module does in opt_init.
func TestAHostileTensorOptimizerFailsItsInit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	table := []arena.Tensor{{Name: "w", Role: arena.TensorAttnQ, Rows: 4, Cols: 4}}
	for name, reason := range map[string]string{
		"trapinit2": "strategy failed: opt_init2: wasm error: unreachable",
		"loopinit2": "strategy failed: opt_init2: fuel exhausted: the task's budget of 200000 fuel ran out",
	} {
		_, err := strategy.NewTensorOptimizer(ctx, eng, read(t, "../sandbox/testdata/"+name+".wasm"), table, 5, smallCalls())
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v; want %q", name, err, reason)
		}
	}
}
