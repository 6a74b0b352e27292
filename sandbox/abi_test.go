package sandbox

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"
)

var i32 = api.ValueTypeI32

// optimizerABIv2 is the optimizer kind's ABI as scoring declares it: one
// of opt_init (v1) and opt_init2 (v2), and opt_step.
var optimizerABIv2 = ABI{
	Funcs: []Func{
		{Name: "opt_init", Params: []api.ValueType{i32}, Optional: true},
		{Name: "opt_init2", Params: []api.ValueType{i32, i32, i32, i32}, Optional: true},
		{Name: "opt_step", Params: []api.ValueType{i32, i32, i32, i32, api.ValueTypeF64}},
	},
	AnyOf: [][]string{{"opt_init", "opt_init2"}},
}

func TestOptionalExportsAndAnyOfGroups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(8)
	defer e.Close(ctx)
	cases := []struct {
		fixture string
		reject  string // "" when accepted
		has     []string
	}{
		{"abi_v1", "", []string{"opt_init"}},
		{"abi_v2", "", []string{"opt_init2"}},
		{"abi_both", "", []string{"opt_init", "opt_init2"}},
		{"abi_neither", "module rejected: exports neither opt_init(i32) nor opt_init2(i32, i32, i32, i32)", nil},
		{"abi_v2badsig", "module rejected: export opt_init2(i32, i32, i32) -> (), want opt_init2(i32, i32, i32, i32) -> ()", nil},
	}
	for _, c := range cases {
		// Twice: the second load comes from the cache, which checks the
		// ABI again.
		for pass := range 2 {
			m, err := e.Load(ctx, fixture(t, c.fixture), optimizerABIv2, testLimits())
			if c.reject != "" {
				if !IsReject(err) || err.Error() != c.reject {
					t.Errorf("%s, pass %d: %v; want %q", c.fixture, pass, err, c.reject)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s, pass %d: %v", c.fixture, pass, err)
				continue
			}
			inst, err := m.Instantiate(ctx, 1, testLimits())
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"opt_init", "opt_init2", "opt_step", "arena_alloc", "nonesuch"} {
				want := name == "opt_step" || name == "arena_alloc" || contains(c.has, name)
				if got := inst.HasExport(name); got != want {
					t.Errorf("%s: HasExport(%s) = %v, want %v", c.fixture, name, got, want)
				}
			}
			inst.Close(ctx)
			m.Release(ctx)
		}
	}

	// The other kinds' ABIs have no optional exports: a v2-only module is
	// missing opt_init under the v1 ABI.
	if _, err := e.Load(ctx, fixture(t, "abi_v2"), optimizerABI, testLimits()); !IsReject(err) || !strings.Contains(err.Error(), "missing export opt_init(i32) -> ()") {
		t.Errorf("v2 module under the v1 ABI: %v", err)
	}
	// A required export stays required whatever the groups say.
	noStep := ABI{Funcs: append([]Func{}, optimizerABIv2.Funcs...), AnyOf: optimizerABIv2.AnyOf}
	noStep.Funcs[2].Name = "opt_step2"
	if _, err := e.Load(ctx, fixture(t, "abi_both"), noStep, testLimits()); !IsReject(err) || !strings.Contains(err.Error(), "missing export opt_step2") {
		t.Errorf("missing a required export: %v", err)
	}
}

func TestABIDefinitionMistakesAreTheHostsNotTheModules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(2)
	defer e.Close(ctx)
	for _, abi := range []ABI{
		{Funcs: optimizerABIv2.Funcs, AnyOf: [][]string{{}}},
		{Funcs: optimizerABIv2.Funcs, AnyOf: [][]string{{"opt_init", "opt_init3"}}},
		{Funcs: optimizerABIv2.Funcs, AnyOf: [][]string{{"opt_init", "opt_step"}}}, // opt_step is required
	} {
		_, err := e.Load(ctx, fixture(t, "abi_both"), abi, testLimits())
		if err == nil || IsReject(err) || !strings.HasPrefix(err.Error(), "sandbox: ABI") {
			t.Errorf("AnyOf %v: %v; want an error of the host's", abi.AnyOf, err)
		}
	}
}

func TestDescribeMarksOptionalExports(t *testing.T) {
	t.Parallel()
	want := []string{
		"opt_init(i32) -> () (optional; at least one of opt_init, opt_init2)",
		"opt_init2(i32, i32, i32, i32) -> () (optional; at least one of opt_init, opt_init2)",
		"opt_step(i32, i32, i32, i32, f64) -> ()",
	}
	if got := optimizerABIv2.Describe(); !reflect.DeepEqual(got, want) {
		t.Errorf("Describe() = %q\nwant %q", got, want)
	}
	three := ABI{Funcs: []Func{{Name: "a", Optional: true}, {Name: "b", Optional: true}, {Name: "c", Optional: true}}, AnyOf: [][]string{{"a", "b", "c"}}}
	if got, want := three.noneOf(three.AnyOf[0]), "exports none of a(), b(), c()"; got != want {
		t.Errorf("noneOf = %q, want %q", got, want)
	}
}
