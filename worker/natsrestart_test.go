package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/api"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/metrics"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/worker"
)

// get answers a GET with its status and body.
func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServerAndWorkersSurviveNATSLosingItsStore stages issue 13's
// finding 5 on the real parts: a NATS server (reached over TCP, as an
// external one is) stopped, its store directory deleted, and started
// again on the same port, under a running API server, reconciler and
// worker that are not restarted. While NATS is down, /healthz answers 503
// naming the queue and the admin queue view 503 (not 500); a submission is
// accepted at once. Once NATS is back: health is 200 again, a submission
// made then is scored within seconds, the one made during the outage is
// published again, and so are the rows that were queued when the stream
// vanished (their jobs went with it); every one is scored once, with one
// receipt.
func TestServerAndWorkersSurviveNATSLosingItsStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outage, long := longOutage(t)
	url := pgtest.NewDatabase(t)
	srv := natstest.StartServer(t)
	cfg := queue.Config{AckWait: 2 * time.Second, MaxDeliver: 3, PullHeartbeat: 500 * time.Millisecond}
	// Sweeps alone would find nothing within the test: only the watch on
	// the stream can republish.
	rec := &worker.Reconciler{Interval: time.Hour, QueuedAfter: time.Hour, RunningAfter: time.Hour, StreamCheck: 200 * time.Millisecond}
	if long { // serve's settings
		srv.ReconnectWait, cfg = 2*time.Second, queue.DefaultConfig()
		rec = &worker.Reconciler{Interval: 30 * time.Second, QueuedAfter: time.Minute, RunningAfter: 2 * time.Minute}
	}
	// Separate connections, as separate processes have.
	serverQ, workerQ := srv.Queue(cfg), srv.Queue(cfg)
	st := openStore(t, url)
	e := fixture(t, st, serverQ)
	admin, err := st.CreateKey(ctx, arena.RoleAdmin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := st.CreateCompetitor(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	eng := sandbox.NewEngine(4)
	t.Cleanup(func() { eng.Close(context.Background()) })
	logs := &logBuffer{}
	a := &api.Server{Store: st, Queue: serverQ, Engine: eng, Signer: e.signer, Metrics: metrics.New(st.PendingCounts), Logger: logs.logger()}
	hs := httptest.NewServer(a.Router(nil))
	t.Cleanup(hs.Close)
	submit := func(i int) string {
		t.Helper()
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/challenges/opt/submissions", bytes.NewReader(signSGD(t, i)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/wasm")
		begin := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sub arena.Submission
		if err := json.NewDecoder(resp.Body).Decode(&sub); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("submit: %d %v", resp.StatusCode, err)
		}
		if took := time.Since(begin); took > time.Second {
			t.Errorf("submit took %s; the commit is what counts, not the publish", took)
		}
		return sub.ID
	}

	wctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	w := &worker.Worker{Store: st, Queue: workerQ, Engine: eng, Signer: e.signer, Logger: logs.logger(), Concurrency: 2}
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	rec.Store, rec.Queue, rec.Logger = st, serverQ, logs.logger()
	go rec.Run(wctx)

	first := submit(0)
	if sub := waitFinal(t, st, first); sub.Status != arena.StatusScored {
		t.Fatalf("before the restart: %+v", sub)
	}

	srv.Stop()
	// Rows queued when the stream vanishes: committed, their jobs in the
	// stream that is about to be lost (here, never published, which is the
	// same to the database).
	var lost []string
	for i := 1; i <= 3; i++ {
		sub, err := st.CreateSubmission(ctx, e.ch, e.who.ID, signSGD(t, i))
		if err != nil {
			t.Fatal(err)
		}
		lost = append(lost, sub.ID)
	}
	if code, body := get(t, hs.URL+"/healthz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, `"queue": "unavailable"`) {
		t.Errorf("health with NATS down: %d %s", code, body)
	}
	if code, body := get(t, hs.URL+"/api/v1/queue", admin); code != http.StatusServiceUnavailable || !strings.Contains(body, arena.EUNAVAILABLE) {
		t.Errorf("queue view with NATS down: %d %s", code, body)
	}
	during := submit(4)
	time.Sleep(outage)

	srv.Start(true) // an empty store: no stream, no consumer, no jobs
	restarted := time.Now()
	for {
		code, body := get(t, hs.URL+"/healthz", "")
		if code == http.StatusOK {
			t.Logf("health 200 again %s after NATS restarted", time.Since(restarted).Round(time.Millisecond))
			break
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatalf("health not back 10 s after NATS restarted: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := submit(5)
	sub := waitFinal(t, st, after)
	t.Logf("a submission made after the restart scored %s after the restart", time.Since(restarted).Round(time.Millisecond))
	if sub.Status != arena.StatusScored {
		t.Errorf("after the restart: %+v", sub)
	}
	for _, id := range append(append([]string{during}, lost...), after) {
		sub := waitFinal(t, st, id)
		if sub.Status != arena.StatusScored {
			t.Errorf("submission %s: %s %q", id, sub.Status, sub.Error)
		}
	}
	t.Logf("NATS down for %s and restarted on an empty store: every submission scored %s after the restart",
		outage, time.Since(restarted).Round(time.Millisecond))
	if time.Since(restarted) > 10*time.Second {
		t.Errorf("recovery took %s; want seconds", time.Since(restarted))
	}
	if code, body := get(t, hs.URL+"/api/v1/queue", admin); code != http.StatusOK {
		t.Errorf("queue view after the restart: %d %s", code, body)
	}
	counts := receipts(t, url)
	for _, id := range append(append([]string{first, during}, lost...), after) {
		if counts[id] != 1 {
			t.Errorf("submission %s has %d receipts, want 1", id, counts[id])
		}
	}
	if out := logs.String(); !strings.Contains(out, "republishing every queued submission") {
		t.Errorf("the reconciler did not see the new stream:\n%s", out)
	}
}
