// Command benchtable times the sandbox: three kernels natively in Go, in
// wazero unmetered, metered (package meter, as Arena runs it and with
// every loop checked at every pass) and with wazero's
// WithCloseOnContextDone, plus per-task instantiation and the load of a
// Go-built module of over 2 MB from a warm compilation cache. It prints the
// Markdown table the README shows (`make bench`).
package main

import (
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/meter"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
)

//go:embed kernels.wasm
var kernelsWasm []byte

const (
	updateN   = 1 << 20 // parameters
	matmulN   = 128
	compressN = 4 << 20 // bytes
)

// Offsets in the kernels' memory (400 pages).
const (
	offP = 0
	offG = 8 << 20
	offV = 16 << 20
	offA = 0
	offB = 1 << 20
	offC = 2 << 20
	offS = 0
	offD = 8 << 20
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

type variant struct {
	name string
	mod  api.Module
}

func run() error {
	ctx := context.Background()
	metered, _, err := meter.Meter(kernelsWasm)
	if err != nil {
		return err
	}
	everyPass, _, err := meter.MeterWith(kernelsWasm, meter.Options{CheckEveryPass: true})
	if err != nil {
		return err
	}
	plainRT := wazero.NewRuntime(ctx)
	closeRT := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer plainRT.Close(ctx)
	defer closeRT.Close(ctx)
	plain, err := plainRT.Instantiate(ctx, kernelsWasm)
	if err != nil {
		return err
	}
	withClose, err := closeRT.Instantiate(ctx, kernelsWasm)
	if err != nil {
		return err
	}
	met, err := plainRT.InstantiateWithConfig(ctx, metered, wazero.NewModuleConfig().WithName("metered"))
	if err != nil {
		return err
	}
	metEvery, err := plainRT.InstantiateWithConfig(ctx, everyPass, wazero.NewModuleConfig().WithName("every-pass"))
	if err != nil {
		return err
	}
	for _, m := range []api.Module{met, metEvery} {
		m.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal).Set(math.MaxInt64)
	}
	for _, m := range []api.Module{plain, withClose, met, metEvery} {
		fill(m.ExportedMemory("memory"))
	}

	native := newNative()
	kernels := []struct {
		name   string
		native func()
		call   func(api.Module)
	}{
		{"optimizer update, 1M float64 parameters", native.update, func(m api.Module) { call(ctx, m, "update", offP, offG, offV, updateN) }},
		{"matrix multiply, 128×128 float64", native.matmul, func(m api.Module) { call(ctx, m, "matmul", offA, offB, offC, matmulN) }},
		{"byte-wise delta coder with checksum, 4 MiB", func() { native.compress() }, func(m api.Module) { call(ctx, m, "compress", offS, offD, compressN) }},
	}
	fmt.Println("| kernel | native Go | wazero | wazero metered | metered, every pass checked | wazero, close on context done | metered / native | metering overhead | overhead, every pass checked | close-on-done / wazero |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	timeoutCtx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for _, k := range kernels {
		// Interleaved rounds, the fastest call of each: the machine's noise
		// only ever adds time, and alternating keeps drift from favouring
		// one variant.
		t := best(5, k.native, func() { k.call(plain) }, func() { k.call(met) }, func() { k.call(metEvery) },
			func() { callCtx(timeoutCtx, withClose, k.name) })
		n, u, m, e, c := t[0], t[1], t[2], t[3], t[4]
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %.2f× | %+.1f%% | %+.1f%% | %.1f× |\n",
			k.name, dur(n), dur(u), dur(m), dur(e), dur(c), m/n, 100*(m/u-1), 100*(e/u-1), c/u)
	}

	inst, load, err := sandboxTimes(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\n| sandbox operation | time |\n|---|---:|\n")
	fmt.Printf("| instantiate a small module for one task (examples/optimizer/signsgd.wasm) | %s |\n", dur(inst))
	fmt.Printf("| load a %.1f MB Go-built module that logs with fmt (internal/benchtable/logged), cold: meter, validate, compile | %s |\n", load.size/1e6, dur(load.cold))
	fmt.Printf("| load the same module from the disk cache, as a restarted worker does | %s |\n", dur(load.ns))
	return nil
}

// callCtx calls the named kernel on the close-on-done module under a
// cancellable context, which is what makes that mode pay its cost.
func callCtx(ctx context.Context, m api.Module, kernel string) {
	switch kernel[:4] {
	case "opti":
		callWith(ctx, m, "update", offP, offG, offV, updateN)
	case "matr":
		callWith(ctx, m, "matmul", offA, offB, offC, matmulN)
	default:
		callWith(ctx, m, "compress", offS, offD, compressN)
	}
}

func call(ctx context.Context, m api.Module, fn string, args ...uint64) {
	callWith(ctx, m, fn, args...)
}

func callWith(ctx context.Context, m api.Module, fn string, args ...uint64) {
	if _, err := m.ExportedFunction(fn).Call(ctx, args...); err != nil {
		panic(fmt.Sprintf("%s: %v", fn, err))
	}
}

