package meter_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/meter"
)

// The WebAssembly spec tests ship inside the wazero module as JSON
// (wast2json) plus .wasm files.
func spectestDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		t.Fatalf("locate wazero: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "internal", "integration_test", "spectest")
}

type specFile struct {
	Commands []specCommand `json:"commands"`
}

type specCommand struct {
	Type     string      `json:"type"`
	Line     int         `json:"line"`
	Filename string      `json:"filename"`
	Name     string      `json:"name"`
	As       string      `json:"as"`
	Action   *specAction `json:"action"`
}

type specAction struct {
	Type   string      `json:"type"` // invoke or get
	Module string      `json:"module"`
	Field  string      `json:"field"`
	Args   []specValue `json:"args"`
}

type specValue struct {
	Type     string          `json:"type"`
	LaneType string          `json:"lane_type"`
	Value    json.RawMessage `json:"value"`
}

func (v specValue) encode() ([]uint64, error) {
	var s string
	switch v.Type {
	case "i32", "f32", "i64", "f64":
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return []uint64{n}, err
	case "externref", "funcref":
		if err := json.Unmarshal(v.Value, &s); err != nil || s == "null" {
			return []uint64{0}, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return []uint64{n + 1}, err // 0 would be null
	case "v128":
		var lanes []string
		if err := json.Unmarshal(v.Value, &lanes); err != nil {
			return nil, err
		}
		width := map[string]int{"i8": 1, "i16": 2, "i32": 4, "f32": 4, "i64": 8, "f64": 8}[v.LaneType]
		var b [16]byte
		for i, lane := range lanes {
			n, err := strconv.ParseUint(lane, 10, 64)
			if err != nil {
				m, err2 := strconv.ParseInt(lane, 10, 64)
				if err2 != nil {
					return nil, err
				}
				n = uint64(m)
			}
			var tmp [8]byte
			binary.LittleEndian.PutUint64(tmp[:], n)
			copy(b[i*width:(i+1)*width], tmp[:width])
		}
		return []uint64{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}, nil
	}
	return nil, fmt.Errorf("unsupported value type %q", v.Type)
}

// world is one runtime with its instantiated modules.
type world struct {
	rt      wazero.Runtime
	byName  map[string]api.Module
	last    api.Module
	metered bool
}

func newWorld(ctx context.Context, t *testing.T, spectest []byte, metered bool) *world {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	if _, err := rt.InstantiateWithConfig(ctx, spectest, wazero.NewModuleConfig().WithName("spectest")); err != nil {
		t.Fatalf("spectest host module: %v", err)
	}
	return &world{rt: rt, byName: map[string]api.Module{}, metered: metered}
}

// instantiate returns the module, or nil with the instantiation error.
func (w *world) instantiate(ctx context.Context, bin []byte, registerAs string) (api.Module, error) {
	mod, err := w.rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName(registerAs).WithStartFunctions())
	if err != nil {
		return nil, err
	}
	if w.metered {
		mod.ExportedGlobal(meter.FuelGlobal).(api.MutableGlobal).Set(1 << 62)
		if start := mod.ExportedFunction(meter.StartExport); start != nil {
			if _, err := start.Call(ctx); err != nil {
				mod.Close(ctx)
				return nil, err
			}
		}
	}
	return mod, nil
}

type outcome struct {
	results []uint64
	err     string // first line of the error, "" when none
}

func (w *world) act(ctx context.Context, a *specAction) (outcome, error) {
	m := w.last
	if a.Module != "" {
		m = w.byName[a.Module]
	}
	if m == nil {
		return outcome{}, fmt.Errorf("no module for action")
	}
	if a.Type == "get" {
		g := m.ExportedGlobal(a.Field)
		if g == nil {
			return outcome{}, fmt.Errorf("no global %q", a.Field)
		}
		return outcome{results: []uint64{g.Get()}}, nil
	}
	fn := m.ExportedFunction(a.Field)
	if fn == nil {
		return outcome{}, fmt.Errorf("no function %q", a.Field)
	}
	var args []uint64
	for _, v := range a.Args {
		enc, err := v.encode()
		if err != nil {
			return outcome{}, err
		}
		args = append(args, enc...)
	}
	res, err := fn.Call(ctx, args...)
	if err != nil {
		line, _, _ := strings.Cut(err.Error(), "\n")
		return outcome{err: line}, nil
	}
	return outcome{results: res}, nil
}

