// Command scoretable builds every example strategy of the compression
// kinds, scores it with its kind's default parameters through
// scoring.Evaluate, and prints the
// Markdown tables the README shows (`make scores`): the scores, and what
// an evaluation costs (fuel per task, time, and how the time splits
// between the host's simulation and the guest's code).
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

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

	type costRow struct {
		kind, name          string
		fuel                int64
		tasks               int
		total, guest, first time.Duration
	}
	var costs []costRow
	fmt.Println("The optimizer, lr_schedule and grad_compression kinds' examples are scored by `make validity`, into docs/validity.md.")
	fmt.Println()
	fmt.Println("| kind | example | score | per workload (mean task score) |")
	fmt.Println("|---|---|---:|---|")
	for _, e := range list {
		if e.Kind == scoring.OptimizerKind || e.Kind == scoring.LRScheduleKind || e.Kind == scoring.GradCompressionKind {
			continue // the LM kinds: make validity scores them, into docs/validity.md
		}
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
		// The first evaluation compiles the module; then the fastest of
		// three more (one for a long evaluation), since a shared machine's noise
		// only ever adds time.
		begin := time.Now()
		ev, err := scoring.Evaluate(ctx, eng, bench, scoring.DefaultLimits(e.Kind), module, nil)
		if err != nil {
			return err
		}
		row := costRow{kind: e.Kind, name: e.Name, tasks: len(ev.Tasks), first: time.Since(begin)}
		repeats := 3
		if row.first > 10*time.Second {
			repeats = 1 // the LM kinds: one more run shows the compiled cost
		}
		for range repeats {
			begin = time.Now()
			again, err := scoring.Evaluate(ctx, eng, bench, scoring.DefaultLimits(e.Kind), module, nil)
			if err != nil {
				return err
			}
			if took := time.Since(begin); row.total == 0 || took < row.total {
				row.total, row.guest = took, again.GuestTime
			}
		}
		if ev.FuelUsed != nil {
			row.fuel = *ev.FuelUsed
		}
		costs = append(costs, row)
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

	fmt.Println()
	fmt.Println("| kind | example | fuel per task | evaluation (compiled) | first evaluation (compiles) | host simulation | guest code |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, c := range costs {
		host := c.total - c.guest
		fmt.Printf("| %s | %s | %s | %s | %s | %.0f%% | %.0f%% |\n", c.kind, c.name,
			humanCount(c.fuel/int64(max(1, c.tasks))), c.total.Round(time.Millisecond), c.first.Round(time.Millisecond),
			100*host.Seconds()/c.total.Seconds(), 100*c.guest.Seconds()/c.total.Seconds())
	}
	return nil
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
