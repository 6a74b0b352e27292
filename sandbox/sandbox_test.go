package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
)

var optimizerABI = ABI{Funcs: []Func{
	{Name: "opt_init", Params: []api.ValueType{api.ValueTypeI32}},
	{Name: "opt_step", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeF64}},
}}

func testLimits() Limits {
	return Limits{MaxModuleBytes: 1 << 20, MemoryPages: 16, Fuel: 1 << 30, TaskTimeout: 10 * time.Second, MaxLogBytes: 64}
}

// loadFixture loads testdata/name.wasm as an optimizer on an engine of its
// own, released when the test ends.
func loadFixture(t *testing.T, name string) *Module {
	t.Helper()
	ctx := context.Background()
	e := NewEngine(4)
	m, err := e.Load(ctx, fixture(t, name), optimizerABI, testLimits())
	if err != nil {
		e.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Release(ctx)
		e.Close(ctx)
	})
	return m
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTailLogKeepsTheTail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		max    int
		writes []string
		want   string
	}{
		{10, []string{"hello"}, "hello"},
		{10, []string{"hello", "world!"}, "[1 earlier bytes dropped]\nelloworld!"},
		{4, []string{"abcdefgh"}, "[4 earlier bytes dropped]\nefgh"},
		{0, []string{"abc"}, "[3 earlier bytes dropped]\n"},
	}
	for _, c := range cases {
		l := newTailLog(c.max)
		for _, w := range c.writes {
			if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("write returned %d, %v", n, err)
			}
		}
		if got := l.String(); got != c.want {
			t.Errorf("max %d, writes %q: got %q, want %q", c.max, c.writes, got, c.want)
		}
	}
}

func TestLoadSharesCompiledModulesAndEvicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(1)
	defer e.Close(ctx)
	trap, loop := fixture(t, "trap"), fixture(t, "loop")

	a, err := e.Load(ctx, trap, optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Load(ctx, trap, optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the same bytes were compiled twice")
	}
	// Loading another module evicts the first, which stays usable until
	// its users release it.
	c, err := e.Load(ctx, loop, optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	inst, err := a.Instantiate(ctx, 1, testLimits())
	if err != nil {
		t.Fatalf("evicted module in use: %v", err)
	}
	inst.Close(ctx)
	a.Release(ctx)
	b.Release(ctx)
	c.Release(ctx)
	if len(e.modules) != 1 {
		t.Errorf("cache holds %d modules, capacity 1", len(e.modules))
	}
	// A different memory limit is a different compilation.
	lim := testLimits()
	lim.MemoryPages = 32
	d, err := e.Load(ctx, loop, optimizerABI, lim)
	if err != nil {
		t.Fatal(err)
	}
	if d == c {
		t.Error("memory limit ignored by the cache")
	}
	d.Release(ctx)
}

func TestDiskCacheKeepsValidatedMeteredModules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	wasm := fixture(t, "trap")
	load := func() *Module {
		e, err := NewEngineWithDiskCache(2, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close(ctx) })
		m, err := e.Load(ctx, wasm, optimizerABI, testLimits())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := load()
	entries, _ := os.ReadDir(filepath.Join(dir, "modules"))
	if len(entries) != 1 {
		t.Fatalf("disk cache holds %d entries, want the module's", len(entries))
	}
	entry := filepath.Join(dir, "modules", entries[0].Name())
	files, _ := os.ReadDir(entry)
	if names := fmt.Sprint(dirNames(files)); names != "[info.json metered.wasm wazero]" {
		t.Fatalf("the entry holds %s, want the metered module, its info and the machine code", names)
	}
	// A restarted engine reads them back and gets the same module.
	second := load()
	if first.Info.Functions != second.Info.Functions || len(second.Info.Exports) != len(first.Info.Exports) {
		t.Errorf("info differs: %+v vs %+v", first.Info, second.Info)
	}
	// A damaged entry is rebuilt, not trusted.
	os.WriteFile(filepath.Join(entry, "info.json"), []byte("{broken"), 0o644)
	if third := load(); third.Info.Functions != first.Info.Functions {
		t.Errorf("rebuilt info: %+v", third.Info)
	}
	// Only modules that passed validation are written.
	e, _ := NewEngineWithDiskCache(2, dir)
	defer e.Close(ctx)
	if _, err := e.Load(ctx, fixture(t, "badsig"), optimizerABI, testLimits()); !IsReject(err) {
		t.Fatalf("badsig: %v", err)
	}
	// Valid wasm that wazero refuses (a type mismatch): never written.
	invalid := []byte("\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x00\x01\x7f\x03\x02\x01\x00\x0a\x04\x01\x02\x00\x0b")
	if _, err := e.Load(ctx, invalid, optimizerABI, testLimits()); !IsReject(err) || !strings.Contains(err.Error(), "invalid WebAssembly") {
		t.Fatalf("invalid body: %v", err)
	}
	if after, _ := os.ReadDir(filepath.Join(dir, "modules")); len(after) != 1 {
		t.Errorf("a rejected module was cached: %d entries, want 1", len(after))
	}
	if files, _ := os.ReadDir(entry); len(files) != 3 {
		t.Errorf("temporary files left behind: %s", dirNames(files))
	}
}

