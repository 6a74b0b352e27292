package meter_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/meter"
)

type metered struct {
	mod        api.Module
	fuel, mark api.MutableGlobal
}

// countModule instantiates the metered testdata/count.wasm.
func countModule(t *testing.T) (metered, []byte) {
	t.Helper()
	wasm, err := os.ReadFile("testdata/count.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return instantiate(t, wasm), wasm
}

func instantiate(t testing.TB, wasm []byte) metered {
	t.Helper()
	return instantiateWith(t, wasm, meter.Options{})
}

func instantiateWith(t testing.TB, wasm []byte, opts meter.Options) metered {
	t.Helper()
	ctx := context.Background()
	out, _, err := meter.MeterWith(wasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	return metered{mod: mod, fuel: mod.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal),
		mark: mod.ExportedGlobal(meter.MarkGlobal).(api.MutableGlobal)}
}

// call runs fn with budget and returns the fuel it used. The first yield
// comes at once, as if the budget were nearly spent, so yields happen in
// every run that loops with calls.
func (m metered) call(t *testing.T, budget int64, fn string, args ...uint64) (used int64, err error) {
	t.Helper()
	m.fuel.Set(uint64(budget))
	m.mark.Set(uint64(budget))
	_, err = m.mod.ExportedFunction(fn).Call(context.Background(), args...)
	return budget - int64(m.fuel.Get()), err
}

func TestFuelIsExactAndStable(t *testing.T) {
	t.Parallel()
	m, _ := countModule(t)
	cases := []struct {
		fn   string
		arg  uint64
		fuel int64
	}{
		{"sum", 0, 14},
		{"sum", 1, 27},
		{"sum", 10, 144},
		{"sum", 1000, 13014},
		{"fill", 0, 4},
		{"fill", 800, 104},
		{"fill", 65536, 4 + 8192},
		{"grow", 1, 2 + 8192},
		{"calls", 0, 5},
		{"calls", 1000, 10_005},
		{"calls", 300_000, 3_000_005}, // three yields on the way
	}
	for _, c := range cases {
		for run := 0; run < 2; run++ {
			used, err := m.call(t, 1<<40, c.fn, c.arg)
			if err != nil {
				t.Fatalf("%s(%d): %v", c.fn, c.arg, err)
			}
			if used != c.fuel {
				t.Errorf("%s(%d) run %d used %d fuel, want %d", c.fn, c.arg, run, used, c.fuel)
			}
		}
	}
}

func TestFuelExhaustionTraps(t *testing.T) {
	t.Parallel()
	m, _ := countModule(t)
	cases := []struct {
		fn     string
		arg    []uint64
		budget int64
	}{
		{"sum", []uint64{1_000_000}, 1000},   // a long loop
		{"recurse", nil, 1 << 20},            // recursion without loops: stops before the stack does
		{"fill", []uint64{65536}, 100},       // one bulk instruction
		{"grow", []uint64{2}, 10_000},        // growth is paid before it happens
		{"calls", []uint64{1_000_000}, 1000}, // a loop that calls, and yields
	}
	for _, c := range cases {
		used, err := m.call(t, c.budget, c.fn, c.arg...)
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("%s with %d fuel: %v, want an unreachable trap", c.fn, c.budget, err)
		}
		if used <= c.budget {
			t.Errorf("%s: used %d of %d and still trapped", c.fn, used, c.budget)
		}
	}
	if size, _ := m.mod.ExportedMemory("memory").Grow(0); size != 1 {
		t.Errorf("memory has %d pages; the unpaid grow happened", size)
	}
}

func TestStartBecomesAnExport(t *testing.T) {
	t.Parallel()
	m, wasm := countModule(t)
	started := func() uint64 {
		m.fuel.Set(1000)
		res, err := m.mod.ExportedFunction("started").Call(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	if started() != 0 {
		t.Fatal("the start function ran before the host set the budget")
	}
	if used, err := m.call(t, 100, meter.StartExport); err != nil || used != 2 {
		t.Errorf("arena_start: used %d, %v; want 2 ([i32.const global.set], end is free)", used, err)
	}
	if started() != 1 {
		t.Error("arena_start did not run the start function")
	}
	_, info, err := meter.Meter(wasm)
	if err != nil || !info.HasStart || info.Functions != 8 || len(info.Memories) != 1 || info.Memories[0].Max != 4 {
		t.Errorf("info: %+v %v", info, err)
	}
}

func TestReservedNamesAndUnsupportedInput(t *testing.T) {
	t.Parallel()
	// (module (global (export "arena_fuel") i32 (i32.const 0)))
	reserved := []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
		6, 6, 1, 0x7F, 0, 0x41, 0, 0x0B,
		7, 14, 1, 10, 'a', 'r', 'e', 'n', 'a', '_', 'f', 'u', 'e', 'l', 3, 0}
	cases := []struct {
		name string
		wasm []byte
		want string
	}{
		{"reserved export", reserved, "reserved"},
		{"not wasm", []byte("hello world"), "not a WebAssembly"},
		{"truncated", reserved[:20], "malformed"},
	}
	for _, c := range cases {
		_, _, err := meter.Meter(c.wasm)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}
