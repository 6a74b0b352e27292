package meter_test

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/arena-dev/arena/meter"
)

// loopFuncs are testdata/loops.wat's exports; the counted ones first.
var (
	countedFuncs = []string{"top_ge_u", "top_ge_s", "top_const", "top_eq_4", "top_eq_down_8",
		"bottom_lt_u", "bottom_lt_s", "bottom_ne", "bottom_ne_8", "bottom_countdown", "scan"}
	checkedFuncs = []string{"moves_bound", "moves_i", "early_exit", "step_3", "eq_step_6", "other_var",
		"top_if", "bottom_block", "continues", "escapes", "returns", "calls", "nested"}
)

func loopsWasm(t testing.TB) []byte {
	t.Helper()
	wasm, err := os.ReadFile("testdata/loops.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func TestCountedLoopsAreRecognized(t *testing.T) {
	t.Parallel()
	wasm := loopsWasm(t)
	_, info, err := meter.Meter(wasm)
	if err != nil {
		t.Fatal(err)
	}
	// Every function has one loop but nested, which has two: its inner one
	// is counted, its outer one is not (its body is no straight line).
	if info.Loops != 25 || info.CountedLoops != len(countedFuncs)+1 {
		t.Errorf("%d loops, %d counted; want 25 and %d", info.Loops, info.CountedLoops, len(countedFuncs)+1)
	}
	_, info, err = meter.MeterWith(wasm, meter.Options{CheckEveryPass: true})
	if err != nil || info.CountedLoops != 0 {
		t.Errorf("CheckEveryPass still counted %d loops (%v)", info.CountedLoops, err)
	}
}

// loopRun is what one metered call did.
type loopRun struct {
	result    uint64
	fuel      int64
	err       error
	exhausted bool // trapped with the counter below the floor
}

func (m metered) run(t *testing.T, budget int64, fn string, i, n int32) loopRun {
	t.Helper()
	m.fuel.Set(uint64(budget))
	m.mark.Set(uint64(budget))
	res, err := m.mod.ExportedFunction(fn).Call(t.Context(), uint64(uint32(i)), uint64(uint32(n)))
	o := loopRun{fuel: budget - int64(m.fuel.Get()), err: err}
	if err == nil {
		o.result = res[0]
	}
	o.exhausted = err != nil && o.fuel > budget
	return o
}

// TestCountedLoopsPayWhatEveryPassWould runs every loop both ways, paid
// on entry and checked at every pass, from starts around interesting
// bounds: where the loop ends, the two must agree on its result and its
// fuel to the unit; where checking every pass runs out of fuel, paying
// on entry must run out too, before the first pass; and a trap in the
// body under one must be a trap under the other.
func TestCountedLoopsPayWhatEveryPassWould(t *testing.T) {
	t.Parallel()
	wasm := loopsWasm(t)
	counted := instantiate(t, wasm)
	everyPass := instantiateWith(t, wasm, meter.Options{CheckEveryPass: true})

	type start struct{ i, n int32 }
	starts := []start{{0, 0}, {0, 1}, {0, 10}, {10, 0}, {5, 5}, {-1, 5}, {5, -1}, {-5, 5},
		{math.MaxInt32, math.MinInt32}, {math.MinInt32, math.MaxInt32}, {math.MaxInt32 - 3, math.MaxInt32},
		{0, 1000}, {1000, 0}, {4, 1000}, {996, 1000}, {1000, 996}, {16380, 16390}, {16400, 16380},
		// Passes whose header the budget covers but whose whole cost it
		// does not: a loop that paid only for its header on entry would
		// run past the budget unchecked.
		{0, 60_000}, {0, 100_000}, {0, 120_000}, {0, 200_000}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, base := range []int32{0, 256, 1000, -1000, math.MaxInt32 - 100, math.MinInt32 + 100, -256} {
		for range 40 {
			starts = append(starts, start{base + rng.Int32N(1200) - 600, base})
		}
	}
	ended := 0
	for _, fn := range append(countedFuncs, checkedFuncs...) {
		for _, s := range starts {
			if compareLoopRuns(t, counted, everyPass, fn, s.i, s.n) {
				ended++
			}
		}
	}
	if ended < len(starts) {
		t.Errorf("only %d runs ended: the comparison saw too little", ended)
	}
}

// FuzzCountedLoops compares the two ways of paying from any start.
func FuzzCountedLoops(f *testing.F) {
	f.Add(uint8(0), int32(0), int32(10))
	f.Add(uint8(7), int32(5), int32(5))
	f.Add(uint8(3), int32(-7), int32(9))
	wasm := loopsWasm(f)
	counted, everyPass := instantiate(f, wasm), instantiateWith(f, wasm, meter.Options{CheckEveryPass: true})
	f.Fuzz(func(t *testing.T, fn uint8, i, n int32) {
		all := append(countedFuncs, checkedFuncs...)
		compareLoopRuns(t, counted, everyPass, all[int(fn)%len(all)], i, n)
	})
}

// compareLoopRuns runs fn from (i, n) paid on entry and checked at every
// pass, reports any difference, and says whether the run ended.
func compareLoopRuns(t *testing.T, counted, everyPass metered, fn string, i, n int32) bool {
	t.Helper()
	const budget = 1 << 20 // about 100k passes: endless loops stop fast
	want := everyPass.run(t, budget, fn, i, n)
	got := counted.run(t, budget, fn, i, n)
	if want.err != nil && !want.exhausted && !strings.Contains(want.err.Error(), "out of bounds") {
		t.Fatalf("%s(%d, %d): every pass failed for another reason than fuel or the body's trap: %v", fn, i, n, want.err)
	}
	switch {
	case want.err == nil:
		if got.err != nil || got.result != want.result || got.fuel != want.fuel {
			t.Errorf("%s(%d, %d): paid on entry %d with %d fuel (%v); every pass %d with %d fuel",
				fn, i, n, int32(got.result), got.fuel, got.err, int32(want.result), want.fuel)
		}
		return true
	case want.exhausted:
		if !got.exhausted {
			t.Errorf("%s(%d, %d): every pass ran out of fuel, paid on entry: %v after %d fuel", fn, i, n, got.err, got.fuel)
		}
	case got.err == nil:
		t.Errorf("%s(%d, %d): every pass trapped (%v), paid on entry returned %d", fn, i, n, want.err, int32(got.result))
	}
	return false
}

// TestCountedLoopsPayForFullCycles pins what no run can afford to check
// pass by pass: a bottom-tested loop that starts at its bound wraps all
// the way round, 2^32 passes, and a step that never meets the bound
// spends the whole budget. With a budget of 0 the loop's charge on entry
// is the fuel reported: entry + passes × the header's cost.
func TestCountedLoopsPayForFullCycles(t *testing.T) {
	t.Parallel()
	m := instantiate(t, loopsWasm(t))
	for _, c := range []struct {
		fn         string
		i, n       int32
		passes     int64 // through the header
		oneI, oneN int32 // a start with one pass
		twoI, twoN int32 // and one with two
	}{
		{fn: "bottom_ne", i: 7, n: 7, passes: 1 << 32, oneI: 0, oneN: 1, twoI: 0, twoN: 2},
		{fn: "bottom_countdown", i: 0, n: 1, passes: 1 << 32, oneI: 1, oneN: 1, twoI: 2, twoN: 1},
		{fn: "bottom_ne_8", i: 256, n: 0, passes: 1 << 29, oneI: 248, oneN: 0, twoI: 240, twoN: 0},
		{fn: "top_ge_u", i: 0, n: -1, passes: 1 << 32, oneI: 0, oneN: 0, twoI: 0, twoN: 1},
		{fn: "top_eq_4", i: 4, n: 0, passes: 1 << 30, oneI: 0, oneN: 0, twoI: 0, twoN: 4},
	} {
		one := m.run(t, 0, c.fn, c.oneI, c.oneN)
		two := m.run(t, 0, c.fn, c.twoI, c.twoN)
		cost := two.fuel - one.fuel
		entry := one.fuel - cost
		if !one.exhausted || !two.exhausted || cost <= 0 || entry < 0 {
			t.Fatalf("%s: with no budget, one pass used %d, two %d: not a charge on entry", c.fn, one.fuel, two.fuel)
		}
		got := m.run(t, 0, c.fn, c.i, c.n)
		if want := entry + c.passes*cost; got.fuel != want || !got.exhausted {
			t.Errorf("%s(%d, %d) charged %d on entry, want %d (%d passes of %d)", c.fn, c.i, c.n, got.fuel, want, c.passes, cost)
		}
	}
	// A step of 4 from 1 never meets 0: the budget is spent at once.
	const budget = 1 << 40
	if got := m.run(t, budget, "top_eq_4", 1, 0); !got.exhausted || got.fuel != budget+1 {
		t.Errorf("endless top_eq_4: used %d of %d (%v), want the budget and one more", got.fuel, budget, got.err)
	}
}
