package worker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/worker"
)

// TestAWorkerKilledMidEvaluation keeps what issue 13 found to hold: a
// worker killed mid-evaluation (kill -9: its connection gone, no nak, no
// result) leaves its job to be delivered again once the ack deadline
// passes, to another worker, and every submission is scored once, with
// one receipt.
func TestAWorkerKilledMidEvaluation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	srv := natstest.StartServer(t)
	cfg := queue.Config{AckWait: time.Second, MaxDeliver: 3}
	e := fixture(t, st, srv.Queue(cfg))
	// Long enough an evaluation that the kill lands in the middle of it.
	e.ch.ID, e.ch.Slug, e.ch.Params = 0, "slow", json.RawMessage(`{"workloads":["quadratic"],"seeds":[1],"steps":3000}`)
	if err := st.CreateChallenge(ctx, &e.ch); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		sub, err := st.CreateSubmission(ctx, e.ch, e.who.ID, signSGD(t, i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
		if err := e.queue.Publish(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
	}
	eng := sandbox.NewEngine(4)
	t.Cleanup(func() { eng.Close(context.Background()) })
	start := func(q *queue.Queue, logs *logBuffer, n int) (context.CancelFunc, chan error) {
		wctx, cancel := context.WithCancel(ctx)
		w := &worker.Worker{Store: st, Queue: q, Engine: eng, Signer: e.signer, Logger: logs.logger(), Concurrency: n,
			Heartbeat: 200 * time.Millisecond}
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		return cancel, done
	}

	// The doomed worker, on a connection of its own.
	nc := srv.Connect()
	doomed, err := queue.New(ctx, nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kill, killed := start(doomed, &logBuffer{}, 1)
	var victim string
	for deadline := time.Now().Add(10 * time.Second); victim == ""; time.Sleep(5 * time.Millisecond) {
		for _, id := range ids {
			if sub, err := st.Submission(ctx, id); err == nil && sub.Status == arena.StatusRunning {
				victim = id
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the doomed worker never started a job")
		}
	}
	nc.Close() // first the connection, so nothing reaches NATS: not even the release a shutdown sends
	kill()
	<-killed
	died := time.Now()

	logs := &logBuffer{}
	stop, done := start(e.queue, logs, 2)
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	for _, id := range ids {
		sub := waitFinal(t, st, id)
		if sub.Status != arena.StatusScored {
			t.Errorf("submission %s: %s %q", id, sub.Status, sub.Error)
		}
	}
	t.Logf("every submission scored %s after the kill", time.Since(died).Round(time.Millisecond))
	counts := receipts(t, url)
	for _, id := range ids {
		if counts[id] != 1 {
			t.Errorf("submission %s has %d receipts, want 1", id, counts[id])
		}
	}
	if sub, _ := st.Submission(ctx, victim); sub.Attempts != 2 {
		t.Errorf("the killed job: %d attempts, want 2 (the one killed, the one that finished)", sub.Attempts)
	}
	if out := logs.String(); !strings.Contains(out, "submission="+victim+" attempt=2") {
		t.Errorf("the killed job was not delivered again:\n%s", out)
	}
}
