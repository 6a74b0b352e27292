//go:build !race

// Go-built modules take minutes to compile under the race detector, so
// make test runs this file in its race-free pass.

package strategy_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/guest/gradient"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/strategy"
)

// buildExample compiles one shipped example with the Go toolchain.
func buildExample(t *testing.T, kind, name string) []byte {
	t.Helper()
	list, err := examples.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Kind == kind && e.Name == name {
			path, err := examples.Build(context.Background(), e, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no example %s/%s", kind, name)
	return nil
}

// The shipped Go examples are the baseline package's strategies compiled
// to WebAssembly, so in a trainer's loop every kind must do bit for bit
// what the same Go code does natively.
func TestGoBuiltStrategiesMatchTheirNativeCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := engine(t)
	lim := smallCalls()
	lim.FuelPerTask = 50_000_000 // Go's runtime starts up in the first call

	t.Run("optimizer adam", func(t *testing.T) {
		const n, steps = 300, 40
		opt, err := strategy.NewOptimizer(ctx, eng, buildExample(t, "optimizer", "adam"), n, lim)
		if err != nil {
			t.Fatal(err)
		}
		defer opt.Close(ctx)
		native := baseline.NewAdam(baseline.AdamLR)
		native.Init(n)
		got, want, grads := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range got {
			got[i] = math.Sin(float64(i))
			want[i] = got[i]
		}
		for step := range steps {
			for i := range grads {
				grads[i] = got[i] - math.Cos(float64(i*step))
			}
			if err := opt.Step(step, got, grads, 1); err != nil {
				t.Fatal(err)
			}
			native.Step(step, want, grads, 1)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("step %d parameter %d: %v in the sandbox, %v natively", step, i, got[i], want[i])
				}
			}
		}
	})

	t.Run("lr_schedule cosine", func(t *testing.T) {
		const total = 200
		sched, err := strategy.NewSchedule(ctx, eng, buildExample(t, "lr_schedule", "cosine"), total, lim)
		if err != nil {
			t.Fatal(err)
		}
		defer sched.Close(ctx)
		native := &baseline.Cosine{Peak: baseline.CosinePeak, Warmup: baseline.DefaultWarmup}
		native.Init(total)
		for step := range total {
			got, err := sched.LR(step, 1)
			if want := native.LR(step, total, 1); err != nil || got != want {
				t.Fatalf("step %d: rate %v (%v) in the sandbox, %v natively", step, got, err, want)
			}
		}
	})

	t.Run("grad_compression topk-ef", func(t *testing.T) {
		const workers, n, budget = 2, 500, 400
		module := buildExample(t, "grad_compression", "topk-ef")
		agg, err := strategy.NewGradientAggregator(ctx, eng, module, workers, n, budget, lim)
		if err != nil {
			t.Fatal(err)
		}
		defer agg.Close(ctx)
		nativeAgg := &baseline.TopK{ErrorFeedback: true, Decay: baseline.TopKEFDecay}
		nativeAgg.Init(-1, workers, n, budget)
		var ws []*strategy.GradientWorker
		var natives []*baseline.TopK
		for k := range workers {
			w, err := strategy.NewGradientWorker(ctx, eng, module, k, workers, n, budget, lim)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(ctx)
			ws = append(ws, w)
			nw := &baseline.TopK{ErrorFeedback: true, Decay: baseline.TopKEFDecay}
			nw.Init(k, workers, n, budget)
			natives = append(natives, nw)
		}
		grad, got, want, buf := make([]float64, n), make([]float64, n), make([]float64, n), make([]byte, budget)
		for step := range 5 {
			for k, w := range ws {
				for i := range grad {
					grad[i] = math.Sin(float64(i*(k+1) + step))
				}
				sameAsNative(t, k, step, grad, w, natives[k], agg, nativeAgg, buf, got, want)
			}
		}
	})

	// A tensor-aware compressor gets the trainer's table (gc_init2) and
	// sends, and decodes, what its native code does.
	t.Run("grad_compression templar", func(t *testing.T) {
		const workers, budget, steps = 2, 600, 4
		table := []arena.Tensor{
			{Name: "emb", Role: arena.TensorEmbedding, Rows: 100, Cols: 8, Offset: 0},
			{Name: "w", Role: arena.TensorMLPIn, Rows: 8, Cols: 70, Offset: 800},
			{Name: "g", Role: arena.TensorNormGain, Rows: 1, Cols: 8, Offset: 1360},
		}
		const n = 1368
		module := buildExample(t, "grad_compression", "templar")
		agg, err := strategy.NewTensorGradientAggregator(ctx, eng, module, workers, table, budget, steps, lim)
		if err != nil {
			t.Fatal(err)
		}
		defer agg.Close(ctx)
		ts := make([]gradient.Tensor, len(table))
		for i, e := range table {
			ts[i] = gradient.Tensor{Name: e.Name, Role: gradient.Role(e.Role), Rows: e.Rows, Cols: e.Cols, Offset: e.Offset}
		}
		nativeAgg := gradcodec.NewTemplar()
		nativeAgg.Init(-1, workers, ts, budget, steps)
		grad, got, want, buf := make([]float64, n), make([]float64, n), make([]float64, n), make([]byte, budget)
		for k := range workers {
			w, err := strategy.NewTensorGradientWorker(ctx, eng, module, k, workers, table, budget, steps, lim)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(ctx)
			native := gradcodec.NewTemplar()
			native.Init(k, workers, ts, budget, steps)
			for step := range steps {
				for i := range grad {
					grad[i] = math.Sin(float64(i*(k+1)+step)) * float64(1+i%13)
				}
				sameAsNative(t, k, step, grad, w, native, agg, nativeAgg, buf, got, want)
			}
		}
	})

	t.Run("activation_compression byteplane", func(t *testing.T) {
		const rows, cols = 16, 64
		size := rows * cols * 2 // bf16
		module := buildExample(t, "activation_compression", "byteplane")
		enc, err := strategy.NewActivationEncoder(ctx, eng, module, size, lim)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close(ctx)
		dec, err := strategy.NewActivationDecoder(ctx, eng, module, size, lim)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close(ctx)
		tensor := make([]byte, size)
		for i := 0; i < len(tensor); i += 2 {
			v := math.Float32bits(float32(math.Tanh(float64(i) / 100)))
			tensor[i], tensor[i+1] = byte(v>>16), byte(v>>24) // bf16: the high half
		}
		msg, err := enc.Encode(scoring.Backward, baseline.BFloat16, rows, cols, tensor)
		if err != nil {
			t.Fatal(err)
		}
		native := &baseline.BytePlane{}
		buf := make([]byte, 2*size+4096)
		if n := native.Compress(baseline.BFloat16, rows, cols, tensor, buf); !bytes.Equal(msg, buf[:n]) || n >= size {
			t.Fatalf("a %d-byte message in the sandbox, %d bytes natively (of %d), or other bytes", len(msg), n, size)
		}
		out, err := dec.Decode(scoring.Backward, baseline.BFloat16, rows, cols, msg, size)
		if err != nil || !bytes.Equal(out, tensor) {
			t.Fatalf("the tensor did not come back whole: %v", err)
		}
	})
}

