package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

// TestUpgradeBenchmarkRequeuesEveryResult: a challenge moved to a new
// version of its benchmark takes the new parameters, and every scored or
// failed submission goes back in the queue, the champion first, saying
// why; disqualified and pending ones stay as they are, other challenges
// too, and a second upgrade to the same version changes nothing.
func TestUpgradeBenchmarkRequeuesEveryResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "upgraded", 0.01)
	other := newChallenge(t, s, "untouched", 0.01)
	cat, _, _ := s.CreateCompetitor(ctx, "cat")
	submit := func(c arena.Challenge, code string) string {
		t.Helper()
		sub, err := s.CreateSubmission(ctx, c, cat.ID, []byte(code))
		if err != nil {
			t.Fatal(err)
		}
		return sub.ID
	}
	finish := func(id string, ev arena.Evaluation) {
		t.Helper()
		if _, err := s.Start(ctx, id, "d-"+id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, id, ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	first := submit(ch, "first")  // crowned, then beaten: scored
	champ := submit(ch, "champ")  // the champion, submitted after first
	broken := submit(ch, "broke") // failed
	cheat := submit(ch, "cheat")  // disqualified
	waiting := submit(ch, "wait") // still queued
	elsewhere := submit(other, "else")
	finish(first, scored(0.2))
	finish(champ, scored(0.5))
	finish(broken, arena.Evaluation{Status: arena.StatusFailed, Error: "trap", BenchmarkVersion: 1})
	finish(cheat, scored(0.1))
	finish(elsewhere, scored(0.3))
	if _, err := s.Disqualify(ctx, cheat, "a copy"); err != nil {
		t.Fatal(err)
	}

	params := json.RawMessage(`{"steps":7}`)
	ids, err := s.UpgradeBenchmark(ctx, ch, 2, params)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{champ, first, broken}; !slices.Equal(ids, want) {
		t.Errorf("requeued %v, want the champion first, then the oldest: %v", ids, want)
	}
	for id, want := range map[string]arena.Status{champ: arena.StatusQueued, first: arena.StatusQueued, broken: arena.StatusQueued,
		cheat: arena.StatusDisqualified, waiting: arena.StatusQueued, elsewhere: arena.StatusScored} {
		got, err := s.Submission(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != want {
			t.Errorf("%s: %s, want %s", id, got.Status, want)
		}
		requeued := slices.Contains(ids, id)
		if requeued && (got.RequeueReason != store.UpgradeReason(1, 2) || got.Requeues != 1) {
			t.Errorf("%s: requeued %d times, reason %q", id, got.Requeues, got.RequeueReason)
		}
		if !requeued && got.Requeues != 0 {
			t.Errorf("%s: requeued though it should not be", id)
		}
	}
	// The champion keeps its score, the bar, until its new one lands.
	if got, _ := s.Submission(ctx, champ); got.Score == nil || *got.Score != 0.5 {
		t.Errorf("the champion's score while it is scored again: %v", got.Score)
	}
	upgraded, err := s.Challenge(ctx, "upgraded")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Steps int }
	if err := json.Unmarshal(upgraded.Params, &got); err != nil || upgraded.BenchmarkVersion != 2 || got.Steps != 7 {
		t.Errorf("challenge after the upgrade: version %d, params %s", upgraded.BenchmarkVersion, upgraded.Params)
	}
	if o, _ := s.Challenge(ctx, "untouched"); o.BenchmarkVersion != 1 {
		t.Errorf("the other challenge moved to version %d", o.BenchmarkVersion)
	}
	again, err := s.UpgradeBenchmark(ctx, ch, 2, params)
	if err != nil || len(again) != 0 {
		t.Errorf("a second upgrade to the same version: %v %v", again, err)
	}
}

// TestUpgradeLetsWhatWasScoredMeanwhileMeetTheNewBar: after an upgrade a
// submission scored before the champion's new evaluation is measured
// against the champion's old score; when the champion's new score lands
// lower, or it fails, the best of those takes the crown if it clears the
// new bar by the margin, whichever finished first.
func TestUpgradeLetsWhatWasScoredMeanwhileMeetTheNewBar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	cat, _, _ := s.CreateCompetitor(ctx, "cat")
	for _, tc := range []struct {
		name     string
		champion arena.Evaluation // the champion's evaluation under the new version
	}{
		{"lower", scored(0.3)},
		{"failed", arena.Evaluation{Status: arena.StatusFailed, Error: "trap", BenchmarkVersion: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newChallenge(t, s, "meanwhile-"+tc.name, 0.01)
			finish := func(id string, ev arena.Evaluation) *arena.Champion {
				t.Helper()
				if _, err := s.Start(ctx, id, "d-"+id+ev.Error+fmt.Sprint(ev.Score)); err != nil {
					t.Fatal(err)
				}
				c, err := s.Finish(ctx, id, ev, nil)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			champ, _ := s.CreateSubmission(ctx, ch, cat.ID, []byte("champ-"+tc.name))
			rival, _ := s.CreateSubmission(ctx, ch, cat.ID, []byte("rival-"+tc.name))
			finish(champ.ID, scored(0.5))
			finish(rival.ID, scored(0.2))
			if _, err := s.UpgradeBenchmark(ctx, ch, 2, json.RawMessage(`{}`)); err != nil {
				t.Fatal(err)
			}
			// The rival is scored first, within the margin of the
			// champion's old score: no crown yet.
			if c := finish(rival.ID, scored(0.505)); c != nil {
				t.Fatalf("crowned against the champion's old score: %+v", c)
			}
			c := finish(champ.ID, tc.champion)
			if c == nil || c.SubmissionID != rival.ID || c.Score != 0.505 {
				t.Errorf("the champion's new evaluation should hand the crown to the rival: %+v", c)
			}
		})
	}
}
