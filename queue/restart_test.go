package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/queue"
)

// restartConfig has short heartbeats, so a lost stream is noticed in a
// second rather than in DefaultPullHeartbeat's four.
var restartConfig = queue.Config{AckWait: 2 * time.Second, MaxDeliver: 3, PullHeartbeat: 500 * time.Millisecond}

// next waits for a job, up to within.
func next(t *testing.T, jobs *queue.Jobs, within time.Duration) (*queue.Job, time.Duration) {
	t.Helper()
	type result struct {
		j   *queue.Job
		err error
	}
	got := make(chan result, 1)
	begin := time.Now()
	go func() {
		for {
			j, err := jobs.Next()
			if err != nil && j == nil && err != queue.ErrStopped {
				continue // the pull is being repaired; the worker waits and asks again
			}
			got <- result{j, err}
			return
		}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("next job: %v", r.err)
		}
		return r.j, time.Since(begin)
	case <-time.After(within):
		t.Fatalf("no job within %s", within)
		return nil, 0
	}
}

// A NATS server restarted on an empty store has no stream and no
// consumer. A worker's pull notices (it reconnects, or its heartbeats
// stop, or its consumer is deleted), recreates them and pulls again, with
// nobody's help; a job published afterwards is delivered within seconds.
func TestWorkersRecreateALostStream(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := natstest.StartServer(t)
	q := srv.Queue(restartConfig)
	jobs, err := q.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	if j, _ := next(t, jobs, 5*time.Second); j.SubmissionID != "before" {
		t.Fatalf("job %+v", j)
	}
	before, err := q.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	srv.Start(true)
	restarted := time.Now()
	// Someone else's connection, which does not go through the queue:
	// it sees the stream only once the worker's pull has recreated it.
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *queue.Job, 1)
	go func() {
		for {
			j, err := jobs.Next()
			if err == nil {
				got <- j
				return
			}
			if err == queue.ErrStopped {
				return
			}
			time.Sleep(100 * time.Millisecond) // as the worker does
		}
	}()
	for {
		if _, err := js.Stream(ctx, queue.StreamName); err == nil {
			break
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) && ctx.Err() == nil {
			t.Logf("stream lookup: %v", err)
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatal("the worker did not recreate the stream within 10 s of the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stream recreated by the worker's pull %s after the restart", time.Since(restarted).Round(time.Millisecond))
	if _, err := js.Publish(ctx, queue.JobSubject, []byte(`{"submission_id":"after"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case j := <-got:
		if j.SubmissionID != "after" || j.Attempt != 1 {
			t.Fatalf("job %+v", j)
		}
		t.Logf("job published after the restart delivered %s after the restart", time.Since(restarted).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the job published after the restart was not delivered")
	}
	after, err := q.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !after.After(before) {
		t.Errorf("the recreated stream's creation %s is not after the lost one's %s", after, before)
	}

	// The stream deleted under a waiting pull, with no reconnection to
	// tell it: the pull ends, and the worker recreates the stream and
	// pulls again.
	go func() {
		for {
			j, err := jobs.Next()
			if err == nil {
				got <- j
				return
			}
			if err == queue.ErrStopped {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the pull is waiting
	if err := js.DeleteStream(ctx, queue.StreamName); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	for {
		if _, err := js.Stream(ctx, queue.StreamName); err == nil {
			break
		}
		if time.Since(deleted) > 10*time.Second {
			t.Fatal("the worker did not recreate the deleted stream within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("deleted stream recreated by the worker's pull after %s", time.Since(deleted).Round(time.Millisecond))
	if _, err := js.Publish(ctx, queue.JobSubject, []byte(`{"submission_id":"deleted"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case j := <-got:
		if j.SubmissionID != "deleted" {
			t.Fatalf("job %+v", j)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job published after the deletion was not delivered")
	}
}

// After a restart on an empty store, the first publish finds no stream,
// recreates it and the consumer, and a worker on another connection gets
// the job.
func TestPublishRecreatesALostStream(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := natstest.StartServer(t)
	api := srv.Queue(restartConfig)
	wq := srv.Queue(restartConfig)
	if err := api.Publish(ctx, "lost"); err != nil { // in the stream when it is lost
		t.Fatal(err)
	}

	srv.Stop()
	srv.Start(true)
	restarted := time.Now()
	for {
		err := api.Publish(ctx, "after")
		if err == nil {
			break
		}
		if arena.ErrorCode(err) != arena.EUNAVAILABLE {
			t.Fatalf("publish while NATS restarts: %v, want an unavailable error", err)
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatalf("publish still failing 10 s after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("publish succeeded %s after the restart", time.Since(restarted).Round(time.Millisecond))
	// The worker's queue has not touched the stream since the restart: the
	// publish recreated what it pulls from.
	jobs, err := wq.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := next(t, jobs, 5*time.Second)
	if j.SubmissionID != "after" {
		t.Fatalf("job %+v: the lost stream's job cannot come back, the new one should", j)
	}
	if err := j.Ack(); err != nil {
		t.Fatal(err)
	}
	if st, err := api.State(ctx); err != nil || st.Undelivered != 0 {
		t.Errorf("state after the job: %+v %v", st, err)
	}
}

// While NATS is down, health fails, the queue's state is unavailable (the
// API answers 503) and a publish fails at once, remembered; once NATS is
// back, health passes and Republish publishes what failed.
func TestQueueDownIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := natstest.StartServer(t)
	q := srv.Queue(restartConfig)
	if err := q.Ping(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := q.Ping(); arena.ErrorCode(err) != arena.EUNAVAILABLE {
		t.Errorf("ping with NATS down: %v, want unavailable", err)
	}
	if _, err := q.State(ctx); arena.ErrorCode(err) != arena.EUNAVAILABLE {
		t.Errorf("state with NATS down: %v, want unavailable", err)
	}
	begin := time.Now()
	if err := q.Publish(ctx, "during"); arena.ErrorCode(err) != arena.EUNAVAILABLE {
		t.Errorf("publish with NATS down: %v, want unavailable", err)
	}
	if took := time.Since(begin); took > 100*time.Millisecond {
		t.Errorf("publish with NATS down took %s; it should fail at once", took)
	}
	if published, failed := q.Republish(ctx); published != 0 || failed != 1 {
		t.Errorf("republish with NATS down: %d published, %d failed", published, failed)
	}

	srv.Start(true)
	deadline := time.Now().Add(10 * time.Second)
	for q.Ping() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("health still failing 10 s after NATS returned: %v", q.Ping())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if published, failed := q.Republish(ctx); published != 1 || failed != 0 {
		t.Errorf("republish with NATS back: %d published, %d failed", published, failed)
	}
	if published, failed := q.Republish(ctx); published != 0 || failed != 0 {
		t.Errorf("republish again: %d published, %d failed; each job once", published, failed)
	}
	jobs, err := q.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := next(t, jobs, 5*time.Second); j.SubmissionID != "during" {
		t.Errorf("job %+v", j)
	}
	if st, err := q.State(ctx); err != nil || st.InFlight != 1 {
		t.Errorf("state: %+v %v", st, err)
	}
}
