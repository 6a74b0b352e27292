package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/client"
	"github.com/arena-dev/arena/scoring"
)

// eval scores a module locally through scoring.Evaluate, the code path the
// workers run. Exit 0 when scored, 1 when the module failed or was
// rejected, 2 on misuse.
func (c *cli) eval(ctx context.Context, args []string) int {
	fs := c.flags("eval")
	kind := fs.String("kind", "", "benchmark kind: "+fmt.Sprint(scoring.Kinds()))
	slug := fs.String("challenge", "", "take the kind, parameters and limits from this challenge on the server (ARENA_URL)")
	url := fs.String("url", c.env.or("ARENA_URL", "http://localhost:8080"), "Arena server, with --challenge (ARENA_URL)")
	paramsFile := fs.String("params", "", "JSON file with benchmark parameters (default: the kind's defaults)")
	seed := fs.Int64("seed", -1, "evaluate on this one seed instead of the parameters' seeds")
	seeds := fs.String("seeds", "public", "the seeds to evaluate on: public (the parameters' public seeds) or a comma-separated list")
	round := fs.Int("round", 0, "with --challenge: evaluate on this closed round's hidden seeds, checked against its commitment, to recompute its official scores")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cacheDir := fs.String("cache-dir", c.env.or("ARENA_CACHE_DIR", defaultCacheDir()), "compiled-module cache (ARENA_CACHE_DIR); empty: memory only")
	rest, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil && ((*kind == "") == (*slug == "") || len(rest) != 1 || (*slug != "" && *paramsFile != "") ||
		(*round != 0 && (*slug == "" || *seed >= 0 || *seeds != "public"))) {
		err = misusef("usage: arena eval (--kind KIND [--params FILE] | --challenge SLUG) [--seed N | --seeds public|N,M,... | --round N] [--json] FILE")
	}
	var bench scoring.Benchmark
	var module []byte
	limits := arena.DefaultLimits()
	if err == nil {
		in := evalSource{kind: *kind, paramsFile: *paramsFile, seeds: *seeds}
		if *seed >= 0 {
			in.seeds = strconv.FormatInt(*seed, 10)
		}
		if *slug != "" {
			var ch arena.Challenge
			if ch, err = client.New(*url, "").Challenge(ctx, *slug); err == nil {
				in.kind, in.params, limits = ch.Kind, ch.Params, ch.Limits
			}
		}
		if err == nil && *round != 0 {
			in.seeds, err = revealedSeeds(ctx, client.New(*url, ""), *slug, *round)
			*seeds = in.seeds
		}
		if err == nil && *slug == "" {
			limits = scoring.DefaultLimits(in.kind)
		}
		if err == nil {
			bench, module, err = in.load(rest[0])
		}
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "arena eval: %v\n", err)
		return exitMisuse
	}

	eng := c.newEngine(1, *cacheDir)
	defer eng.Close(context.Background())
	ev, err := scoring.Evaluate(ctx, eng, bench, limits, module, nil)
	if err != nil {
		fmt.Fprintf(c.stderr, "arena eval: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		_ = printJSON(c, ev)
	} else {
		fmt.Fprintf(c.stdout, "status  %s\n", ev.Status)
		if ev.Score != nil {
			fmt.Fprintf(c.stdout, "score   %.6f  (benchmark %s v%d on %s; 0 is the baseline)\n", *ev.Score, bench.Kind(), ev.BenchmarkVersion, seedsNote(*seeds, *seed, *round))
		}
		if ev.FuelUsed != nil {
			fmt.Fprintf(c.stdout, "fuel    %d\n", *ev.FuelUsed)
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

// revealedSeeds returns a closed round's hidden seeds as a list for
// --seeds, once they match the commitment the round opened with.
func revealedSeeds(ctx context.Context, cl *client.Client, slug string, round int) (string, error) {
	r, err := revealedRound(ctx, cl, slug, round)
	if err != nil {
		return "", err
	}
	list := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		list[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(list, ","), nil
}

// revealedRound fetches a closed round of a challenge and checks its
// revealed salt and seeds against its commitment.
func revealedRound(ctx context.Context, cl *client.Client, slug string, round int) (arena.Round, error) {
	rounds, err := cl.Rounds(ctx, slug)
	if err != nil {
		return arena.Round{}, err
	}
	for _, r := range rounds {
		if r.Round != round {
			continue
		}
		switch {
		case r.HiddenSeeds == 0:
			return r, fmt.Errorf("%s has no hidden seeds: its official scores use the public seeds", slug)
		case r.ClosedAt == nil:
			return r, fmt.Errorf("round %d of %s is still open: its hidden seeds are revealed when it closes", round, slug)
		}
		return r, verifyRound(r)
	}
	return arena.Round{}, fmt.Errorf("%s has no round %d", slug, round)
}

// seedsNote says which seeds an eval ran on.
func seedsNote(seeds string, seed int64, round int) string {
	switch {
	case round != 0:
		return fmt.Sprintf("round %d's hidden seeds %s, which match its commitment: its official score", round, seeds)
	case seed >= 0:
		return fmt.Sprintf("seed %d", seed)
	case seeds == "" || seeds == "public":
		return "the public seeds; official scores use the round's hidden seeds"
	}
	return "seeds " + seeds
}

// evalSource is where eval's benchmark comes from.
type evalSource struct {
	kind       string
	params     json.RawMessage // from a challenge
	paramsFile string
	seeds      string // comma-separated override
}

func (in evalSource) load(file string) (scoring.Benchmark, []byte, error) {
	params := in.params
	if in.paramsFile != "" {
		data, err := os.ReadFile(in.paramsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read params: %w", err)
		}
		params = data
	}
	if len(params) == 0 {
		params = json.RawMessage(`{}`)
	}
	if in.seeds != "" && in.seeds != "public" {
		var list []uint64
		for _, f := range strings.Split(in.seeds, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("seeds: %q is not a seed", f)
			}
			list = append(list, n)
		}
		var m map[string]any
		if err := json.Unmarshal(params, &m); err != nil {
			return nil, nil, fmt.Errorf("params: %w", err)
		}
		m["seeds"] = list
		params, _ = json.Marshal(m)
	}
	bench, err := scoring.New(in.kind, params)
	if err != nil {
		return nil, nil, errors.New(arena.ErrorMessage(err))
	}
	module, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read module: %w", err)
	}
	return bench, module, nil
}