func (o outcome) same(p outcome) bool {
	if o.err != p.err || len(o.results) != len(p.results) {
		return false
	}
	for i := range o.results {
		if o.results[i] != p.results[i] {
			return false
		}
	}
	return true
}

// TestSpecDifferential runs every spec test module that wazero accepts
// twice, as is and metered with ample fuel, and requires every assertion's
// action to behave identically: the same results bit for bit, the same traps.
func TestSpecDifferential(t *testing.T) {
	dir := spectestDir(t)
	spectest, err := os.ReadFile(filepath.Join(dir, "testdata", "spectest.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, v := range []string{"v1", "v2"} {
		matches, _ := filepath.Glob(filepath.Join(dir, v, "testdata", "*.json"))
		files = append(files, matches...)
	}
	if len(files) == 0 {
		t.Fatalf("no spec tests under %s", dir)
	}
	var modules, skipped, assertions, counted atomic.Int64
	t.Run("files", func(t *testing.T) {
		for _, file := range files {
			rel, _ := filepath.Rel(dir, file)
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				n := runSpecFile(t, file, spectest)
				modules.Add(n.modules)
				skipped.Add(n.skipped)
				assertions.Add(n.assertions)
				counted.Add(n.countedLoops)
			})
		}
	})
	t.Logf("spec differential: %d files, %d modules metered and compared (%d not accepted by wazero, %d counted loops), %d assertions compared",
		len(files), modules.Load(), skipped.Load(), counted.Load(), assertions.Load())
	if modules.Load() < 1000 || assertions.Load() < 40000 || counted.Load() == 0 {
		t.Errorf("too little of the spec suite ran: %d modules, %d assertions, %d counted loops", modules.Load(), assertions.Load(), counted.Load())
	}
}

type specCounts struct{ modules, skipped, assertions, countedLoops int64 }

func runSpecFile(t *testing.T, file string, spectest []byte) (n specCounts) {
	ctx := context.Background()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var spec specFile
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	plain, metered := newWorld(ctx, t, spectest, false), newWorld(ctx, t, spectest, true)
	defer plain.rt.Close(ctx)
	defer metered.rt.Close(ctx)
	base := filepath.Dir(file)
	for i := 0; i < len(spec.Commands); i++ {
		c := spec.Commands[i]
		switch c.Type {
		case "module":
			bin, err := os.ReadFile(filepath.Join(base, c.Filename))
			if err != nil {
				t.Fatal(err)
			}
			registerAs := ""
			if i+1 < len(spec.Commands) && spec.Commands[i+1].Type == "register" {
				registerAs = spec.Commands[i+1].As
				i++
			}
			plain.last, metered.last = nil, nil
			if _, err := plain.rt.CompileModule(ctx, bin); err != nil {
				n.skipped++ // wazero does not accept it: nothing to compare
				continue
			}
			mbin, info, err := meter.Meter(bin)
			if err != nil {
				t.Errorf("line %d: metering %s: %v", c.Line, c.Filename, err)
				continue
			}
			if _, err := metered.rt.CompileModule(ctx, mbin); err != nil {
				t.Errorf("line %d: metered %s does not compile: %v", c.Line, c.Filename, err)
				continue
			}
			pm, perr := plain.instantiate(ctx, bin, registerAs)
			mm, merr := metered.instantiate(ctx, mbin, registerAs)
			if (perr == nil) != (merr == nil) {
				t.Errorf("line %d: %s instantiation differs: plain %v, metered %v", c.Line, c.Filename, perr, merr)
				continue
			}
			n.modules++
			n.countedLoops += int64(info.CountedLoops)
			plain.last, metered.last = pm, mm
			if c.Name != "" {
				plain.byName[c.Name], metered.byName[c.Name] = pm, mm
			}
		case "assert_return", "assert_trap", "assert_exhaustion", "action":
			if c.Action == nil || (c.Action.Module == "" && plain.last == nil) || (c.Action.Module != "" && plain.byName[c.Action.Module] == nil) {
				continue // its module was skipped
			}
			po, err := plain.act(ctx, c.Action)
			if err != nil {
				t.Errorf("line %d: %v", c.Line, err)
				continue
			}
			mo, err := metered.act(ctx, c.Action)
			if err != nil {
				t.Errorf("line %d: metered: %v", c.Line, err)
				continue
			}
			n.assertions++
			if !po.same(mo) {
				t.Errorf("line %d: %s %s: plain %+v, metered %+v", c.Line, c.Type, c.Action.Field, po, mo)
			}
		}
	}
	return n
}
