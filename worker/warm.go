package worker

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/store"
)

// Baselines cost as much as a submission's run on the LM kinds, and an
// evaluation computes the ones its tasks need and not yet remembered: the
// first submission of a round to a default challenge would pay for five
// AdamW runs besides its own. So a worker warms them ahead: at start, and
// then every WarmInterval, it lists the challenges and computes, into the
// benchmark its evaluations use (the same memo, the same code), the
// baselines of every current task, public and the current round's hidden
// ones, that are not remembered yet: of the challenges still open, the
// newest maxBenches/2. A new challenge or round is warm within
// WarmInterval plus the baselines' own time.
//
// Warming gives way to real work. It starts a baseline only while no
// evaluation runs on this worker, at most Concurrency at once; an
// evaluation that needs a baseline being warmed waits for it instead of
// computing it again. A baseline once begun runs to its end (a half one
// would poison the memo), so shutdown waits for at most that long, and
// an evaluation arriving meanwhile shares the CPU with it for that long.

// warmLoop warms baselines until ctx is done.
func (w *Worker) warmLoop(ctx context.Context, log *slog.Logger) {
	every(ctx, w.WarmInterval, func(ctx context.Context) { w.warm(ctx, log) })
}

// warmTask is one baseline to warm, and how the log names it: a hidden
// seed is secret until its round closes, so it goes by its number.
type warmTask struct {
	ch     arena.Challenge
	bench  scoring.BaselineWarmer
	task   scoring.Task
	hidden int // 1-based number among the round's hidden seeds; 0 for public
}

// warm computes every current baseline not yet remembered; see above.
func (w *Worker) warm(ctx context.Context, log *slog.Logger) {
	chs, err := w.Store.Challenges(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("warm baselines: list challenges", "err", err)
		}
		return
	}
	var secret []byte
	var todo []warmTask
	now, warmed := time.Now(), 0
	for _, ch := range chs {
		if c := ch.Rules.ClosesAt; c != nil && !now.Before(*c) {
			continue // closed: no submission will need its baselines
		}
		if warmed++; warmed > maxBenches/2 {
			// The newest first, and no more than half the benchmark
			// cache, so warming never evicts what it warmed, nor all that
			// evaluations use.
			log.Debug("warm baselines: not every challenge", "warmed", maxBenches/2, "challenges", len(chs))
			break
		}
		b, err := w.benchmark(ch)
		if err != nil {
			log.Warn("warm baselines", "challenge", ch.Slug, "err", err)
			continue
		}
		warmer, ok := b.(scoring.BaselineWarmer)
		if !ok {
			continue
		}
		var hidden []uint64
		if n := ch.Rules.HiddenSeeds; n > 0 {
			if secret == nil {
				if secret, err = w.Store.Secret(ctx, store.SecretHiddenSeeds); err != nil {
					if ctx.Err() == nil {
						log.Warn("warm baselines: read the hidden-seed secret", "err", err)
					}
					return
				}
			}
			hidden, _ = scoring.RoundSeeds(secret, ch.Slug, ch.Round, n)
		}
		tasks := scoring.Tasks(b, hidden)
		public := len(tasks) - len(b.Workloads())*len(hidden)
		for i, task := range tasks {
			if warmer.BaselineKnown(task) {
				continue
			}
			wt := warmTask{ch: ch, bench: warmer, task: task}
			if i >= public {
				wt.hidden = (i-public)%len(hidden) + 1
			}
			todo = append(todo, wt)
		}
	}
	if len(todo) == 0 {
		return
	}
	begin := time.Now()
	jobs := make(chan warmTask)
	var wg sync.WaitGroup
	for range min(max(1, w.Concurrency), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wt := range jobs {
				w.warmOne(wt, log)
			}
		}()
	}
	computed := 0
	for _, wt := range todo {
		if !w.waitIdle(ctx) {
			break
		}
		jobs <- wt
		computed++
	}
	close(jobs)
	wg.Wait()
	log.Info("baselines warm", "started", computed, "of", len(todo), "took", time.Since(begin).Round(time.Millisecond))
}

func (w *Worker) warmOne(wt warmTask, log *slog.Logger) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("warm baselines: panic", "challenge", wt.ch.Slug, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	begin := time.Now()
	if !wt.bench.WarmBaseline(wt.task) {
		return // an evaluation got there first
	}
	args := []any{"challenge", wt.ch.Slug, "round", wt.ch.Round, "workload", wt.task.Workload}
	if wt.hidden > 0 {
		args = append(args, "hidden_seed", wt.hidden)
	} else {
		args = append(args, "seed", wt.task.Seed)
	}
	log.Info("baseline warmed", append(args, "took", time.Since(begin).Round(time.Millisecond))...)
}

// waitIdle waits until no evaluation runs on this worker, and reports
// false when ctx is done first.
func (w *Worker) waitIdle(ctx context.Context) bool {
	for w.evaluating.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return ctx.Err() == nil
}
