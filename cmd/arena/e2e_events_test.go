package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/client"
)

// TestSubmissionEvents: a client watching a submission sees it move
// through its statuses to the end, from the server's event stream.
func TestSubmissionEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	key := s.register(t, "fay")
	spec := `{"slug":"events","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1],"steps":60}}`
	s.createChallenge(t, spec)
	signsgd, err := os.ReadFile("../../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	cl := client.New(s.url, key)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := cl.Submit(ctx, "events", signsgd)
	if err != nil {
		t.Fatal(err)
	}
	var seen []arena.Status
	if err := cl.Watch(ctx, sub.ID, func(s arena.Submission) { seen = append(seen, s.Status) }); err != nil {
		t.Fatal(err)
	}
	order := map[arena.Status]int{arena.StatusQueued: 0, arena.StatusRunning: 1, arena.StatusScored: 2}
	for i := 1; i < len(seen); i++ {
		if order[seen[i]] < order[seen[i-1]] {
			t.Errorf("statuses went backwards: %v", seen)
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != arena.StatusScored {
		t.Fatalf("statuses seen: %v, want the last to be scored", seen)
	}
	// A final submission's stream says where it is and ends.
	var again []arena.Status
	if err := cl.Watch(ctx, sub.ID, func(s arena.Submission) { again = append(again, s.Status) }); err != nil || len(again) != 1 || again[0] != arena.StatusScored {
		t.Errorf("watching a scored submission: %v %v", again, err)
	}
	var e apiError
	if code := s.call(t, "GET", "/api/v1/submissions/00000000-0000-0000-0000-000000000000/events", "", "", nil, &e); code != 404 {
		t.Errorf("events of an unknown submission: %d", code)
	}
	// Wait reports each status once and returns the submission with its tasks.
	sub2, err := cl.Submit(ctx, "events", sameBehaviour(t, signsgd))
	if err != nil {
		t.Fatal(err)
	}
	var changes []arena.Status
	got, err := cl.Wait(ctx, sub2.ID, time.Second, func(s arena.Submission) { changes = append(changes, s.Status) })
	if err != nil || got.Status != arena.StatusScored || len(got.Tasks) == 0 || changes[len(changes)-1] != arena.StatusScored {
		t.Fatalf("wait: %s with %d tasks, %v; changes %v", got.Status, len(got.Tasks), err, changes)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i] == changes[i-1] {
			t.Errorf("wait reported %s twice in a row: %v", changes[i], changes)
		}
	}
}