// nativeCodec is a gradient compressor's Go code, run outside the sandbox.
type nativeCodec interface {
	Compress(t int, grad []float64, out []byte) int
	Decompress(worker, t int, msg []byte, out []float64)
}

// sameAsNative compresses worker k's grad for step in the sandbox (w) and
// natively, then decodes both on the aggregators (agg, nativeAgg): the
// messages must be the same bytes and the decoded values the same bits.
// buf, got and want are scratch.
func sameAsNative(t *testing.T, k, step int, grad []float64, w *strategy.GradientWorker, native nativeCodec,
	agg *strategy.GradientAggregator, nativeAgg nativeCodec, buf []byte, got, want []float64) {
	t.Helper()
	msg, err := w.Compress(step, grad)
	if err != nil {
		t.Fatal(err)
	}
	size := native.Compress(step, grad, buf)
	if !bytes.Equal(msg, buf[:size]) {
		t.Fatalf("worker %d step %d: a %d-byte message in the sandbox, %d bytes natively, or other bytes", k, step, len(msg), size)
	}
	if err := agg.Decompress(k, step, msg, got); err != nil {
		t.Fatal(err)
	}
	nativeAgg.Decompress(k, step, buf[:size], want)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("worker %d step %d value %d: %v decoded in the sandbox, %v natively", k, step, i, got[i], want[i])
		}
	}
}
