package scoring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// workedTable is docs/optimizer-abi.md's worked example (guest/optimizer
// pins the same bytes on the module's side).
var workedTable = []arena.Tensor{
	{Name: "wte", Role: arena.TensorEmbedding, Rows: 4, Cols: 3, Offset: 0},
	{Name: "ln_f.g", Role: arena.TensorNormGain, Rows: 1, Cols: 3, Offset: 12},
}

const workedTableHex = "" +
	"77746500000000000000000000000000" + "00000000000000000000000000000000" +
	"01000000" + "04000000" + "03000000" + "00000000" +
	"6c6e5f662e6700000000000000000000" + "00000000000000000000000000000000" +
	"09000000" + "01000000" + "03000000" + "0c000000"

func TestTensorTableEncodingIsTheWorkedExample(t *testing.T) {
	t.Parallel()
	n, err := CheckTensorTable(workedTable)
	if err != nil || n != 15 {
		t.Fatalf("CheckTensorTable = %d, %v", n, err)
	}
	if got := hex.EncodeToString(EncodeTensorTable(workedTable)); got != workedTableHex {
		t.Errorf("encoded\n%s\nwant\n%s", got, workedTableHex)
	}
}

func TestTableChecksRefuseBadTables(t *testing.T) {
	t.Parallel()
	tn := func(name string, role arena.TensorRole, rows, cols, offset int) arena.Tensor {
		return arena.Tensor{Name: name, Role: role, Rows: rows, Cols: cols, Offset: offset}
	}
	ok := [][]arena.Tensor{
		FlatTable(1),
		FlatTable(maxParams),
		{tn(strings.Repeat("é", 15)+"x", arena.TensorHead, 2, 3, 0)}, // 31 bytes
		{tn("a", arena.TensorEmbedding, 2, 2, 0), tn("b", arena.TensorAttnQ, 2, 2, 4), tn("c", arena.TensorNormGain, 1, 2, 8)},
	}
	for _, table := range ok {
		if _, err := CheckTensorTable(table); err != nil {
			t.Errorf("%v: %v", table[0].Name, err)
		}
	}
	many := make([]arena.Tensor, MaxTensors+1)
	for i := range many {
		many[i] = tn(strings.Repeat("t", 1+i%30)+string(rune('a'+i/30%26))+string(rune('a'+i/780)), 0, 1, 1, i)
	}
	cases := []struct {
		name  string
		table []arena.Tensor
		err   string
	}{
		{"empty", nil, "1 to 4096 tensors, not 0"},
		{"too many", many, "1 to 4096 tensors, not 4097"},
		{"name too long", []arena.Tensor{tn(strings.Repeat("x", 32), 0, 1, 2, 0)}, "a name of 1 to 31 bytes, not 32"},
		{"name of 16 é", []arena.Tensor{tn(strings.Repeat("é", 16), 0, 1, 2, 0)}, "not 32"},
		{"no name", []arena.Tensor{tn("", 0, 1, 2, 0)}, "not 0"},
		{"NUL", []arena.Tensor{tn("a\x00b", 0, 1, 2, 0)}, "contains a NUL byte"},
		{"not UTF-8", []arena.Tensor{tn("\xff", 0, 1, 2, 0)}, "is not UTF-8"},
		{"twice", []arena.Tensor{tn("a", 0, 1, 2, 0), tn("a", 0, 1, 2, 2)}, `name "a" is used twice`},
		{"unknown role", []arena.Tensor{tn("a", 11, 1, 2, 0)}, "unknown role 11"},
		{"no rows", []arena.Tensor{tn("a", 0, 0, 2, 0)}, "a: 0×2"},
		{"negative cols", []arena.Tensor{tn("a", 0, 2, -1, 0)}, "a: 2×-1"},
		{"not at 0", []arena.Tensor{tn("a", 0, 1, 2, 1)}, "a starts at 1, leaving a gap after 0"},
		{"overlap", []arena.Tensor{tn("a", 0, 2, 2, 0), tn("b", 0, 1, 2, 3)}, "b starts at 3, inside the tensor before it, which ends at 4"},
		{"gap", []arena.Tensor{tn("a", 0, 2, 2, 0), tn("b", 0, 1, 2, 5)}, "b starts at 5, leaving a gap after 4"},
		{"out of order", []arena.Tensor{tn("b", 0, 1, 2, 2), tn("a", 0, 1, 2, 0)}, "b starts at 2"},
		{"too large", []arena.Tensor{tn("a", 0, 1<<14, 1<<14, 0), tn("b", 0, 1<<14, 1<<14, 1<<28)}, "more than 268435456 parameters"},
		{"rows past the limit", []arena.Tensor{tn("a", 0, maxParams+1, 1, 0)}, "rows and cols must be 1 to"},
	}
	for _, c := range cases {
		if _, err := CheckTensorTable(c.table); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v; want %q", c.name, err, c.err)
		}
	}
}

