package store_test

import (
	"context"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
)

func TestDisqualifyHandsTheCrownBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "opt", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	bob, _, _ := s.CreateCompetitor(ctx, "bob")
	scoredSub := func(who arena.Competitor, module string, score float64) arena.Submission {
		t.Helper()
		sub, err := s.CreateSubmission(ctx, ch, who.ID, []byte(module))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, sub.ID, scored(score), nil); err != nil {
			t.Fatal(err)
		}
		return sub
	}
	a1 := scoredSub(alice, "a1", 0.5) // crowned
	b1 := scoredSub(bob, "b1", 0.4)   // below the champion
	b2 := scoredSub(bob, "b2", 0.9)   // crowned

	// A submission that never held the crown leaves the board; the crown stays.
	if c, err := s.Disqualify(ctx, b1.ID, "copied"); err != nil || c != nil {
		t.Fatalf("disqualify b1: %+v %v; the crown should not move", c, err)
	}
	// The champion's disqualification returns the crown to alice.
	c, err := s.Disqualify(ctx, b2.ID, "exploits the benchmark")
	if err != nil || c == nil || c.SubmissionID != a1.ID || c.Competitor != "alice" || c.Score != 0.5 {
		t.Fatalf("disqualify the champion: %+v %v; want a1", c, err)
	}
	if champ, _ := s.Champion(ctx, ch); champ.SubmissionID != a1.ID {
		t.Errorf("champion after the disqualification: %+v", champ)
	}
	if lb, _ := s.Leaderboard(ctx, ch.ID); len(lb) != 1 || lb[0].SubmissionID != a1.ID {
		t.Errorf("leaderboard still shows bob's disqualified submissions: %+v", lb)
	}
	got, _ := s.Submission(ctx, b2.ID)
	if got.Status != arena.StatusDisqualified || got.DisqualifiedReason != "exploits the benchmark" || got.Score == nil || *got.Score != 0.9 {
		t.Errorf("a disqualified submission keeps its record: %+v", got)
	}
	// The bar is alice's again: bob needs to beat 0.5 by the margin.
	if c := scoredSub(bob, "b3", 0.505); c.ID == "" {
		t.Fatal("no submission")
	}
	if champ, _ := s.Champion(ctx, ch); champ.SubmissionID != a1.ID {
		t.Errorf("crowned within the margin of the restored champion: %+v", champ)
	}

	for name, tc := range map[string]struct {
		id, reason string
		code       string
	}{
		"twice":      {b2.ID, "again", arena.ECONFLICT},
		"no reason":  {a1.ID, "", arena.EINVALID},
		"unknown":    {"00000000-0000-0000-0000-000000000000", "x", arena.ENOTFOUND},
		"not a uuid": {"nope", "x", arena.ENOTFOUND},
	} {
		if _, err := s.Disqualify(ctx, tc.id, tc.reason); arena.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}

	// With nobody left standing the crown is vacant.
	if c, err := s.Disqualify(ctx, a1.ID, "sockpuppet"); err != nil || c == nil || c.SubmissionID != "" || c.Challenge != "opt" {
		t.Fatalf("disqualify the last champion: %+v %v; want a vacant crown", c, err)
	}
	if _, err := s.Champion(ctx, ch); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("champion of a vacant crown: %v", err)
	}
}

func TestRescoreRequeuesFinishedSubmissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "opt", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	sub, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("a1"))
	if _, err := s.Rescore(ctx, sub.ID); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("rescore a queued submission: %v, want conflict", err)
	}
	if _, err := s.Finish(ctx, sub.ID, scored(0.3), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Rescore(ctx, sub.ID)
	if err != nil || got.Status != arena.StatusQueued || got.Score == nil || *got.Score != 0.3 {
		t.Fatalf("rescore: %+v %v; want queued, keeping its score until the new one", got, err)
	}
	if ok, err := s.Start(ctx, sub.ID, "delivery-1"); !ok || err != nil {
		t.Fatalf("a worker could not start the rescore: %v %v", ok, err)
	}
	if _, err := s.Finish(ctx, sub.ID, scored(0.35), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Submission(ctx, sub.ID); got.Status != arena.StatusScored || *got.Score != 0.35 {
		t.Errorf("after the rescore: %+v", got)
	}
	if _, err := s.Disqualify(ctx, sub.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rescore(ctx, sub.ID); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("rescore a disqualified submission: %v, want conflict", err)
	}
}
