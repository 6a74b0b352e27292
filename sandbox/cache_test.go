package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/arena-dev/arena/meter"
)

// Every fixture: Validate and Load agree on what they refuse, and
// Validate compiles and keeps nothing.
func TestValidateRefusesWhatLoadRefusesWithoutCompiling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	files, _ := filepath.Glob("testdata/*.wasm")
	v, l := NewEngine(1), NewEngine(1)
	defer v.Close(ctx)
	defer l.Close(ctx)
	extra := map[string][]byte{
		"truncated":  []byte("\x00asm\x01\x00\x00\x00\x01\x05\x01"),
		"type error": []byte("\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x00\x01\x7f\x03\x02\x01\x00\x0a\x04\x01\x02\x00\x0b"),
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		extra[filepath.Base(f)] = b
	}
	rejected := 0
	for name, wasm := range extra {
		for _, abi := range []ABI{optimizerABI, optimizerABIv2} {
			got, verr := v.Validate(ctx, wasm, abi, testLimits())
			m, lerr := l.Load(ctx, wasm, abi, testLimits())
			if lerr == nil {
				m.Release(ctx)
			}
			switch {
			case (verr == nil) != (lerr == nil):
				t.Errorf("%s: Validate says %v, Load says %v", name, verr, lerr)
			case verr != nil && verr.Error() != lerr.Error():
				t.Errorf("%s: Validate says %q, Load says %q", name, verr, lerr)
			case verr != nil:
				rejected++
			case got.CodeSHA256 != m.CodeSHA256 || got.Info.Functions != m.Info.Functions:
				t.Errorf("%s: Validate found %x %+v, Load %x %+v", name, got.CodeSHA256, got.Info, m.CodeSHA256, m.Info)
			}
		}
	}
	if rejected < 10 {
		t.Errorf("only %d refusals: the fixtures should exercise more", rejected)
	}
	if s := v.Stats(); s.Modules != 0 || s.Compiles != 0 || s.MemoryBytes != 0 {
		t.Errorf("Validate kept something: %+v", s)
	}
}

// meteredSize is the metered size of a fixture, which its estimate follows.
func meteredSize(t *testing.T, wasm []byte) int {
	t.Helper()
	canon, err := Canonical(wasm)
	if err != nil {
		t.Fatal(err)
	}
	metered, _, err := meter.Meter(canon)
	if err != nil {
		t.Fatal(err)
	}
	return len(metered)
}

func keys(e *Engine) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for el := e.lru.Front(); el != nil; el = el.Next() {
		names = append(names, el.Value.(*Module).name)
	}
	return names
}

