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
//
// Between sweeps it watches the job stream: it recreates the stream when
// the NATS server has lost it, publishes again what failed to publish in
// this process, and when the stream is a new one (the server lost its
// store, and with it every job) republishes every queued submission at
// once rather than after QueuedAfter.
type Reconciler struct {
	Store        *store.Store
	Queue        *queue.Queue
	Logger       *slog.Logger
	Interval     time.Duration // between sweeps (0: DefaultReconcileInterval)
	QueuedAfter  time.Duration
	RunningAfter time.Duration
	// StreamCheck is how often the job stream is watched (0:
	// DefaultStreamCheck).
	StreamCheck time.Duration

	created time.Time // the job stream's creation, as last seen
	down    bool      // the last check failed
}

// Defaults for a Reconciler told nothing else.
const (
	DefaultReconcileInterval = 30 * time.Second
	DefaultStreamCheck       = 2 * time.Second
)

// Run sweeps at once and then every Interval, and checks the stream every
// StreamCheck, until ctx is done.
func (r *Reconciler) Run(ctx context.Context) {
	check := r.StreamCheck
	if check <= 0 {
		check = DefaultStreamCheck
	}
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	r.CheckStream(ctx)
	sweep := time.NewTicker(interval)
	defer sweep.Stop()
	watch := time.NewTicker(check)
	defer watch.Stop()
	for {
		r.Sweep(ctx)
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-watch.C:
				r.CheckStream(ctx)
			case <-sweep.C:
				waiting = false
			}
		}
	}
}

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
func (r *Reconciler) Sweep(ctx context.Context) { r.republish(ctx, r.QueuedAfter, 100) }

// sweepAllQueued is how many queued submissions a new stream gets at once;
// any more wait for the sweeps.
const sweepAllQueued = 10000

func (r *Reconciler) republish(ctx context.Context, queuedAfter time.Duration, limit int) {
	ids, err := r.Store.Stale(ctx, queuedAfter, r.RunningAfter, limit)
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

// CheckStream makes sure the job stream and the worker consumer exist
// (recreating them if the NATS server lost them), republishes every
// queued submission when the stream is not the one seen before, and
// publishes again the jobs whose publish failed.
func (r *Reconciler) CheckStream(ctx context.Context) {
	created, err := r.Queue.Ensure(ctx)
	if err != nil {
		if !r.down && ctx.Err() == nil {
			r.Logger.Warn("reconcile: the job queue is not answering", "err", err)
		}
		r.down = true
		return
	}
	if r.down {
		r.Logger.Info("reconcile: the job queue answers again")
		r.down = false
	}
	if !r.created.IsZero() && !created.Equal(r.created) {
		// Its jobs went with the old one: whatever is queued has none.
		r.Logger.Warn("reconcile: the job stream is new, so its jobs were lost; republishing every queued submission",
			"lost_stream_created", r.created, "new_stream_created", created)
		r.republish(ctx, 0, sweepAllQueued)
	}
	r.created = created
	if published, failed := r.Queue.Republish(ctx); published+failed > 0 {
		r.Logger.Info("reconcile: published jobs whose publish had failed", "published", published, "still_failing", failed)
	}
}