// instance loads a sandbox fixture as an optimizer and instantiates it.
func instance(t *testing.T, eng *sandbox.Engine, name string) *sandbox.Instance {
	t.Helper()
	ctx := context.Background()
	sl := SandboxLimits(arena.DefaultLimits())
	mod, err := eng.Load(ctx, fixture(t, name), OptimizerABI, sl)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	inst, err := mod.Instantiate(ctx, 1, sl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(ctx); mod.Release(ctx) })
	return inst
}

// record reads what the abi_* fixtures' inits store at address 0: n,
// table, count, steps, and which init ran (1: opt_init, 2: opt_init2).
func record(t *testing.T, inst *sandbox.Instance) (n, table, count, steps, init uint32) {
	t.Helper()
	b, err := inst.ReadBytes(0, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	return u(0), u(1), u(2), u(3), u(4)
}

func TestGuestTensorOptimizerSpeaksEachABI(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	const n = 15 // workedTable's
	// The fixtures' arena_alloc bumps a heap from 1024: params at 1024,
	// grads at 1024+8n, then the table at 1024+16n.
	const params, table = 1024, 1024 + 16*n

	for _, c := range []struct {
		fixture string
		v2      bool
	}{{"abi_v1", false}, {"abi_v2", true}, {"abi_both", true}} {
		inst := instance(t, eng, c.fixture)
		opt, err := NewGuestTensorOptimizer(inst, workedTable, 300)
		if err != nil {
			t.Fatalf("%s: %v", c.fixture, err)
		}
		if opt.Tensors() != c.v2 {
			t.Errorf("%s: Tensors() = %v", c.fixture, opt.Tensors())
		}
		gotN, gotTable, count, steps, init := record(t, inst)
		switch {
		case !c.v2 && (init != 1 || gotN != n):
			t.Errorf("%s: init %d with n %d; want opt_init(%d)", c.fixture, init, gotN, n)
		case c.v2 && (init != 2 || gotN != n || gotTable != table || count != 2 || steps != 300):
			t.Errorf("%s: init %d (n %d, table %#x, count %d, steps %d); want opt_init2(%d, %#x, 2, 300)", c.fixture, init, gotN, gotTable, count, steps, n, table)
		case c.v2:
			b, err := inst.ReadBytes(table, 2*TensorEntryBytes, nil)
			if err != nil || hex.EncodeToString(b) != workedTableHex {
				t.Errorf("%s: the table in memory is %x (%v)", c.fixture, b, err)
			}
		}
		p, g := make([]float64, n), make([]float64, n)
		for i := range p {
			p[i], g[i] = float64(i), 8
		}
		if err := opt.Step(0, p, g, 1); err != nil || p[0] != -1 || p[n-1] != n-2 {
			t.Errorf("%s: step: %v, %v", c.fixture, p, err)
		}
		back := make([]float64, 1)
		if err := inst.ReadFloat64s(params, back); err != nil || back[0] != -1 {
			t.Errorf("%s: the params buffer at %#x holds %v (%v); want -1 first", c.fixture, params, back, err)
		}
	}

	// Without a table, a v2 module gets one flat tensor and no run length.
	inst := instance(t, eng, "abi_v2")
	if opt, err := NewGuestOptimizer(inst, 7); err != nil || !opt.Tensors() {
		t.Fatalf("NewGuestOptimizer on a v2 module: %v", err)
	}
	gotN, gotTable, count, steps, _ := record(t, inst)
	b, _ := inst.ReadBytes(gotTable, TensorEntryBytes, nil)
	if want := EncodeTensorTable(FlatTable(7)); gotN != 7 || count != 1 || steps != 0 || !bytes.Equal(b, want) {
		t.Errorf("opt_init2(%d, _, %d, %d) with table %x; want opt_init2(7, _, 1, 0) with %x", gotN, count, steps, b, want)
	}
	if !bytes.Equal(EncodeTensorTable(FlatTable(7))[:8], []byte("params\x00\x00")) {
		t.Error(`the flat tensor is not named "params"`)
	}
}

// A table the host cannot hand over is the caller's error: refused before
// the module runs a single instruction, and not a RunError, so a trainer's
// module carries on.
func TestABadTableIsRefusedBeforeTheModuleSeesIt(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(2)
	defer eng.Close(context.Background())
	long := strings.Repeat("h", 32)
	for _, table := range [][]arena.Tensor{
		{{Name: "a", Rows: 2, Cols: 2}, {Name: "b", Rows: 2, Cols: 2, Offset: 3}}, // overlapping
		{{Name: long, Rows: 2, Cols: 2}},
	} {
		inst := instance(t, eng, "abi_v2")
		fuel := inst.FuelUsed()
		_, err := NewGuestTensorOptimizer(inst, table, 10)
		var run *sandbox.RunError
		if err == nil || errors.As(err, &run) || !strings.HasPrefix(err.Error(), "tensor table: ") {
			t.Errorf("%+v: %v; want the caller's error", table, err)
		}
		if _, _, _, _, init := record(t, inst); init != 0 || inst.FuelUsed() != fuel {
			t.Errorf("%+v: the module ran (init %d, fuel %d then %d)", table, init, fuel, inst.FuelUsed())
		}
	}
	inst := instance(t, eng, "abi_v2")
	if _, err := NewGuestTensorOptimizer(inst, workedTable, -1); err == nil || !strings.Contains(err.Error(), "not -1") {
		t.Errorf("a run of -1 steps: %v", err)
	}
}

// An ABI v2 module that traps or spins in opt_init2 fails its tasks with
// a reason, as a v1 module does in opt_init, stopped by fuel.
func TestHostileTensorOptimizersFailCleanly(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(4)
	defer eng.Close(context.Background())
	cases := []struct{ fixture, reason string }{
		{"trapinit2", "opt_init2: wasm error: unreachable"},
		{"loopinit2", "opt_init2: fuel exhausted"},
	}
	// Called directly, on a table with structure.
	for _, c := range cases {
		inst := instance(t, eng, c.fixture)
		_, err := NewGuestTensorOptimizer(inst, workedTable, 10)
		var run *sandbox.RunError
		if !errors.As(err, &run) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v; want a RunError with %q", c.fixture, err, c.reason)
		}
	}
	// And through the benchmark.
	lim := arena.DefaultLimits()
	lim.FuelPerTask = 10_000_000
	b, err := New(OptimizerKind, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		res, err := Evaluate(context.Background(), eng, b, lim, fixture(t, c.fixture), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.fixture, err)
		}
		if res.Status != arena.StatusFailed || res.Score != nil || !strings.Contains(res.Error, c.reason) || res.TimedOut {
			t.Errorf("%s: status %s, error %q, timed out %v; want failed with %q", c.fixture, res.Status, res.Error, res.TimedOut, c.reason)
		}
	}
}
