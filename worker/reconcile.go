package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/store"
)

// Reconciler republishes jobs the queue may have lost: submissions that
// sat queued too long (a publish that failed after the commit, a queue
// restart) and running ones whose worker stopped sending heartbeats.
type Reconciler struct {
	Store        *store.Store
	Queue        *queue.Queue
	Logger       *slog.Logger
	Interval     time.Duration
	QueuedAfter  time.Duration
	RunningAfter time.Duration
}

// Run sweeps at once and then every Interval until ctx is done.
func (r *Reconciler) Run(ctx context.Context) { every(ctx, r.Interval, r.Sweep) }

// every runs fn at once and then every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep republishes every stale submission once.
func (r *Reconciler) Sweep(ctx context.Context) {
	ids, err := r.Store.Stale(ctx, r.QueuedAfter, r.RunningAfter, 100)
	if err != nil {
		if ctx.Err() == nil {
			r.Logger.Warn("reconcile: find stale submissions", "err", err)
		}
		return
	}
	for _, id := range ids {
		if err := r.Queue.Publish(ctx, id); err != nil {
			r.Logger.Warn("reconcile: republish", "submission", id, "err", err)
			continue
		}
		r.Logger.Info("reconcile: republished job", "submission", id)
	}
}