func TestMemoryBudgetEvictsLeastRecentlyUsedBySize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mods := map[string][]byte{}
	var sizes = map[string]int64{}
	for _, n := range []string{"loop", "trap", "nan", "trapalloc"} {
		mods[n] = fixture(t, n)
		sizes[n] = EstimatedBytes(meteredSize(t, mods[n]))
	}
	// Room for loop, trap and nan, not for trapalloc as well.
	budget := sizes["loop"] + sizes["trap"] + sizes["nan"]
	if sizes["trapalloc"] > sizes["nan"] {
		t.Fatal("the test expects trapalloc to fit where nan was")
	}
	e, err := NewEngineWith(Options{MaxMemoryBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	load := func(name string) *Module {
		t.Helper()
		m, err := e.Load(ctx, mods[name], optimizerABI, testLimits())
		if err != nil {
			t.Fatal(err)
		}
		m.name = name
		return m
	}
	for _, n := range []string{"loop", "trap", "nan", "loop"} { // loop used last
		load(n).Release(ctx)
	}
	if got := keys(e); !slices.Equal(got, []string{"loop", "nan", "trap"}) {
		t.Fatalf("cache %v", got)
	}
	inUse := load("trap")      // used again, and held
	other := load("trapalloc") // over budget: nan is the least recently used
	if got := keys(e); !slices.Equal(got, []string{"trapalloc", "trap", "loop"}) {
		t.Errorf("after trapalloc: cache %v, want nan evicted", got)
	}
	s := e.Stats()
	if want := sizes["trapalloc"] + sizes["trap"] + sizes["loop"]; s.MemoryBytes != want || s.Modules != 3 || s.Evictions != 1 || s.MaxMemoryBytes != budget {
		t.Errorf("stats %+v, want %d bytes in 3 modules after 1 eviction", s, want)
	}
	// A module evicted while in use keeps working until released.
	e.opts.MaxMemoryBytes = 1 // everything but the most recent goes
	load("nan").Release(ctx)
	if got := keys(e); !slices.Equal(got, []string{"nan"}) {
		t.Errorf("with a budget of 1 byte: cache %v, want only the latest", got)
	}
	inst, err := inUse.Instantiate(ctx, 1, testLimits())
	if err != nil {
		t.Fatalf("an evicted module in use: %v", err)
	}
	inst.Close(ctx)
	inUse.Release(ctx)
	other.Release(ctx)
	if s := e.Stats(); s.Modules != 1 || s.MemoryBytes != sizes["nan"] {
		t.Errorf("stats %+v", s)
	}
}

func TestDiskBudgetPrunesLeastRecentlyUsedEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	// Leftovers of the earlier, unbounded layout are removed.
	for _, old := range []string{"metered", "wazero"} {
		if err := os.MkdirAll(filepath.Join(dir, old), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e, err := NewEngineWith(Options{MaxModules: 1, CacheDir: dir, MaxDiskBytes: -1, DiskGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	for _, old := range []string{"metered", "wazero"} {
		if _, err := os.Stat(filepath.Join(dir, old)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it removed", old, err)
		}
	}
	names := []string{"loop", "trap", "nan"}
	entry := map[string]string{}
	for _, n := range names {
		wasm := fixture(t, n)
		m, err := e.Load(ctx, wasm, optimizerABI, testLimits())
		if err != nil {
			t.Fatal(err)
		}
		m.Release(ctx)
		sum, _ := CanonicalSHA256(wasm)
		entry[n] = e.disk.entry(sum)
	}
	size := func(n string) int64 {
		var total int64
		filepath.Walk(entry[n], func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				total += fi.Size()
			}
			return nil
		})
		return total
	}
	s := e.Stats()
	if want := size("loop") + size("trap") + size("nan"); s.DiskEntries != 3 || s.DiskBytes != want {
		t.Fatalf("stats %+v, want 3 entries of %d bytes", s, want)
	}
	// Last used: trap, then loop, then nan.
	base := time.Now().Add(-time.Hour)
	for i, n := range []string{"trap", "loop", "nan"} {
		at := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(entry[n], at, at); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(n string) bool { _, err := os.Stat(entry[n]); return err == nil }

	// Within a grace period, nothing goes.
	e.disk.max, e.disk.grace = 1, 2*time.Hour
	e.disk.prune()
	if !exists("trap") || !exists("loop") || !exists("nan") {
		t.Fatal("an entry used within the grace period was pruned")
	}
	// Room for two: trap, the least recently used, goes.
	e.disk.max, e.disk.grace = size("loop")+size("nan"), 0
	e.disk.prune()
	if exists("trap") || !exists("loop") || !exists("nan") {
		t.Errorf("after pruning: trap %v loop %v nan %v, want trap gone", exists("trap"), exists("loop"), exists("nan"))
	}
	if s := e.Stats(); s.DiskEntries != 2 || s.DiskBytes != size("loop")+size("nan") || s.DiskEvictions != 1 {
		t.Errorf("stats %+v", s)
	}
	// A load from memory marks the entry used: nan is now the newest, so
	// when trap comes back, loop goes.
	hits := e.Stats().Hits
	m, err := e.Load(ctx, fixture(t, "nan"), optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	m.Release(ctx)
	if e.Stats().Hits != hits+1 {
		t.Fatal("nan was not loaded from memory")
	}
	e.disk.max = size("loop") + size("nan") + 1
	m, err = e.Load(ctx, fixture(t, "trap"), optimizerABI, testLimits())
	if err != nil {
		t.Fatal(err)
	}
	m.Release(ctx)
	if !exists("trap") || exists("loop") || !exists("nan") {
		t.Errorf("after trap's return: trap %v loop %v nan %v, want loop gone", exists("trap"), exists("loop"), exists("nan"))
	}
}

// Loads of one module at once compile it once; loads of different ones
// do not wait for each other.
func TestConcurrentLoadsCompileOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(8)
	defer e.Close(ctx)
	names := []string{"loop", "trap", "loop", "nan", "loop", "trap"}
	got := make([]*Module, len(names))
	errs := make(chan error, len(names))
	for i, n := range names {
		go func() {
			m, err := e.Load(ctx, fixture(t, n), optimizerABI, testLimits())
			got[i] = m
			errs <- err
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got[0] != got[2] || got[0] != got[4] || got[1] != got[5] || got[0] == got[1] {
		t.Error("the same module was compiled twice, or two modules shared one")
	}
	for _, m := range got {
		m.Release(ctx)
	}
	if s := e.Stats(); s.Compiles != 3 || s.Hits != 3 {
		t.Errorf("stats %+v, want 3 compilations and 3 hits", s)
	}
}
