// Package worker evaluates submissions: it pulls jobs from the queue, runs
// the benchmark in the sandbox and records results in the store.
package worker

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/metrics"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/store"
)

// Worker scores submissions. It is stateless: run as many as you like, in
// one process or across machines.
type Worker struct {
	Store       *store.Store
	Queue       *queue.Queue
	Engine      *sandbox.Engine
	Signer      *receipt.Signer // signs every evaluation's receipt
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
	Concurrency int           // evaluations at once; at least 1
	Heartbeat   time.Duration // how often a running job reports progress

	// RetryDelay is how long a job waits after a failed evaluation before
	// its next attempt, doubling with each attempt up to MaxRetryDelay
	// (0: DefaultRetryDelay, DefaultMaxRetryDelay). A database that does
	// not answer is not such a failure: see OutagePoll.
	RetryDelay, MaxRetryDelay time.Duration
	// OutagePoll is the longest a worker waits between tries while its
	// database does not answer (0: DefaultOutagePoll). It keeps the job
	// meanwhile, and its ack deadline fresh, and carries on where it
	// stopped once the database answers: an outage costs a job no
	// delivery, charges the module nothing, and ends for the worker within
	// OutagePoll of the database's return.
	OutagePoll time.Duration
	// WarmInterval is how often the worker looks for baselines to compute
	// ahead of the submissions that will need them (see warm.go); 0 turns
	// warming off.
	WarmInterval time.Duration

	evaluating atomic.Int32 // evaluations running now; warming waits for 0
	mu         sync.Mutex
	benches    map[string]scoring.Benchmark // per challenge, so baselines are computed once
}

// Retry defaults.
const (
	DefaultRetryDelay    = 2 * time.Second
	DefaultMaxRetryDelay = time.Minute
	DefaultOutagePoll    = time.Second
)

