package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/faultproxy"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/store"
	"github.com/arena-dev/arena/worker"
)

// TestWorkersRideOutADatabaseOutage: the workers' Postgres stops
// answering (hung: it takes connections and says nothing, as a stopped
// postmaster does; refusing: it is down) with jobs queued and in flight,
// for longer than the old retry budget (every delivery spent at a fixed
// delay, after which the job was dropped and the row waited minutes for
// the reconciler; here MaxDeliver 3 with 100 ms delays would be spent in
// well under a second). The workers keep their jobs and wait: when
// Postgres returns, every submission is scored within moments, once,
// with one receipt each, and no job was delivered twice.
func TestWorkersRideOutADatabaseOutage(t *testing.T) {
	t.Parallel()
	outage, long := longOutage(t)
	if !long {
		outage = 3 * time.Second
	}
	for _, mode := range []string{"hung", "refusing"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := pgtest.NewDatabase(t)
			direct := openStore(t, url)
			proxy, proxied := faultproxy.ForURL(t, url)
			dbTimeout, qcfg := 300*time.Millisecond, queue.Config{AckWait: time.Second, MaxDeliver: 3}
			if long {
				dbTimeout, qcfg = store.DefaultTimeout, queue.DefaultConfig()
			}
			viaProxy := openStore(t, proxied, store.WithTimeout(dbTimeout))
			q := natstest.NewQueue(t, qcfg)
			e := fixture(t, direct, q)

			const n = 8
			var ids []string
			for i := range n {
				sub, err := direct.CreateSubmission(ctx, e.ch, e.who.ID, signSGD(t, i))
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, sub.ID)
			}
			logs := &logBuffer{}
			eng := sandbox.NewEngine(4)
			t.Cleanup(func() { eng.Close(context.Background()) })
			w := &worker.Worker{Store: viaProxy, Queue: q, Engine: eng, Signer: e.signer, Logger: logs.logger(), Concurrency: 2,
				Heartbeat: 200 * time.Millisecond, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond,
				OutagePoll: 200 * time.Millisecond}
			if long {
				w.Heartbeat, w.RetryDelay, w.MaxRetryDelay, w.OutagePoll = 0, 0, 0, 0 // serve's
			}
			wctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- w.Run(wctx) }()
			t.Cleanup(func() {
				stop()
				if err := <-done; err != nil {
					t.Errorf("worker: %v", err)
				}
			})
			for _, id := range ids {
				if err := q.Publish(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			// The outage starts once the first job is done, so the others
			// are queued or under way.
			waitFinal(t, direct, ids[0])
			if mode == "hung" {
				proxy.Hang()
			} else {
				proxy.Refuse()
			}
			time.Sleep(outage)
			if err := proxy.Restore(); err != nil {
				t.Fatal(err)
			}
			restored := time.Now()
			var last time.Duration
			for _, id := range ids {
				sub := waitFinal(t, direct, id)
				if sub.Status != arena.StatusScored || sub.HostFailure || sub.Score == nil {
					t.Errorf("submission %s after the outage: %s, host failure %v, error %q", id, sub.Status, sub.HostFailure, sub.Error)
				}
				// (The row's attempts count the starts Postgres ran, which
				// an outage can make more than the deliveries: a start
				// whose answer was cut off, or that was sent on a
				// connection before a hang and arrives after it, however
				// long ago its caller gave up, is tried again. The
				// deliveries are checked in the log below.)
				if sub.FinishedAt != nil {
					last = max(last, sub.FinishedAt.Sub(restored))
				}
			}
			t.Logf("Postgres %s for %s: %d submissions, the last scored %s after it returned", mode, outage, n, last.Round(time.Millisecond))
			// Before, the jobs under way were dropped and their rows waited
			// a minute or two for the reconciler.
			if last > 10*time.Second {
				t.Errorf("the last submission was scored %s after Postgres returned; want seconds", last)
			}
			for _, id := range ids {
				if c := receipts(t, url)[id]; c != 1 {
					t.Errorf("submission %s has %d receipts, want 1", id, c)
				}
			}
			out := logs.String()
			if !strings.Contains(out, "database not answering") {
				t.Errorf("the workers never met the outage: no job was under way?\n%s", out)
			}
			for _, redelivered := range []string{"attempt=2", "attempt=3", "last attempt"} {
				if strings.Contains(out, redelivered) {
					t.Errorf("the outage cost a job a delivery (%q in the log):\n%s", redelivered, out)
				}
			}
		})
	}
}
