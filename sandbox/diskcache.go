package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/arena-dev/arena/meter"
)

// diskCache keeps, per module, its metered code and wazero's machine code
// for it, in a directory of its own: DIR/modules/<code sha256>-v<meter
// version>/ holds metered.wasm, info.json and wazero/ (wazero's file
// cache). An entry's modification time is its last use: loads touch it,
// and pruning removes the least recently used entries until the directory
// is within its budget. Several processes may share a directory; an entry
// used within the grace period is never pruned, so one process does not
// remove what another is compiling into.
type diskCache struct {
	root  string
	max   int64 // 0: no bound
	grace time.Duration

	pruneMu sync.Mutex // one scan at a time
	// As of the last scan (and what it pruned since).
	entries   atomic.Int64
	bytes     atomic.Int64
	evictions atomic.Uint64
}

func openDiskCache(dir string, max int64, grace time.Duration) (*diskCache, error) {
	d := &diskCache{root: filepath.Join(dir, "modules"), max: max, grace: grace}
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		return nil, err
	}
	// Earlier versions kept metered modules and machine code in two flat
	// directories, keyed by the bytes as uploaded and never pruned.
	_ = os.RemoveAll(filepath.Join(dir, "metered"))
	_ = os.RemoveAll(filepath.Join(dir, "wazero"))
	d.prune()
	return d, nil
}

func (d *diskCache) entry(sum [32]byte) string {
	return filepath.Join(d.root, fmt.Sprintf("%x-v%d", sum, meter.Version))
}

// metered returns an entry's metered module and its description, and
// marks the entry used.
func (d *diskCache) metered(sum [32]byte) ([]byte, meter.Info, bool) {
	var info meter.Info
	if d == nil {
		return nil, info, false
	}
	base := d.entry(sum)
	metered, err1 := os.ReadFile(filepath.Join(base, "metered.wasm"))
	data, err2 := os.ReadFile(filepath.Join(base, "info.json"))
	if err1 != nil || err2 != nil || json.Unmarshal(data, &info) != nil {
		return nil, info, false
	}
	d.touch(sum)
	return metered, info, true
}

// store writes a validated module's metered code into its entry,
// atomically: a file there means the module passed validation.
func (d *diskCache) store(sum [32]byte, metered []byte, info meter.Info) {
	if d == nil {
		return
	}
	base := d.entry(sum)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return
	}
	data, _ := json.Marshal(info)
	if writeAtomic(filepath.Join(base, "metered.wasm"), metered) == nil {
		_ = writeAtomic(filepath.Join(base, "info.json"), data)
	}
}

// compilationCache is wazero's file cache in the module's entry.
func (d *diskCache) compilationCache(sum [32]byte) (wazero.CompilationCache, error) {
	return wazero.NewCompilationCacheWithDir(filepath.Join(d.entry(sum), "wazero"))
}

// touch marks an entry used now.
func (d *diskCache) touch(sum [32]byte) {
	if d == nil {
		return
	}
	now := time.Now()
	_ = os.Chtimes(d.entry(sum), now, now)
}

// usage is the directory's size as of the last scan.
func (d *diskCache) usage() (entries int, bytes int64, evictions uint64) {
	return int(d.entries.Load()), d.bytes.Load(), d.evictions.Load()
}

type diskEntry struct {
	path  string
	used  time.Time
	bytes int64
}

// prune measures the directory and removes the least recently used
// entries until it is within budget, sparing those used within the grace
// period.
func (d *diskCache) prune() {
	if d == nil {
		return
	}
	d.pruneMu.Lock()
	defer d.pruneMu.Unlock()
	dirents, err := os.ReadDir(d.root)
	if err != nil {
		return
	}
	var entries []diskEntry
	var total int64
	for _, de := range dirents {
		path := filepath.Join(d.root, de.Name())
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		if !fi.IsDir() { // a stray file: counted, and first to go
			entries = append(entries, diskEntry{path: path, bytes: fi.Size()})
			total += fi.Size()
			continue
		}
		e := diskEntry{path: path, used: fi.ModTime()}
		_ = filepath.WalkDir(path, func(_ string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				if fi, err := de.Info(); err == nil {
					e.bytes += fi.Size()
				}
			}
			return nil
		})
		entries = append(entries, e)
		total += e.bytes
	}
	if d.max > 0 && total > d.max {
		slices.SortFunc(entries, func(a, b diskEntry) int { return cmp.Or(a.used.Compare(b.used), cmp.Compare(a.path, b.path)) })
		spare := time.Now().Add(-d.grace)
		kept := entries[:0]
		for _, e := range entries {
			if total > d.max && (d.grace == 0 || e.used.Before(spare)) && os.RemoveAll(e.path) == nil {
				total -= e.bytes
				d.evictions.Add(1)
				continue
			}
			kept = append(kept, e)
		}
		entries = kept
	}
	d.entries.Store(int64(len(entries)))
	d.bytes.Store(total)
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
