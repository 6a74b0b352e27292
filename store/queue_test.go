package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

// TestQueuePositionsOnlyMoveForward follows every queued submission's
// position through submissions, starts, a rescore and a lost worker: a
// submission's position never grows unless it was requeued itself, and a
// requeue sends it to the back and says why.
func TestQueuePositionsOnlyMoveForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "queue", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	var ids []string
	submit := func() string {
		t.Helper()
		sub, err := s.CreateSubmission(ctx, ch, alice.ID, []byte(fmt.Sprintf("module %d", len(ids))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
		return sub.ID
	}
	last := map[string]int{}     // each queued submission's last position
	requeues := map[string]int{} // and how often it was requeued by then
	check := func(step string, want map[string]int) {
		t.Helper()
		for _, id := range ids {
			sub, err := s.Summary(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Place(ctx, &sub, 2); err != nil {
				t.Fatal(err)
			}
			if sub.Status != arena.StatusQueued {
				if sub.Queue != nil {
					t.Errorf("%s: %s is %s but has a queue place", step, id[:8], sub.Status)
				}
				delete(last, id)
				continue
			}
			pos := sub.Queue.Position
			if w, ok := want[id]; ok && pos != w {
				t.Errorf("%s: %s at %d, want %d", step, id[:8], pos, w)
			}
			if before, ok := last[id]; ok && pos > before && sub.Requeues == requeues[id] {
				t.Errorf("%s: %s went back from %d to %d without a requeue", step, id[:8], before, pos)
			}
			last[id], requeues[id] = pos, sub.Requeues
		}
	}
	a, b, c := submit(), submit(), submit()
	check("three submitted", map[string]int{a: 1, b: 2, c: 3})
	if ok, err := s.Start(ctx, a, "delivery-1"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	d := submit()
	check("a started, d submitted", map[string]int{b: 1, c: 2, d: 3})
	if _, err := s.Finish(ctx, a, scored(0.5), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rescore(ctx, a); err != nil {
		t.Fatal(err)
	}
	check("a rescored", map[string]int{b: 1, c: 2, d: 3, a: 4})
	if sub, _ := s.Summary(ctx, a); sub.Requeues != 1 || sub.RequeueReason != store.ReasonRescored || !sub.QueuedAt.After(sub.CreatedAt) {
		t.Errorf("a rescored submission: requeues %d, reason %q, queued %v after created %v", sub.Requeues, sub.RequeueReason, sub.QueuedAt, sub.CreatedAt)
	}
	if ok, err := s.Start(ctx, b, "delivery-2"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	check("b started", map[string]int{c: 1, d: 2, a: 3})
	// b's worker dies: the reconciler finds it, and it goes to the back.
	stale, err := s.Stale(ctx, time.Hour, 0, 10)
	if err != nil || len(stale) != 1 || stale[0] != b {
		t.Fatalf("stale: %v %v, want only %s", stale, err, b)
	}
	e := submit()
	check("b's worker lost, e submitted", map[string]int{c: 1, d: 2, a: 3, b: 4, e: 5})
	if sub, _ := s.Summary(ctx, b); sub.Requeues != 1 || sub.RequeueReason != store.ReasonHeartbeat {
		t.Errorf("a submission whose worker stopped: requeues %d, reason %q", sub.Requeues, sub.RequeueReason)
	}
	// A queued submission the reconciler republishes keeps its place.
	if _, err := s.Stale(ctx, 0, time.Hour, 10); err != nil {
		t.Fatal(err)
	}
	check("queued jobs republished", map[string]int{c: 1, d: 2, a: 3, b: 4, e: 5})
	if sub, _ := s.Summary(ctx, c); sub.Requeues != 0 || sub.RequeueReason != "" {
		t.Errorf("a republished job counts as requeued: %d %q", sub.Requeues, sub.RequeueReason)
	}
	q, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, j := range q.Jobs {
		if j.Status == arena.StatusQueued {
			order = append(order, fmt.Sprintf("%s@%d", j.SubmissionID[:8], j.Position))
		}
	}
	if want := fmt.Sprintf("[%s@1 %s@2 %s@3 %s@4 %s@5]", c[:8], d[:8], a[:8], b[:8], e[:8]); fmt.Sprint(order) != want {
		t.Errorf("the queue page's order %v, want %s", order, want)
	}
}

// TestEstimatedStart: no estimate before any evaluation has finished;
// after, the later in the queue, the later the start, and with more
// workers than work, now.
func TestEstimatedStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "eta", 0.01)
	bob, _, _ := s.CreateCompetitor(ctx, "bob")
	var subs []arena.Submission
	for i := range 4 {
		sub, err := s.CreateSubmission(ctx, ch, bob.ID, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	first := subs[0]
	if err := s.Place(ctx, &first, 1); err != nil || first.Queue == nil || first.Queue.EvaluationSeconds != nil || first.Queue.EstimatedStart != nil {
		t.Fatalf("before any evaluation: %+v %v", first.Queue, err)
	}
	s.Start(ctx, subs[0].ID, "delivery-3")
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Finish(ctx, subs[0].ID, scored(0.1), nil); err != nil {
		t.Fatal(err)
	}
	var starts []time.Time
	for _, sub := range subs[1:] {
		sub, _ := s.Summary(ctx, sub.ID)
		if err := s.Place(ctx, &sub, 1); err != nil || sub.Queue.EvaluationSeconds == nil || *sub.Queue.EvaluationSeconds < 0.02 || sub.Queue.EstimatedStart == nil {
			t.Fatalf("after one evaluation: %+v %v", sub.Queue, err)
		}
		starts = append(starts, *sub.Queue.EstimatedStart)
	}
	for i := 1; i < len(starts); i++ {
		if starts[i].Before(starts[i-1]) {
			t.Errorf("position %d starts before position %d: %v", i+1, i, starts)
		}
	}
	idle := subs[1]
	idle, _ = s.Summary(ctx, idle.ID)
	if err := s.Place(ctx, &idle, 8); err != nil || idle.Queue.Workers != 8 || idle.Queue.EstimatedStart.After(time.Now().Add(time.Second)) {
		t.Errorf("eight idle workers: %+v %v", idle.Queue, err)
	}
}

// TestProgressIsRecordedWhileRunning: a running evaluation's progress is
// in its record, for pages and for GET, and goes when it ends.
func TestProgressIsRecordedWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "progress", 0.01)
	cat, _, _ := s.CreateCompetitor(ctx, "cat")
	sub, _ := s.CreateSubmission(ctx, ch, cat.ID, []byte("p"))
	s.Start(ctx, sub.ID, "delivery-4")
	if got, _ := s.Summary(ctx, sub.ID); got.Progress != nil {
		t.Errorf("before any task: progress %+v", got.Progress)
	}
	score := 0.25
	if err := s.Progress(ctx, sub.ID, arena.Progress{TasksDone: 2, Tasks: 5, Score: &score}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Summary(ctx, sub.ID)
	if p := got.Progress; p == nil || p.TasksDone != 2 || p.Tasks != 5 || p.Score == nil || *p.Score != score {
		t.Errorf("progress %+v", p)
	}
	// A new attempt starts from nothing.
	s.Start(ctx, sub.ID, "delivery-5")
	if got, _ := s.Summary(ctx, sub.ID); got.Progress != nil {
		t.Errorf("a new attempt keeps the last one's progress: %+v", got.Progress)
	}
	s.Progress(ctx, sub.ID, arena.Progress{TasksDone: 1, Tasks: 5})
	crowned, err := s.Finish(ctx, sub.ID, scored(0.5), nil)
	if err != nil || crowned == nil {
		t.Fatal(crowned, err)
	}
	if got, _ := s.Summary(ctx, sub.ID); got.Progress != nil {
		t.Errorf("a scored submission has progress %+v", got.Progress)
	}
	hist, err := s.Crownings(ctx, ch.ID)
	if err != nil || len(hist) != 1 || hist[0].SubmissionID != sub.ID || hist[0].Score != 0.5 || hist[0].Competitor != "cat" || hist[0].Disqualified {
		t.Errorf("crownings %+v %v", hist, err)
	}
	mine, err := s.SubmissionsBy(ctx, cat.ID, 10)
	if err != nil || len(mine) != 1 || mine[0].ID != sub.ID || mine[0].Challenge != "progress" {
		t.Errorf("submissions by cat: %+v %v", mine, err)
	}
}

// TestStartCountsEachDeliveryOnce: a worker retries its start while the
// database does not answer, and a first try may have committed unseen;
// the retry of the same delivery counts no second attempt, a new
// delivery does.
func TestStartCountsEachDeliveryOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "deliveries", 0.01)
	cat, _, _ := s.CreateCompetitor(ctx, "cat")
	sub, _ := s.CreateSubmission(ctx, ch, cat.ID, []byte("d"))
	for _, tc := range []struct {
		delivery string
		attempts int
	}{{"first", 1}, {"first", 1}, {"second", 2}, {"second", 2}, {"third", 3}} {
		if ok, err := s.Start(ctx, sub.ID, tc.delivery); !ok || err != nil {
			t.Fatalf("start %s: %v %v", tc.delivery, ok, err)
		}
		got, err := s.Submission(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Attempts != tc.attempts {
			t.Errorf("after starting %s: %d attempts, want %d", tc.delivery, got.Attempts, tc.attempts)
		}
	}
}
