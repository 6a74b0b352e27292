package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/scoring"
)

// eval scores a module locally through scoring.Evaluate, the code path the
// workers run. Exit 0 when scored, 1 when the module failed or was
// rejected, 2 on misuse.
func (c *cli) eval(ctx context.Context, args []string) int {
	fs := c.flags("eval")
	kind := fs.String("kind", "", "benchmark kind: "+fmt.Sprint(scoring.Kinds()))
	paramsFile := fs.String("params", "", "JSON file with benchmark parameters (default: the kind's defaults)")
	seed := fs.Int64("seed", -1, "evaluate on this one seed instead of the parameters' seeds")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cacheDir := fs.String("cache-dir", c.env.or("ARENA_CACHE_DIR", defaultCacheDir()), "compiled-module cache (ARENA_CACHE_DIR); empty: memory only")
	rest, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil && (*kind == "" || len(rest) != 1) {
		err = misusef("usage: arena eval --kind KIND [--params FILE] [--seed N] [--json] FILE")
	}
	var bench scoring.Benchmark
	var module []byte
	if err == nil {
		bench, module, err = c.evalInputs(*kind, *paramsFile, *seed, rest[0])
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "arena eval: %v\n", err)
		return exitMisuse
	}

	eng := c.newEngine(1, *cacheDir)
	defer eng.Close(context.Background())
	ev, err := scoring.Evaluate(ctx, eng, bench, arena.DefaultLimits(), module)
	if err != nil {
		fmt.Fprintf(c.stderr, "arena eval: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		_ = printJSON(c, ev)
	} else {
		fmt.Fprintf(c.stdout, "status  %s\n", ev.Status)
		if ev.Score != nil {
			fmt.Fprintf(c.stdout, "score   %.6f  (benchmark %s v%d; 0 is the baseline)\n", *ev.Score, bench.Kind(), ev.BenchmarkVersion)
		}
		if ev.Error != "" {
			fmt.Fprintf(c.stdout, "reason  %s\n", ev.Error)
		}
		printTasks(c, ev.Tasks)
	}
	if ev.Status != arena.StatusScored {
		return exitFailed
	}
	return exitOK
}

func (c *cli) evalInputs(kind, paramsFile string, seed int64, file string) (scoring.Benchmark, []byte, error) {
	params := json.RawMessage(`{}`)
	if paramsFile != "" {
		data, err := os.ReadFile(paramsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read params: %w", err)
		}
		params = data
	}
	if seed >= 0 {
		var m map[string]any
		if err := json.Unmarshal(params, &m); err != nil {
			return nil, nil, fmt.Errorf("params: %w", err)
		}
		m["seeds"] = []int64{seed}
		params, _ = json.Marshal(m)
	}
	bench, err := scoring.New(kind, params)
	if err != nil {
		return nil, nil, errors.New(arena.ErrorMessage(err))
	}
	module, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read module: %w", err)
	}
	return bench, module, nil
}
