package sandbox

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// Func is an export a benchmark kind requires, with its exact signature.
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
}

func (f Func) String() string {
	return fmt.Sprintf("%s(%s) -> (%s)", f.Name, typeList(f.Params), typeList(f.Results))
}

// ABI is what a benchmark kind requires a module to export besides memory.
type ABI struct {
	Funcs []Func
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
