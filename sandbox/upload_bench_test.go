package sandbox_test

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
)

var goBuilt struct {
	once sync.Once
	wasm []byte
	err  error
}

// goBuiltModule is the momentum example built with the Go toolchain: the
// 1.9 MB kind of module most uploads are.
func goBuiltModule(b *testing.B) []byte {
	goBuilt.once.Do(func() {
		list, err := examples.List()
		if err != nil {
			goBuilt.err = err
			return
		}
		dir, err := os.MkdirTemp("", "arena-bench-")
		if err != nil {
			goBuilt.err = err
			return
		}
		defer os.RemoveAll(dir)
		for _, e := range list {
			if e.Kind == "optimizer" && e.Name == "momentum" {
				path, err := examples.Build(context.Background(), e, dir)
				if err != nil {
					goBuilt.err = err
					return
				}
				goBuilt.wasm, goBuilt.err = os.ReadFile(path)
				return
			}
		}
	})
	if goBuilt.err != nil {
		b.Fatal(goBuilt.err)
	}
	return goBuilt.wasm
}

// BenchmarkUpload is what one upload of a distinct Go-built module costs
// the API, and what it costs a worker. "validate" is what the API does:
// every check, with wazero's interpreter validating, and no machine code.
// "load" also compiles the metered module to machine code: what the API
// did before, and what a worker still does once per module. Uploads per
// second on one core are 1e9 / ns/op. Run with
//
//	go test -run X -bench Upload -benchtime 10x ./sandbox
func BenchmarkUpload(b *testing.B) {
	wasm := goBuiltModule(b)
	bench, err := scoring.New("optimizer", nil)
	if err != nil {
		b.Fatal(err)
	}
	lim := scoring.SandboxLimits(arena.DefaultLimits())
	ctx := context.Background()
	b.Run("validate", func(b *testing.B) {
		e := sandbox.NewEngine(1)
		defer e.Close(ctx)
		b.SetBytes(int64(len(wasm)))
		cpu := cpuTime()
		for b.Loop() {
			if _, err := e.Validate(ctx, wasm, bench.ABI(), lim); err != nil {
				b.Fatal(err)
			}
		}
		reportRates(b, cpu)
	})
	// As the API runs them: concurrent uploads on every core.
	b.Run("validate-parallel", func(b *testing.B) {
		e := sandbox.NewEngine(1)
		defer e.Close(ctx)
		b.SetBytes(int64(len(wasm)))
		cpu := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.Validate(ctx, wasm, bench.ABI(), lim); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRates(b, cpu)
	})
	b.Run("load", func(b *testing.B) {
		b.SetBytes(int64(len(wasm)))
		cpu := cpuTime()
		for b.Loop() {
			e := sandbox.NewEngine(1) // nothing cached: every upload is a new module
			m, err := e.Load(ctx, wasm, bench.ABI(), lim)
			if err != nil {
				b.Fatal(err)
			}
			m.Release(ctx)
			e.Close(ctx)
		}
		reportRates(b, cpu)
	})
}

// cpuTime is the CPU time the process has used, every thread's: on a
// machine that runs other work, a fairer measure than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports uploads per second of wall time and the CPU time
// each took (garbage collection included).
func reportRates(b *testing.B, cpuBefore time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
	b.ReportMetric((cpuTime()-cpuBefore).Seconds()/float64(b.N), "cpu-s/op")
}