// retryDelay is the wait before the attempt after attempt: RetryDelay,
// doubled for each attempt before, at most MaxRetryDelay.
func (w *Worker) retryDelay(attempt int) time.Duration {
	d, most := w.RetryDelay, w.MaxRetryDelay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	if most <= 0 {
		most = DefaultMaxRetryDelay
	}
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// maxBenches bounds the benchmark cache; past it, the cache starts over.
const maxBenches = 64

// benchmark returns the challenge's benchmark, reusing the one built for
// an earlier submission to the same challenge and parameters.
func (w *Worker) benchmark(ch arena.Challenge) (scoring.Benchmark, error) {
	key := fmt.Sprintf("%d\x00%s\x00%s", ch.ID, ch.Kind, ch.Params)
	w.mu.Lock()
	defer w.mu.Unlock()
	if b, ok := w.benches[key]; ok {
		return b, nil
	}
	b, err := scoring.New(ch.Kind, ch.Params)
	if err != nil {
		return nil, fmt.Errorf("challenge %s: %w", ch.Slug, err)
	}
	if w.benches == nil || len(w.benches) >= maxBenches {
		w.benches = map[string]scoring.Benchmark{}
	}
	w.benches[key] = b
	return b, nil
}

// Run consumes jobs until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	n := max(1, w.Concurrency)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		jobs, err := w.Queue.Jobs(ctx)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.loop(ctx, jobs, w.Logger.With("worker", i))
		}()
	}
	if w.WarmInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.warmLoop(ctx, w.Logger.With("by", "warm"))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) loop(ctx context.Context, jobs *queue.Jobs, log *slog.Logger) error {
	for {
		job, err := jobs.Next()
		if err == queue.ErrStopped || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if job != nil {
				log.Error("dropping malformed job", "err", err)
				_ = job.Drop(err.Error())
				continue
			}
			log.Warn("waiting for jobs", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		w.handle(ctx, job, log.With("submission", job.SubmissionID, "attempt", job.Attempt))
	}
}

// handle settles one delivery: acked when the submission is final,
// retried when the host could not finish the evaluation.
func (w *Worker) handle(ctx context.Context, job *queue.Job, log *slog.Logger) {
	err := w.evaluate(ctx, job, log)
	if err == nil {
		if err := job.Ack(); err != nil {
			log.Warn("ack job", "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		// Shutting down: hand the job straight to another worker.
		log.Info("evaluation interrupted by shutdown; job released")
		_ = job.Retry(0)
		return
	}
	if job.LastAttempt {
		log.Error("evaluation failed on its last attempt", "err", err)
		ev := arena.Evaluation{Status: arena.StatusFailed, HostFailure: true,
			Error: fmt.Sprintf("internal error: the evaluation could not complete after %d attempts; this does not count against you", job.Attempt)}
		if err := w.reach(ctx, job, log, func() error {
			_, err := w.Store.Finish(ctx, job.SubmissionID, ev, nil)
			return err
		}); err != nil {
			if ctx.Err() != nil {
				_ = job.Retry(0)
				return
			}
			log.Error("record failure", "err", err)
		}
		w.announce(ctx, job.SubmissionID, nil, log)
		_ = job.Ack()
		return
	}
	delay := w.retryDelay(job.Attempt)
	log.Warn("evaluation failed; will retry", "err", err, "in", delay)
	_ = job.Retry(delay)
}

// reach calls fn, a database call, and when the database does not answer
// (an unavailable error) calls it again until it does: after a short
// wait, doubling up to OutagePoll, keeping the job's ack deadline fresh
// meanwhile. The host cannot reach its database: that is no fault of the
// module's, so the outage costs the job no delivery, and the evaluation
// carries on from where it stopped. It gives up only when ctx is done.
func (w *Worker) reach(ctx context.Context, job *queue.Job, log *slog.Logger, fn func() error) error {
	err := fn()
	if arena.ErrorCode(err) != arena.EUNAVAILABLE {
		return err
	}
	poll := w.OutagePoll
	if poll <= 0 {
		poll = DefaultOutagePoll
	}
	begin := time.Now()
	log.Warn("database not answering; keeping the job and trying again", "err", err)
	stop := w.keepAlive(ctx, job, log)
	defer stop()
	wait := max(poll/16, time.Millisecond)
	for tries := 1; ; tries++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		err = fn()
		if arena.ErrorCode(err) != arena.EUNAVAILABLE {
			log.Info("database answers again; carrying on", "waited", time.Since(begin).Round(time.Millisecond), "tries", tries+1)
			return err
		}
		wait = min(2*wait, poll)
	}
}

// keepAlive extends the job's ack deadline every heartbeat until the
// returned function is called (the row is not touched: the database may
// be what is being waited for).
func (w *Worker) keepAlive(ctx context.Context, job *queue.Job, log *slog.Logger) func() {
	return w.heartbeat(ctx, job, "", log)
}

func (w *Worker) heartbeatEvery() time.Duration {
	if w.Heartbeat <= 0 {
		return 10 * time.Second
	}
	return w.Heartbeat
}

func (w *Worker) evaluate(ctx context.Context, job *queue.Job, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	var j store.Job
	err = w.reach(ctx, job, log, func() (err error) {
		j, err = w.Store.Job(ctx, job.SubmissionID)
		return err
	})
	if arena.ErrorCode(err) == arena.ENOTFOUND {
		log.Warn("job for an unknown submission; dropped")
		return nil
	}
	if err != nil {
		return err
	}
	if j.Submission.Status.Final() {
		return nil // a redelivery of a job already done
	}
	// One token for this delivery: reach may repeat the start after an
	// outage, and a start that committed unseen must not count twice.
	delivery := rand.Text()
	var started bool
	err = w.reach(ctx, job, log, func() (err error) {
		started, err = w.Store.Start(ctx, j.Submission.ID, delivery)
		return err
	})
	if err != nil || !started {
		return err
	}
	w.announce(ctx, j.Submission.ID, nil, log)
	bench, err := w.benchmark(j.Challenge)
	if err != nil {
		return err
	}

	var hidden []uint64
	var commitment string
	if n := j.Challenge.Rules.HiddenSeeds; n > 0 {
		var secret []byte
		err := w.reach(ctx, job, log, func() (err error) {
			secret, err = w.Store.Secret(ctx, store.SecretHiddenSeeds)
			return err
		})
		if err != nil {
			return err
		}
		hidden, commitment = scoring.RoundSeeds(secret, j.Challenge.Slug, j.Challenge.Round, n)
	}

	stop := w.heartbeat(ctx, job, j.Submission.ID, log)
	w.evaluating.Add(1)
	defer w.evaluating.Add(-1)
	begin := time.Now()
	var (
		mu  sync.Mutex // tasks finish on goroutines of their own
		sum float64
		n   int
	)
	ev, err := scoring.EvaluateWith(ctx, w.Engine, bench, j.Challenge.Limits, j.Module, hidden, scoring.Options{
		Progress: func(done, total int, task arena.TaskResult) {
			log.Info("task done", "done", done, "of", total, "workload", task.Workload, "score", task.Score, "error", task.Error)
			mu.Lock()
			sum, n = sum+task.Score, n+1
			running := sum / float64(n)
			mu.Unlock()
			p := arena.Progress{TasksDone: done, Tasks: total, Score: &running}
			// Progress is a courtesy, as events are: a lost write costs
			// the page a step, not the evaluation.
			if err := w.Store.Progress(ctx, j.Submission.ID, p); err != nil {
				log.Warn("record progress", "err", err)
			}
			w.announce(ctx, j.Submission.ID, &p, log)
		},
	})
	stop()
	if err != nil {
		return err
	}
	w.Metrics.Evaluated(j.Challenge.Kind, ev.Status, time.Since(begin), ev.FuelUsed)
	ev.Round = j.Challenge.Round
	signed, err := w.Signer.Sign(receipt.For(j.Submission, j.Challenge, ev, commitment, time.Now()))
	if err != nil {
		return err
	}
	var champ *arena.Champion
	err = w.reach(ctx, job, log, func() (err error) {
		champ, err = w.Store.Finish(ctx, j.Submission.ID, ev, &signed)
		return err
	})
	if err != nil {
		return err
	}
	w.announce(ctx, j.Submission.ID, nil, log)
	log.Info("evaluated", "status", ev.Status, "score", func() any {
		if ev.Score == nil {
			return "none" // a pointer would print as its address
		}
		return *ev.Score
	}(), "failed_tasks", ev.FailedTasks, "took", time.Since(begin).Round(time.Millisecond))
	if champ != nil {
		log.Info("new champion", "challenge", champ.Challenge, "competitor", champ.Competitor, "score", champ.Score)
		if err := w.Queue.PublishChampion(champ.Challenge, champ); err != nil {
			log.Warn("announce champion", "err", err)
		}
	}
	return nil
}

// announce tells a submission's watchers where it is now, as the record
// says, with how far a running evaluation has got when progress is set.
// Events are a courtesy: a lost one costs a watcher a poll.
func (w *Worker) announce(ctx context.Context, id string, progress *arena.Progress, log *slog.Logger) {
	sub, err := w.Store.Summary(ctx, id)
	if err == nil {
		sub.Progress = progress
		err = w.Queue.PublishSubmission(sub)
	}
	if err != nil {
		log.Warn("announce status", "err", err)
	}
}

// heartbeat keeps the job's ack deadline and, given a submission id, the
// row's liveness fresh while an evaluation runs; the returned function
// stops it.
func (w *Worker) heartbeat(ctx context.Context, job *queue.Job, id string, log *slog.Logger) func() {
	every := w.heartbeatEvery()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := job.InProgress(); err != nil {
					log.Warn("heartbeat to queue", "err", err)
				}
				if id == "" {
					continue
				}
				if err := w.Store.Heartbeat(ctx, id); err != nil {
					log.Warn("heartbeat to store", "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