// best runs each function for rounds interleaved rounds of about 200 ms
// and returns each one's fastest single call, in nanoseconds. Every kernel
// call takes a millisecond or more, so one call is timed well; the fastest
// of hundreds is the one no noise reached, which a round's mean is not on
// a shared machine.
func best(rounds int, fs ...func()) []float64 {
	out := make([]float64, len(fs))
	for i := range out {
		out[i] = math.Inf(1)
	}
	for range rounds {
		for i, f := range fs {
			f() // warm
			for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
				begin := time.Now()
				f()
				out[i] = min(out[i], float64(time.Since(begin).Nanoseconds()))
			}
		}
	}
	return out
}

// bench returns nanoseconds per call.
func bench(f func()) float64 {
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			f()
		}
	})
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// fill gives every kernel the same deterministic input.
func fill(mem api.Memory) {
	buf, _ := mem.Read(0, mem.Size())
	for i := 0; i+8 <= len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], math.Float64bits(float64(i%1000)/1000))
	}
}

type nativeKernels struct {
	p, g, v, a, b, c []float64
	src, dst         []byte
}

func newNative() *nativeKernels {
	k := &nativeKernels{
		p: make([]float64, updateN), g: make([]float64, updateN), v: make([]float64, updateN),
		a: make([]float64, matmulN*matmulN), b: make([]float64, matmulN*matmulN), c: make([]float64, matmulN*matmulN),
		src: make([]byte, compressN), dst: make([]byte, compressN),
	}
	for i := range k.g {
		k.p[i], k.g[i] = float64(i%1000)/1000, float64(i%997)/997
	}
	for i := range k.a {
		k.a[i], k.b[i] = float64(i%1000)/1000, float64(i%991)/991
	}
	for i := range k.src {
		k.src[i] = byte(i * 7)
	}
	return k
}

func (k *nativeKernels) update() {
	for i := range k.p {
		vi := 0.9*k.v[i] + k.g[i]
		k.v[i] = vi
		k.p[i] -= 0.01 * vi
	}
}

func (k *nativeKernels) matmul() {
	n := matmulN
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var sum float64
			for kk := 0; kk < n; kk++ {
				sum += k.a[i*n+kk] * k.b[kk*n+j]
			}
			k.c[i*n+j] = sum
		}
	}
}

func (k *nativeKernels) compress() uint32 {
	var prev, a, b uint32 = 0, 1, 0
	for i, c := range k.src {
		cur := uint32(c)
		k.dst[i] = byte(cur - prev)
		prev = cur
		a = (a + cur) % 65521
		b = (b + a) % 65521
	}
	return b<<16 | a
}

type loadTime struct {
	ns, cold float64
	size     float64
}

// sandboxTimes measures what Arena does per task and per module load.
func sandboxTimes(ctx context.Context) (float64, loadTime, error) {
	dir, err := os.MkdirTemp("", "arena-bench")
	if err != nil {
		return 0, loadTime{}, err
	}
	defer os.RemoveAll(dir)
	list, err := examples.List()
	if err != nil {
		return 0, loadTime{}, err
	}
	_, self, _, _ := runtime.Caller(0)
	list = append(list, examples.Example{Kind: "optimizer", Name: "logged", Go: filepath.Join(filepath.Dir(self), "logged")})
	paths := map[string]string{}
	for _, e := range list {
		if e.Name == "signsgd" || e.Name == "logged" {
			if paths[e.Name], err = examples.Build(ctx, e, dir); err != nil {
				return 0, loadTime{}, err
			}
		}
	}
	small, _ := os.ReadFile(paths["signsgd"])
	big, _ := os.ReadFile(paths["logged"])
	bench, _ := scoring.New(scoring.OptimizerKind, nil)
	lim := scoring.SandboxLimits(arena.DefaultLimits())

	eng := sandbox.NewEngine(4)
	defer eng.Close(ctx)
	mod, err := eng.Load(ctx, small, bench.ABI(), lim)
	if err != nil {
		return 0, loadTime{}, err
	}
	defer mod.Release(ctx)
	inst := benchErr(func() error {
		i, err := mod.Instantiate(ctx, 1, lim)
		if err == nil {
			i.Close(ctx)
		}
		return err
	})

	cacheDir := dir + "/cache"
	warm, err := sandbox.NewEngineWithDiskCache(1, cacheDir)
	if err != nil {
		return 0, loadTime{}, err
	}
	m, err := warm.Load(ctx, big, bench.ABI(), lim) // fills the disk cache
	if err != nil {
		return 0, loadTime{}, err
	}
	m.Release(ctx)
	warm.Close(ctx)
	load := benchErr(func() error {
		// A fresh engine on the same cache: what a restarted worker does.
		e, err := sandbox.NewEngineWithDiskCache(1, cacheDir)
		if err != nil {
			return err
		}
		defer e.Close(ctx)
		m, err := e.Load(ctx, big, bench.ABI(), lim)
		if err == nil {
			m.Release(ctx)
		}
		return err
	})
	cold := benchErr(func() error {
		e := sandbox.NewEngine(1)
		defer e.Close(ctx)
		m, err := e.Load(ctx, big, bench.ABI(), lim)
		if err == nil {
			m.Release(ctx)
		}
		return err
	})
	return inst, loadTime{ns: load, cold: cold, size: float64(len(big))}, nil
}

func benchErr(f func() error) float64 {
	return bench(func() {
		if err := f(); err != nil {
			panic(err)
		}
	})
}
