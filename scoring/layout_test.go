package scoring

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// TestResultsDoNotDependOnGoroutineLayout scores every example twice:
// one after another on a fresh engine with a fresh benchmark each time, and
// all at once from separate goroutines sharing one engine and one benchmark
// per kind, whose remembered baselines they share (as a worker's goroutines
// do). The results must match bit for bit, fuel included.
func TestResultsDoNotDependOnGoroutineLayout(t *testing.T) {
	t.Parallel()
	var names []string
	for name := range exampleModules {
		if testing.Short() && !handWritten[name] {
			continue // under the race detector, compiling Go-built modules takes minutes
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if testing.Short() {
		names = append(append(append(names, names...), names...), names...) // the same module from four goroutines
	}
	kindOf := func(name string) string {
		for _, k := range Kinds() {
			if len(name) > len(k) && name[:len(k)+1] == k+"/" {
				return k
			}
		}
		t.Fatalf("no kind for %s", name)
		return ""
	}
	// Small tasks: the layout, not the size, is under test.
	paramsOf := func(kind string) []byte {
		if kind == ActivationCompressionKind {
			return []byte(`{"seeds":[5],"vocab":128,"width":16,"layers":2,"heads":2,"context":16,"batch":4,"steps":20,"eval_every":10,"eval_sequences":8,"min_cosine":0}`)
		}
		if kind == OptimizerKind || kind == LRScheduleKind {
			return []byte(tiny(`"seeds":[5]`))
		}
		if kind == GradCompressionKind { // a budget the dense example fits
			return []byte(tinyGC(`"seeds":[5],"budget":59776`))
		}
		return []byte(`{"seeds":[5],"steps":40}`)
	}
	// run is safe to call from any goroutine: it reports, never fails the test.
	run := func(eng *sandbox.Engine, b Benchmark, name string) (string, error) {
		res, err := Evaluate(context.Background(), eng, b, arena.DefaultLimits(), exampleModules[name], nil)
		if err != nil {
			return "", err
		}
		data, err := json.Marshal(res)
		return string(data), err
	}

	if len(names) == 0 {
		t.Fatal("no examples to score")
	}
	// Both engines start empty but share a disk cache, as a worker's
	// restarts do: the second loads the first's machine code instead of
	// compiling every Go-built module again (a minute of this test), and
	// what it runs is the same code.
	cacheDir := t.TempDir()
	newEngine := func() *sandbox.Engine {
		e, err := sandbox.NewEngineWithDiskCache(16, cacheDir)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	sequential := map[string]string{}
	eng := newEngine()
	for _, name := range names {
		fresh, err := New(kindOf(name), paramsOf(kindOf(name)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := run(eng, fresh, name)
		if err != nil {
			t.Fatal(err)
		}
		sequential[name] = out
	}
	eng.Close(context.Background())

	shared := newEngine()
	defer shared.Close(context.Background())
	benches := map[string]Benchmark{}
	for _, kind := range Kinds() {
		b, err := New(kind, paramsOf(kind))
		if err != nil {
			t.Fatal(err)
		}
		benches[kind] = b
	}
	concurrent := make([]string, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		b := benches[kindOf(name)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			concurrent[i], errs[i] = run(shared, b, name)
		}()
	}
	wg.Wait()
	for i, name := range names {
		if errs[i] != nil {
			t.Fatalf("%s: %v", name, errs[i])
		}
		if concurrent[i] != sequential[name] {
			t.Errorf("%s differs between layouts:\nsequential %s\nconcurrent %s", name, sequential[name], concurrent[i])
		}
		var ev arena.Evaluation
		if err := json.Unmarshal([]byte(sequential[name]), &ev); err != nil || ev.Status != arena.StatusScored {
			t.Errorf("%s: %s", name, sequential[name])
		}
	}
}
