// Command scoretable builds every example strategy, scores it with its
// kind's default parameters through scoring.Evaluate, and prints the
// Markdown table the README shows (`make scores`).
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scoretable:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "arena-scoretable")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	list, err := examples.List()
	if err != nil {
		return err
	}
	eng := sandbox.NewEngine(4)
	defer eng.Close(ctx)

	fmt.Println("| kind | example | score | per workload (mean task score) |")
	fmt.Println("|---|---|---:|---|")
	for _, e := range list {
		path, err := examples.Build(ctx, e, dir)
		if err != nil {
			return err
		}
		module, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		bench, err := scoring.New(e.Kind, nil)
		if err != nil {
			return err
		}
		ev, err := scoring.Evaluate(ctx, eng, bench, arena.DefaultLimits(), module)
		if err != nil {
			return err
		}
		score := string(ev.Status)
		if ev.Score != nil {
			score = fmt.Sprintf("%.4f", *ev.Score)
		}
		sums, counts := map[string]float64{}, map[string]int{}
		for _, t := range ev.Tasks {
			sums[t.Workload] += t.Score
			counts[t.Workload]++
		}
		names := make([]string, 0, len(sums))
		for w := range sums {
			names = append(names, w)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, w := range names {
			parts[i] = fmt.Sprintf("%s %.3f", w, sums[w]/float64(counts[w]))
		}
		fmt.Printf("| %s | %s | %s | %s |\n", e.Kind, e.Name, score, strings.Join(parts, ", "))
	}
	return nil
}
