package optimizer

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// workedTable is docs/optimizer-abi.md's worked example: two tensors,
// "wte", an embedding of 4 × 3 at 0, and "ln_f.g", a norm gain of 1 × 3
// at 12, for n = 15.
func workedTable() []byte {
	h := "" +
		// entry 0: "wte", then 29 NULs; role 1, rows 4, cols 3, offset 0
		"77746500000000000000000000000000" + "00000000000000000000000000000000" +
		"01000000" + "04000000" + "03000000" + "00000000" +
		// entry 1: "ln_f.g", then 26 NULs; role 9, rows 1, cols 3, offset 12
		"6c6e5f662e6700000000000000000000" + "00000000000000000000000000000000" +
		"09000000" + "01000000" + "03000000" + "0c000000"
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseTableReadsTheWorkedExample(t *testing.T) {
	got, err := parseTable(workedTable(), 2, 15)
	if err != nil {
		t.Fatal(err)
	}
	want := []Tensor{
		{Name: "wte", Role: Embedding, Rows: 4, Cols: 3, Offset: 0},
		{Name: "ln_f.g", Role: NormGain, Rows: 1, Cols: 3, Offset: 12},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

// entry writes one table entry with a name of raw bytes.
func entry(name []byte, role, rows, cols, offset uint32) []byte {
	e := make([]byte, entryBytes)
	copy(e, name)
	binary.LittleEndian.PutUint32(e[32:], role)
	binary.LittleEndian.PutUint32(e[36:], rows)
	binary.LittleEndian.PutUint32(e[40:], cols)
	binary.LittleEndian.PutUint32(e[44:], offset)
	return e
}

func TestParseTableRefusesWhatTheHostNeverSends(t *testing.T) {
	long := []byte(strings.Repeat("x", 31))
	if _, err := parseTable(entry(long, 0, 1, 2, 0), 1, 2); err != nil {
		t.Errorf("a name of 31 bytes: %v", err)
	}
	if got, err := parseTable(entry([]byte("future"), 77, 1, 2, 0), 1, 2); err != nil || got[0].Role.String() != "unknown" {
		t.Errorf("a role this SDK does not know: %+v, %v", got, err)
	}
	cat := func(es ...[]byte) []byte { return bytes.Join(es, nil) }
	cases := []struct {
		name     string
		b        []byte
		count, n int
		err      string
	}{
		{"no tensors", nil, 0, 0, "a table of 0 tensors"},
		{"too many", nil, 4097, 1, "a table of 4097 tensors"},
		{"short", entry([]byte("a"), 0, 1, 2, 0)[:47], 1, 2, "in 47 bytes, not 48"},
		{"name of 32 bytes", entry([]byte(strings.Repeat("x", 32)), 0, 1, 2, 0), 1, 2, "a name of 32 bytes"},
		{"empty name", entry(nil, 0, 1, 2, 0), 1, 2, "a name of 0 bytes"},
		{"not NUL-padded", entry([]byte("a\x00b"), 0, 1, 2, 0), 1, 2, "not NUL-padded"},
		{"not UTF-8", entry([]byte("\xff"), 0, 1, 2, 0), 1, 2, "not UTF-8"},
		{"no rows", entry([]byte("a"), 0, 0, 2, 0), 1, 0, "a: 0 × 2"},
		{"no cols", entry([]byte("a"), 0, 2, 0, 0), 1, 0, "a: 2 × 0"},
		{"twice", cat(entry([]byte("a"), 0, 1, 2, 0), entry([]byte("a"), 0, 1, 2, 2)), 2, 4, `"a" is used twice`},
		{"overlap", cat(entry([]byte("a"), 0, 1, 2, 0), entry([]byte("b"), 0, 1, 2, 1)), 2, 4, "b starts at 1, not where the tensors before it end (2)"},
		{"gap", cat(entry([]byte("a"), 0, 1, 2, 0), entry([]byte("b"), 0, 1, 2, 3)), 2, 5, "b starts at 3"},
		{"out of order", cat(entry([]byte("b"), 0, 1, 2, 2), entry([]byte("a"), 0, 1, 2, 0)), 2, 4, "b starts at 2"},
		{"past n", entry([]byte("a"), 0, 3, 3, 0), 1, 8, "a (3 × 3 from 0) ends past the 8 parameters"},
		{"short of n", entry([]byte("a"), 0, 3, 3, 0), 1, 10, "hold 9 parameters, not 10"},
		{"huge", entry([]byte("a"), 0, 1<<32-1, 1<<32-1, 0), 1, 1 << 28, "ends past the 268435456 parameters"},
	}
	for _, c := range cases {
		if _, err := parseTable(c.b, c.count, c.n); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v; want %q", c.name, err, c.err)
		}
	}
}

func TestSlicesCutsCappedViews(t *testing.T) {
	tensors := []Tensor{{Name: "a", Rows: 2, Cols: 2, Offset: 0}, {Name: "b", Rows: 1, Cols: 3, Offset: 4}}
	params, grads := []float64{0, 1, 2, 3, 4, 5, 6}, []float64{10, 11, 12, 13, 14, 15, 16}
	Slices(tensors, params, grads)
	if !reflect.DeepEqual(tensors[1].Params, []float64{4, 5, 6}) || !reflect.DeepEqual(tensors[0].Grads, []float64{10, 11, 12, 13}) {
		t.Fatalf("%+v", tensors)
	}
	if cap(tensors[0].Params) != 4 {
		t.Errorf("a's params have capacity %d: appending would write into b", cap(tensors[0].Params))
	}
	tensors[1].Params[0] = 40
	if params[4] != 40 {
		t.Error("Params is a copy, not a view")
	}
	Slices(tensors, params, nil)
	if tensors[0].Grads != nil || tensors[0].Params == nil {
		t.Errorf("nil grads: %+v", tensors[0])
	}
}

// recorder is a TensorOptimizer that keeps what it was given.
type recorder struct {
	init  []Tensor
	steps int
	seen  [][]Tensor
}

func (r *recorder) Init(tensors []Tensor, steps int) {
	r.init, r.steps = tensors, steps
	tensors[0].Name = "changed by Init" // must not reach Step's tensors
}

func (r *recorder) Step(t int, tensors []Tensor, loss float64) {
	r.seen = append(r.seen, tensors)
	for _, tn := range tensors {
		for i, g := range tn.Grads {
			tn.Params[i] -= g
		}
	}
}

// sgd is a TensorOptimizer that allocates nothing.
type sgd struct{}

func (sgd) Init([]Tensor, int) {}
func (sgd) Step(t int, tensors []Tensor, loss float64) {
	for _, tn := range tensors {
		for i, g := range tn.Grads {
			tn.Params[i] -= g
		}
	}
}

type flatRecorder struct{ n int }

func (f *flatRecorder) Init(n int)                              { f.n = n }
func (f *flatRecorder) Step(int, []float64, []float64, float64) {}

// fakeMemory stands in for guest.Float64s: pointers 8, 16, ... name
// buffers.
type fakeMemory struct {
	bufs  map[int32][]float64
	calls int
}

func (m *fakeMemory) buf(ptr, n int32) []float64 { m.calls++; return m.bufs[ptr][:n] }

func TestRunnerHandsEachRegistrationWhatItExpects(t *testing.T) {
	mem := &fakeMemory{bufs: map[int32][]float64{
		8:  make([]float64, 15),
		16: make([]float64, 15),
		24: make([]float64, 15),
	}}
	for i := range 15 {
		mem.bufs[16][i] = float64(i)
		mem.bufs[24][i] = 1
	}

	// A TensorOptimizer through opt_init2 gets the table and the steps.
	rec := &recorder{}
	r := &runner{tensors: rec}
	r.init2(15, workedTable(), 2, 300)
	if len(rec.init) != 2 || rec.init[1].Name != "ln_f.g" || rec.init[1].Params != nil || rec.steps != 300 {
		t.Fatalf("Init got %+v, %d steps", rec.init, rec.steps)
	}
	r.step(0, 8, 16, 15, 1, mem.buf)
	r.step(1, 8, 16, 15, 1, mem.buf)
	if mem.calls != 2 {
		t.Errorf("%d buffer lookups for two steps on the same buffers; want 2 (cut once)", mem.calls)
	}
	if got := rec.seen[1][0]; got.Name != "wte" || len(got.Params) != 12 || got.Params[1] != -2 || rec.seen[1][1].Grads[2] != 14 {
		t.Errorf("step 1 saw %+v", got)
	}
	if &rec.seen[0][0] != &rec.seen[1][0] {
		t.Error("the tensors slice was rebuilt between steps")
	}
	// New buffers are cut again.
	r.step(2, 16, 24, 15, 1, mem.buf)
	if rec.seen[2][1].Params[0] != 12-1 || mem.calls != 4 {
		t.Errorf("after new buffers: %v, %d lookups", rec.seen[2][1].Params, mem.calls)
	}
	r.tensors = sgd{}
	buf := mem.buf
	if allocs := testing.AllocsPerRun(100, func() { r.step(3, 16, 24, 15, 1, buf) }); allocs != 0 {
		t.Errorf("a step allocates %v times", allocs)
	}

	// A TensorOptimizer through opt_init sees one flat tensor.
	rec = &recorder{}
	r = &runner{tensors: rec}
	r.init(15)
	if want := []Tensor{{Name: "changed by Init", Role: Flat, Rows: 1, Cols: 15}}; !reflect.DeepEqual(rec.init, want) || rec.steps != 0 {
		t.Errorf("opt_init(15) gave Init %+v, %d steps", rec.init, rec.steps)
	}
	r.step(0, 8, 16, 15, 1, mem.buf)
	if got := rec.seen[0]; len(got) != 1 || got[0].Name != "params" || len(got[0].Params) != 15 {
		t.Errorf("step after opt_init: %+v", got)
	}

	// An Optimizer through either init gets the parameter count (its
	// steps go straight from the export to it).
	for _, init := range []func(*runner){
		func(r *runner) { r.init(15) },
		func(r *runner) { r.init2(15, workedTable(), 2, 300) },
	} {
		flat := &flatRecorder{}
		r := &runner{flat: flat}
		init(r)
		if flat.n != 15 {
			t.Errorf("flat optimizer: Init(%d)", flat.n)
		}
	}
}

func TestRunnerPanicsOnHostMistakes(t *testing.T) {
	mem := &fakeMemory{bufs: map[int32][]float64{8: make([]float64, 15)}}
	for name, fn := range map[string]func(){
		"step before init":  func() { (&runner{tensors: &recorder{}}).step(0, 8, 8, 15, 1, mem.buf) },
		"bad table":         func() { (&runner{tensors: &recorder{}}).init2(16, workedTable(), 2, 0) },
		"negative steps":    func() { (&runner{tensors: &recorder{}}).init2(15, workedTable(), 2, -1) },
		"step of another n": func() { r := &runner{tensors: &recorder{}}; r.init(15); r.step(0, 8, 8, 14, 1, mem.buf) },
		"no parameters":     func() { (&runner{tensors: &recorder{}}).init(0) },
	} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "arena guest: ") {
					t.Errorf("%s: panic %q", name, msg)
				}
			}()
			fn()
		}()
	}
}