func dirNames(entries []os.DirEntry) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestInstanceChecksPointersAndTimesOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bad := loadFixture(t, "badptr")
	inst, err := bad.Instantiate(ctx, 1, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	if _, err := inst.Alloc(16); err == nil || !strings.Contains(err.Error(), "outside memory") {
		t.Errorf("alloc past memory: %v", err)
	}
	if err := inst.WriteFloat64s(65536-8, []float64{1, 2}); err == nil {
		t.Error("write past memory succeeded")
	}
	var two [2]float64
	if err := inst.ReadFloat64s(65536-8, two[:]); err == nil {
		t.Error("read past memory succeeded")
	}
	if err := inst.WriteFloat64s(64, []float64{1.5, -2}); err != nil {
		t.Fatal(err)
	}
	if err := inst.ReadFloat64s(64, two[:]); err != nil || two != [2]float64{1.5, -2} {
		t.Errorf("round trip: %v %v", two, err)
	}

}

func TestSiblingsShareFuelButNotMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loop := loadFixture(t, "loop")
	lim := testLimits()
	lim.Fuel = 1_000_000
	first, err := loop.Instantiate(ctx, 1, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(ctx)
	second, err := first.Sibling()
	if err != nil {
		t.Fatal(err)
	}

	if err := first.WriteFloat64s(64, []float64{42}); err != nil {
		t.Fatal(err)
	}
	var got [1]float64
	if err := second.ReadFloat64s(64, got[:]); err != nil || got[0] != 0 {
		t.Errorf("a sibling read %v (%v) where the first instance wrote 42: memories are shared", got[0], err)
	}

	if _, err := first.Call("arena_alloc", 8); err != nil {
		t.Fatal(err)
	}
	before := second.FuelUsed()
	if before != first.FuelUsed() || before <= 0 {
		t.Errorf("fuel used: first %d, sibling %d; want one positive task total", first.FuelUsed(), before)
	}
	if _, err := second.Call("opt_step", 0, 0, 0, 0, 0); !isFuelExhausted(err) {
		t.Fatalf("sibling's loop: %v, want fuel exhausted", err)
	}
	// The budget is the task's: once one instance spent it, the others
	// have nothing left either.
	if _, err := first.Call("arena_alloc", 8); !isFuelExhausted(err) {
		t.Errorf("first instance after its sibling spent the budget: %v, want fuel exhausted", err)
	}
	if used := first.FuelUsed(); used <= lim.Fuel || used > lim.Fuel+4 {
		t.Errorf("task used %d fuel of %d", used, lim.Fuel)
	}
}

func isFuelExhausted(err error) bool {
	var re *RunError
	return errors.As(err, &re) && re.FuelExhausted
}

