package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
)

// TestQueuePlaceAndProgress: GET and the event stream of a waiting
// submission say where it stands, and move it forward as the work ahead
// starts; running, they carry its progress; the stream ends when it is
// final.
func TestQueuePlaceAndProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts := newTestServer(t, serverOptions{queuePoll: 50 * time.Millisecond})
	bob, _, err := ts.store.CreateCompetitor(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ts.store.CreateSubmission(ctx, ts.challenge, bob.ID, []byte("\x00asm\x01\x00\x00\x00first"))
	second, _ := ts.store.CreateSubmission(ctx, ts.challenge, bob.ID, []byte("\x00asm\x01\x00\x00\x00second"))

	var got arena.Submission
	a := ts.do(t, "GET", "/api/v1/submissions/"+second.ID, "", "", nil)
	if err := json.Unmarshal(a.body, &got); err != nil || got.Queue == nil || got.Queue.Position != 2 || got.Queue.Workers != 1 || got.Queue.EvaluationSeconds != nil {
		t.Fatalf("GET a queued submission: %s", a.body)
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/submissions/"+second.ID+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan arena.Submission, 16)
	go func() {
		defer close(events)
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var s arena.Submission
				if json.Unmarshal([]byte(data), &s) == nil {
					events <- s
				}
			}
		}
	}()
	next := func(what string, ok func(arena.Submission) bool) arena.Submission {
		t.Helper()
		for s := range events {
			if ok(s) {
				return s
			}
		}
		t.Fatalf("the stream ended before %s", what)
		return arena.Submission{}
	}
	next("position 2", func(s arena.Submission) bool { return s.Queue != nil && s.Queue.Position == 2 })
	// The work ahead starts: no announcement for this one, and yet it moves up.
	if _, err := ts.store.Start(ctx, first.ID, "delivery-1"); err != nil {
		t.Fatal(err)
	}
	s := next("position 1", func(s arena.Submission) bool { return s.Queue != nil && s.Queue.Position == 1 })
	if s.Queue.Running != 1 {
		t.Errorf("position 1 with %d running, want 1", s.Queue.Running)
	}
	// Its turn: a worker starts it and reports a task done.
	ts.store.Start(ctx, second.ID, "delivery-2")
	half := 0.5
	ts.store.Progress(ctx, second.ID, arena.Progress{TasksDone: 1, Tasks: 2, Score: &half})
	sum, _ := ts.store.Summary(ctx, second.ID)
	if err := ts.queue.PublishSubmission(sum); err != nil {
		t.Fatal(err)
	}
	s = next("progress", func(s arena.Submission) bool { return s.Progress != nil })
	if s.Status != arena.StatusRunning || s.Queue != nil || s.Progress.TasksDone != 1 || s.Progress.Tasks != 2 || s.Progress.Score == nil || *s.Progress.Score != half {
		t.Errorf("a running submission's event: %+v, progress %+v", s, s.Progress)
	}
	a = ts.do(t, "GET", "/api/v1/submissions/"+second.ID, "", "", nil)
	if err := json.Unmarshal(a.body, &got); err != nil || got.Progress == nil || got.Progress.TasksDone != 1 {
		t.Errorf("GET a running submission: %s", a.body)
	}
	score := 0.1
	if _, err := ts.store.Finish(ctx, second.ID, arena.Evaluation{Status: arena.StatusScored, Score: &score, PublicScore: &score}, nil); err != nil {
		t.Fatal(err)
	}
	sum, _ = ts.store.Summary(ctx, second.ID)
	ts.queue.PublishSubmission(sum)
	next("the result", func(s arena.Submission) bool { return s.Status == arena.StatusScored && s.Progress == nil })
	for range events {
		t.Errorf("an event after the final one")
	}
}
