package sandbox

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// Func is an export a benchmark kind names, with its exact signature.
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
	// Optional marks an export a module may leave out. When it is
	// present its signature is checked like any other's. An ABI's AnyOf
	// groups say which optional exports stand in for one another.
	Optional bool
}

func (f Func) String() string {
	return fmt.Sprintf("%s(%s) -> (%s)", f.Name, typeList(f.Params), typeList(f.Results))
}

// short is the signature as error messages name it: the results only
// when there are any.
func (f Func) short() string {
	if len(f.Results) == 0 {
		return fmt.Sprintf("%s(%s)", f.Name, typeList(f.Params))
	}
	return f.String()
}

// ABI is what a benchmark kind requires a module to export besides memory
// and arena_alloc.
//
// Every export in Funcs is required unless it is marked Optional, and
// every one the module has must have exactly its signature. AnyOf lists
// groups of optional exports, by name, of which a module must export at
// least one: the optimizer kind's opt_init (ABI v1) and opt_init2 (ABI
// v2), say. Which of a group's exports a module has is for the kind's
// host code to ask, through Instance.HasExport.
type ABI struct {
	Funcs []Func
	AnyOf [][]string
}

// Func returns the ABI's export called name.
func (a ABI) Func(name string) (Func, bool) {
	for _, f := range a.Funcs {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// Describe lists the ABI's exports for people (a challenge's page, say):
// each signature, followed by what makes an export optional.
func (a ABI) Describe() []string {
	var out []string
	for _, f := range a.Funcs {
		line := f.String()
		if f.Optional {
			line += " (optional"
			for _, g := range a.AnyOf {
				if contains(g, f.Name) {
					line += "; at least one of " + strings.Join(g, ", ")
				}
			}
			line += ")"
		}
		out = append(out, line)
	}
	return out
}

// check catches mistakes in an ABI's own definition: a group naming an
// export the ABI does not declare optional, or an empty group.
func (a ABI) check() error {
	for _, g := range a.AnyOf {
		if len(g) == 0 {
			return fmt.Errorf("sandbox: ABI has an empty AnyOf group")
		}
		for _, name := range g {
			if f, ok := a.Func(name); !ok || !f.Optional {
				return fmt.Errorf("sandbox: ABI group %v names %s, which is not an optional export of the ABI", g, name)
			}
		}
	}
	return nil
}

// noneOf says in words that a module exports no function of group.
func (a ABI) noneOf(group []string) string {
	sigs := make([]string, len(group))
	for i, name := range group {
		f, _ := a.Func(name)
		sigs[i] = f.short()
	}
	switch len(sigs) {
	case 1:
		return "missing export " + sigs[0]
	case 2:
		return "exports neither " + sigs[0] + " nor " + sigs[1]
	}
	return "exports none of " + strings.Join(sigs, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// HasExport reports whether the module exports a function called name:
// which of an ABI's optional exports it has.
func (i *Instance) HasExport(name string) bool {
	if _, ok := i.funcs[name]; ok {
		return true
	}
	return i.mod.ExportedFunction(name) != nil
}

// AllocFunc is the allocator every ABI shares: arena_alloc(size i32) -> i32.
var AllocFunc = Func{Name: "arena_alloc", Params: []api.ValueType{api.ValueTypeI32}, Results: []api.ValueType{api.ValueTypeI32}}

func typeList(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wasiModule is the only import namespace a module may use.
const wasiModule = "wasi_snapshot_preview1"

// allowedWASI is the deterministic WASI subset a Go or TinyGo reactor needs,
// including one that imports fmt or io (Go's os package then links fd_read
// and fd_fdstat_set_flags for its standard streams). The sandbox
// configures no preopened directories and an empty stdin, so the fd_* and
// prestat calls see no filesystem at all, and the calls that would open
// or list files (path_open, fd_readdir, ...) are refused at upload; clocks
// are fixed and random is seeded per task.
var allowedWASI = map[string]bool{
	"args_get": true, "args_sizes_get": true,
	"environ_get": true, "environ_sizes_get": true,
	"clock_time_get": true, "clock_res_get": true,
	"random_get": true, "proc_exit": true, "sched_yield": true, "poll_oneoff": true,
	"fd_write": true, "fd_read": true, "fd_close": true,
	"fd_fdstat_get": true, "fd_fdstat_set_flags": true,
	"fd_prestat_get": true, "fd_prestat_dir_name": true,
}
