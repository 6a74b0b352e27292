package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/metrics"
	"github.com/arena-dev/arena/sandbox"
)

func TestModuleCacheMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := sandbox.NewEngineWith(sandbox.Options{CacheDir: t.TempDir(), MaxMemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	wasm, err := os.ReadFile("../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	abi := sandbox.ABI{Funcs: []sandbox.Func{
		{Name: "opt_init", Params: []api.ValueType{api.ValueTypeI32}},
		{Name: "opt_step", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeF64}},
	}}
	lim := sandbox.Limits{MaxModuleBytes: 1 << 20, MemoryPages: 256}
	for range 2 {
		m, err := e.Load(ctx, wasm, abi, lim)
		if err != nil {
			t.Fatal(err)
		}
		m.Release(ctx)
	}
	m := metrics.New(nil)
	m.WatchEngine(e)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	s := e.Stats()
	for _, want := range []string{
		`arena_module_cache_entries{cache="memory"} 1`,
		`arena_module_cache_entries{cache="disk"} 1`,
		`arena_module_cache_limit_bytes{cache="memory"} 6.7108864e+07`,
		`arena_module_cache_limit_bytes{cache="disk"} 2.147483648e+09`,
		`arena_module_cache_evictions_total{cache="memory"} 0`,
		`arena_module_compilations_total 1`,
		`arena_module_cache_hits_total 1`,
		`arena_module_cache_bytes{cache="memory"} ` + fmtFloat(s.MemoryBytes),
		`arena_module_cache_bytes{cache="disk"} ` + fmtFloat(s.DiskBytes),
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if s.DiskBytes <= int64(len(wasm)) {
		t.Errorf("disk cache of %d bytes: the metered module and its machine code are more", s.DiskBytes)
	}
}

// fmtFloat is a value as the text format writes it.
func fmtFloat(n int64) string { return strconv.FormatFloat(float64(n), 'g', -1, 64) }
