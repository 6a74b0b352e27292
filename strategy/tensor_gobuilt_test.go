//go:build !race

package strategy_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/strategy"
)

// buildTestdata compiles the Go strategy in testdata/name with the Go
// toolchain, as the examples are built.
func buildTestdata(t *testing.T, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/%s: %v\n%s", name, err, msg)
	}
	return read(t, out)
}

// roleRate is testdata/rolesgd's learning rate, computed natively.
func roleRate(role arena.TensorRole, t, steps int) float64 {
	lr := 0.01
	if role == arena.TensorEmbedding {
		lr = 0.1
	}
	if steps > 0 {
		lr = float64(lr*float64(steps-t)) / float64(steps)
	}
	return lr
}

// A Go strategy registered through the SDK's RegisterTensors sees the
// trainer's table and run length, and updates each tensor by its role,
// bit for bit as the same rule does natively.
func TestGoBuiltTensorOptimizerSeesTheTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	lim := smallCalls()
	lim.FuelPerTask = 50_000_000 // Go's runtime starts up in the first call
	module := buildTestdata(t, "rolesgd")

	table := []arena.Tensor{
		{Name: "wte", Role: arena.TensorEmbedding, Rows: 16, Cols: 8, Offset: 0},
		{Name: "h0.attn.q", Role: arena.TensorAttnQ, Rows: 8, Cols: 8, Offset: 128},
		{Name: "h0.mlp.in", Role: arena.TensorMLPIn, Rows: 8, Cols: 32, Offset: 192},
		{Name: "ln_f.g", Role: arena.TensorNormGain, Rows: 1, Cols: 8, Offset: 448},
		{Name: "lm_head", Role: arena.TensorHead, Rows: 8, Cols: 16, Offset: 456},
	}
	const n, steps = 584, 30
	opt, err := strategy.NewTensorOptimizer(ctx, eng, module, table, steps, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close(ctx)
	if !opt.Tensors() {
		t.Error("a module built with the SDK was not given the table")
	}
	want := fmt.Sprintf("init: %d tensors, %d steps\n", len(table), steps)
	for _, tn := range table {
		want += fmt.Sprintf("%s %s %dx%d@%d hidden=%v nil=true\n", tn.Name, tn.Role, tn.Rows, tn.Cols, tn.Offset, tn.Role.Hidden())
	}
	if got := opt.Log(); got != want {
		t.Errorf("Init saw\n%s\nwant\n%s", got, want)
	}

	got, native, grads := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range got {
		got[i] = math.Sin(float64(i))
		native[i] = got[i]
	}
	for step := range steps {
		for i := range grads {
			grads[i] = got[i] - math.Cos(float64(i*step))
		}
		if err := opt.Step(step, got, grads, 1); err != nil {
			t.Fatal(err)
		}
		for _, tn := range table {
			lr := roleRate(tn.Role, step, steps)
			for i := tn.Offset; i < tn.Offset+tn.Size(); i++ {
				native[i] -= float64(lr * grads[i])
			}
		}
		for i := range got {
			if got[i] != native[i] {
				t.Fatalf("step %d parameter %d: %v in the sandbox, %v natively", step, i, got[i], native[i])
			}
		}
	}

	// Without a table the same module sees one flat tensor and no run
	// length, and gives every parameter the flat rate.
	flat, err := strategy.NewOptimizer(ctx, eng, module, n, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer flat.Close(ctx)
	if want := fmt.Sprintf("init: 1 tensors, 0 steps\nparams flat 1x%d@0 hidden=false nil=true\n", n); flat.Log() != want || !flat.Tensors() {
		t.Errorf("without a table Init saw\n%s\nwant\n%s", flat.Log(), want)
	}
	p, g := make([]float64, n), make([]float64, n)
	p[0], g[0] = 1, 2
	if err := flat.Step(0, p, g, 1); err != nil || p[0] != 1-float64(0.01*2) {
		t.Errorf("a flat step: %v, %v", p[0], err)
	}
}
