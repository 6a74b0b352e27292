package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
	"github.com/arena-dev/arena/guest/schedule"
	"github.com/arena-dev/arena/scoring"
)

// The learning-rate grids of the reference strategies. Each candidate is
// scored natively (the same runs and baselines as a module gets) on the
// public seeds, and the best is what baseline/rates.go ships. Muon's own
// rate is tuned with its AdamW part at AdamW's tuned rate.
var optimizerGrids = []struct {
	name string
	grid []float64
	make func(lr float64) optimizer.TensorOptimizer
}{
	{"adamw", []float64{2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1}, func(lr float64) optimizer.TensorOptimizer { return tensoropt.NewAdamW(lr) }},
	{"sgd", []float64{0.1, 0.3, 1, 3}, func(lr float64) optimizer.TensorOptimizer { return tensoropt.NewSGD(lr) }},
	{"momentum", []float64{0.01, 0.03, 0.1, 0.3, 1}, func(lr float64) optimizer.TensorOptimizer { return tensoropt.NewMomentum(lr) }},
	{"adagrad", []float64{0.01, 0.03, 0.1, 0.3}, func(lr float64) optimizer.TensorOptimizer { return tensoropt.NewAdagrad(lr) }},
	{"signum", []float64{3e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2}, func(lr float64) optimizer.TensorOptimizer { return tensoropt.NewSignum(lr) }},
	{"lion", []float64{3e-4, 1e-3, 3e-3, 1e-2, 3e-2}, func(lr float64) optimizer.TensorOptimizer { return tensoropt.NewLion(lr) }},
	{"muon", []float64{0.01, 0.02, 0.05, 0.1}, func(lr float64) optimizer.TensorOptimizer {
		return tensoropt.NewMuon(lr, baseline.MuonAdamLR)
	}},
}

var scheduleGrids = []struct {
	name string
	grid []float64
	make func(peak float64) schedule.Schedule
}{
	{"constant", []float64{2e-3, 5e-3, 1e-2, 2e-2, 3e-2, 5e-2}, func(p float64) schedule.Schedule { return &baseline.Constant{Rate: p} }},
	{"cosine", []float64{5e-3, 1e-2, 2e-2, 5e-2, 0.1}, func(p float64) schedule.Schedule {
		return &baseline.Cosine{Peak: p, Warmup: baseline.DefaultWarmup}
	}},
	{"wsd", []float64{5e-3, 1e-2, 2e-2, 3e-2, 5e-2}, func(p float64) schedule.Schedule { return baseline.NewWSD(p) }},
	{"linear", []float64{5e-3, 1e-2, 2e-2, 3e-2, 5e-2}, func(p float64) schedule.Schedule { return baseline.NewLinearDecay(p) }},
}

// tune scores every grid point and writes, per strategy, the mean score
// of each rate and the best.
func tune(p profile, w io.Writer, only string) error {
	ob, err := scoring.New(scoring.OptimizerKind, []byte(p.optimizer))
	if err != nil {
		return err
	}
	sb, err := scoring.New(scoring.LRScheduleKind, []byte(p.schedule))
	if err != nil {
		return err
	}
	type job struct {
		name string
		lr   float64
		run  func(task scoring.Task) (float64, error)
	}
	var jobs []job
	// add queues name's grid, each rate scored by score.
	add := func(kind, name string, grid []float64, score func(lr float64, task scoring.Task) (arena.TaskResult, error)) {
		if only != "" && !selected(only, name) {
			return
		}
		for _, lr := range gridFor(only, name, grid) {
			jobs = append(jobs, job{kind + "/" + name, lr, func(task scoring.Task) (float64, error) {
				tr, err := score(lr, task)
				return tr.Score, err
			}})
		}
	}
	for _, g := range optimizerGrids {
		add("optimizer", g.name, g.grid, func(lr float64, task scoring.Task) (arena.TaskResult, error) {
			return scoring.NativeOptimizer(ob, task, g.make(lr))
		})
	}
	for _, g := range scheduleGrids {
		add("lr_schedule", g.name, g.grid, func(lr float64, task scoring.Task) (arena.TaskResult, error) {
			return scoring.NativeSchedule(sb, task, g.make(lr))
		})
	}
	type key struct {
		name string
		lr   float64
	}
	scores := map[key][]float64{}
	var mu sync.Mutex
	var firstErr error
	work := make(chan func())
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				f()
			}
		}()
	}
	for _, j := range jobs {
		for _, seed := range ob.Seeds() {
			j, seed := j, seed
			work <- func() {
				s, err := j.run(scoring.Task{Workload: scoring.LMWorkload, Seed: seed})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					firstErr = err
					return
				}
				scores[key{j.name, j.lr}] = append(scores[key{j.name, j.lr}], s)
			}
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	byName := map[string][]key{}
	var names []string
	for k := range scores {
		if byName[k.name] == nil {
			names = append(names, k.name)
		}
		byName[k.name] = append(byName[k.name], k)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "| strategy | rate: mean public-seed score | best |\n|---|---|---|\n")
	for _, n := range names {
		ks := byName[n]
		sort.Slice(ks, func(i, j int) bool { return ks[i].lr < ks[j].lr })
		best, bestLR := math.Inf(-1), 0.0
		var cells []string
		for _, k := range ks {
			m := mean(scores[k])
			cells = append(cells, fmt.Sprintf("%g: %+.3f", k.lr, m))
			if m > best {
				best, bestLR = m, k.lr
			}
		}
		fmt.Fprintf(w, "| `%s` | %s | **%g** |\n", n, strings.Join(cells, ", "), bestLR)
	}
	return nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// selected reports whether the comma-separated list names name (as name
// or name=rate/rate/...).
func selected(list, name string) bool {
	for _, item := range strings.Split(list, ",") {
		if item == name || strings.HasPrefix(item, name+"=") {
			return true
		}
	}
	return false
}

// gridFor is the grid list gives for name (name=r1/r2/...), else grid.
func gridFor(list, name string, grid []float64) []float64 {
	for _, item := range strings.Split(list, ",") {
		rates, ok := strings.CutPrefix(item, name+"=")
		if !ok {
			continue
		}
		var out []float64
		for _, r := range strings.Split(rates, "/") {
			var v float64
			if _, err := fmt.Sscan(r, &v); err == nil {
				out = append(out, v)
			}
		}
		return out
	}
	return grid
}
