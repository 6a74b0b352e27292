package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/queue"
)

func TestJobsAreRedeliveredUntilTheLastAttempt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q := natstest.NewQueue(t, queue.Config{AckWait: 5 * time.Second, MaxDeliver: 3})
	if err := q.Publish(ctx, "sub-1"); err != nil {
		t.Fatal(err)
	}
	jobs, err := q.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		j, err := jobs.Next()
		if err != nil {
			t.Fatal(err)
		}
		if j.SubmissionID != "sub-1" || j.Attempt != attempt || j.LastAttempt != (attempt == 3) {
			t.Fatalf("delivery %d: %+v", attempt, j)
		}
		if attempt < 3 {
			if err := j.Retry(0); err != nil {
				t.Fatal(err)
			}
		} else if err := j.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing more is delivered once acked.
	if err := q.Publish(ctx, "sub-2"); err != nil {
		t.Fatal(err)
	}
	j, err := jobs.Next()
	if err != nil || j.SubmissionID != "sub-2" || j.Attempt != 1 {
		t.Fatalf("next job: %+v %v", j, err)
	}
	cancel()
	if _, err := jobs.Next(); err != queue.ErrStopped {
		t.Errorf("after cancel: %v, want ErrStopped", err)
	}
}

func TestChampionEvents(t *testing.T) {
	t.Parallel()
	q := natstest.NewQueue(t, queue.DefaultConfig())
	got := make(chan string, 1)
	stop, err := q.SubscribeChampion("opt", func(data []byte) { got <- string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := q.PublishChampion("other", map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := q.PublishChampion("opt", map[string]string{"submission_id": "abc"}); err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-got:
		if data != `{"submission_id":"abc"}` {
			t.Errorf("event %s", data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}