// Not parallel: while a guest spins, Go cannot preempt it, and a garbage
// collection started by another test would wait for it while the timer
// that stops it waits for the collection. Alone, the timer has a core.
func TestFuelEndsLoopsAndTheClockIsOnlyABackstop(t *testing.T) {
	ctx := context.Background()
	loop := loadFixture(t, "loop")

	// The budget runs out: a deterministic failure, with the fuel it used.
	lim := testLimits()
	lim.Fuel = 1_000_000
	for run := 0; run < 2; run++ {
		li, err := loop.Instantiate(ctx, 1, lim)
		if err != nil {
			t.Fatal(err)
		}
		_, err = li.Call("opt_step", 0, 0, 0, 0, 0)
		used := li.FuelUsed()
		li.Close(ctx)
		if re, ok := err.(*RunError); !ok || !re.FuelExhausted || re.Func != "opt_step" {
			t.Fatalf("loop with a small budget: %v, want fuel exhausted in opt_step", err)
		}
		// The loop pays 2 per iteration and is checked each time, so it
		// stops within one iteration of the budget.
		if used <= lim.Fuel || used > lim.Fuel+2 {
			t.Errorf("run %d used %d fuel of %d", run, used, lim.Fuel)
		}
	}

	// A budget too large to run out in time: the wall clock stops it.
	lim = testLimits()
	lim.Fuel = 1 << 60
	lim.TaskTimeout = 50 * time.Millisecond
	li, err := loop.Instantiate(ctx, 1, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer li.Close(ctx)
	_, err = li.Call("opt_step", 0, 0, 0, 0, 0)
	if re, ok := err.(*RunError); !ok || !re.TimedOut {
		t.Errorf("loop with a huge budget: %v, want a time-out", err)
	}
	// The time limit is the task's: a sibling made after it passed stops too.
	sib, err := li.Sibling()
	if err != nil {
		t.Fatal(err)
	}
	if _, err = sib.Call("opt_step", 0, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "time limit") {
		t.Errorf("sibling after the time limit: %v, want a time-out", err)
	}

	// Cancelling the host's context stops a guest too, and says so.
	cctx, cancel := context.WithCancel(ctx)
	lim.TaskTimeout = time.Hour
	li2, err := loop.Instantiate(cctx, 1, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer li2.Close(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err = li2.Call("opt_step", 0, 0, 0, 0, 0); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// Not parallel: it collects garbage, which stops every test. A guest that
// calls functions in a loop spins for seconds while this test collects
// garbage: the collection must finish while the guest still runs, which
// it can only because the guest yields every meter.YieldEvery fuel.
// Without yields it would wait for the guest's call to end.
func TestGarbageCollectionDoesNotWaitForAGuest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spin := loadFixture(t, "spincall")
	lim := testLimits()
	lim.Fuel = 10_000_000_000 // seconds of spinning
	lim.TaskTimeout = time.Minute
	inst, err := spin.Instantiate(ctx, 1, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)

	var finished atomic.Bool
	done := make(chan error, 1)
	go func() {
		_, err := inst.Call("opt_step", 0, 0, 0, 0, 0)
		finished.Store(true)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the guest is spinning
	runtime.GC()
	if finished.Load() {
		t.Fatal("the garbage collection waited for the guest's call to end")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled guest: %v", err)
	}
}

// FuzzLoad feeds arbitrary bytes to validation: it must never panic, and
// anything it accepts must instantiate or fail with a RunError.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"trap", "loop", "badptr", "badimport", "badsig", "bigmem"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte{})
	ctx := context.Background()
	e := NewEngine(8)
	f.Cleanup(func() { e.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		m, err := e.Load(ctx, wasm, optimizerABI, testLimits())
		if err != nil {
			if !IsReject(err) {
				t.Fatalf("non-rejection error: %v", err)
			}
			return
		}
		defer m.Release(ctx)
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		inst, err := m.Instantiate(tctx, 1, testLimits())
		if err != nil {
			if _, ok := err.(*RunError); !ok {
				t.Fatalf("instantiate: %v", err)
			}
			return
		}
		inst.Close(ctx)
	})
}

// A host that runs a strategy call by call refills the budget before each
// call: each call is bounded on its own, and the fuel used keeps counting.
func TestRefillBoundsEachCallAndKeepsCounting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(1)
	defer e.Close(ctx)
	wasm, err := os.ReadFile("../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	limits := testLimits()
	limits.MemoryPages = 256
	m, err := e.Load(ctx, wasm, optimizerABI, limits)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release(ctx)
	const n = 1000
	step := func(inst *Instance, ptr uint32) error {
		_, err := inst.Call("opt_step", 0, uint64(ptr), uint64(ptr), n, 0)
		return err
	}
	start := func(lim Limits) (*Instance, uint32) {
		inst, err := m.Instantiate(ctx, 1, lim)
		if err != nil {
			t.Fatal(err)
		}
		ptr, err := inst.Alloc(n * 8)
		if err != nil {
			t.Fatal(err)
		}
		return inst, ptr
	}

	// What one step costs, on a budget that never runs out.
	probe, ptr := start(limits)
	before := probe.FuelUsed()
	if err := step(probe, ptr); err != nil {
		t.Fatal(err)
	}
	perStep := probe.FuelUsed() - before
	probe.Close(ctx)

	lim := limits
	lim.Fuel = before + perStep*3/2 // set-up and a step and a half
	inst, ptr := start(lim)
	defer inst.Close(ctx)
	if err := step(inst, ptr); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := inst.Refill(perStep * 3 / 2); err != nil {
			t.Fatal(err)
		}
		if err := step(inst, ptr); err != nil {
			t.Fatalf("a refilled step: %v", err)
		}
	}
	if got, want := inst.FuelUsed(), before+6*perStep; got != want {
		t.Errorf("fuel used over six steps and five refills: %d, want %d", got, want)
	}
	// Without a refill the half left is not enough, and the error names
	// the allowance that ran out.
	err = step(inst, ptr)
	var re *RunError
	if !errors.As(err, &re) || !re.FuelExhausted || !strings.Contains(re.Reason, fmt.Sprintf("budget of %d fuel", perStep*3/2)) {
		t.Errorf("a step on half a step's fuel: %v", err)
	}

	// A stopped instance stays stopped.
	stopCtx, cancel := context.WithCancel(ctx)
	stopped, err := m.Instantiate(stopCtx, 1, limits)
	if err != nil {
		t.Fatal(err)
	}
	defer stopped.Close(ctx)
	cancel()
	time.Sleep(10 * time.Millisecond) // context.AfterFunc runs in its own goroutine
	if err := stopped.Refill(1000); err == nil {
		t.Error("refilled an instance whose context was cancelled")
	}
}
