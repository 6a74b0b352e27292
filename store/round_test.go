package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

func TestRoundsAdvanceAndRescoreTheChampion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := challengeWithRules(t, s, "opt", arena.Rules{Margin: 0.01, HiddenSeeds: 2})
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	bob, _, _ := s.CreateCompetitor(ctx, "bob")
	finish := func(id string, round int, score float64) *arena.Champion {
		t.Helper()
		if _, err := s.Start(ctx, id, "delivery-1"); err != nil {
			t.Fatal(err)
		}
		ev := scored(score)
		ev.Round = round
		// The store keeps the signed bytes as they are; this stands in for them.
		signed := &arena.SignedReceipt{Body: []byte(fmt.Sprintf(`{"round":%d,"score":%v}`, round, score)), Signature: "sig", PublicKey: "key"}
		c, err := s.Finish(ctx, id, ev, signed)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	rounds, err := s.Rounds(ctx, ch)
	if err != nil || len(rounds) != 1 || rounds[0].Round != 1 || rounds[0].ClosedAt != nil {
		t.Fatalf("a new challenge's rounds: %+v %v; want round 1, open", rounds, err)
	}
	// No champion yet: nothing to score again.
	current := func() arena.Challenge {
		t.Helper()
		c, err := s.Challenge(ctx, ch.Slug)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	change, err := s.AdvanceRound(ctx, current())
	if err != nil || change.Closed.Round != 1 || change.Closed.ClosedAt == nil || change.Opened.Round != 2 || change.Opened.ClosedAt != nil || change.Rescoring != "" {
		t.Fatalf("advance without a champion: %+v %v", change, err)
	}

	a1, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("a1"))
	if c := finish(a1.ID, 2, 0.5); c == nil || c.SubmissionID != a1.ID {
		t.Fatalf("a1 should be crowned: %+v", c)
	}
	// A request that saw round 1 does not close round 2.
	if _, err := s.AdvanceRound(ctx, ch); arena.ErrorCode(err) != arena.ECONFLICT || !strings.Contains(err.Error(), "round 1 of opt has already closed; round 2 is open") {
		t.Errorf("advance from a stale round: %v, want conflict", err)
	}
	change, err = s.AdvanceRound(ctx, current())
	if err != nil || change.Opened.Round != 3 || change.Rescoring != a1.ID {
		t.Fatalf("advance with a champion: %+v, %v; want round 3 and %s rescored", change, err, a1.ID)
	}
	if got, _ := s.Submission(ctx, a1.ID); got.Status != arena.StatusQueued || got.Score == nil || *got.Score != 0.5 {
		t.Errorf("the champion waiting for round 3: %s, score %v; want queued with its round-2 score", got.Status, got.Score)
	}
	// While it waits it keeps its place, its crown, and the bar.
	if lb, _ := s.Leaderboard(ctx, ch.ID); len(lb) != 1 || lb[0].SubmissionID != a1.ID || lb[0].Round != 2 {
		t.Errorf("leaderboard while the champion is rescored: %+v", lb)
	}
	if c, err := s.Champion(ctx, ch); err != nil || c.SubmissionID != a1.ID || c.Score != 0.5 || c.Round != 2 {
		t.Errorf("champion while rescored: %+v %v", c, err)
	}
	b1, _ := s.CreateSubmission(ctx, ch, bob.ID, []byte("b1"))
	if c := finish(b1.ID, 3, 0.505); c != nil {
		t.Errorf("crowned within the margin of the champion's last score: %+v", c)
	}
	// Another round cannot open before the champion has its new score.
	if _, err := s.AdvanceRound(ctx, current()); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("advance while the champion is rescored: %v, want conflict", err)
	}

	// On round 3's seeds the champion does worse, 0.3: b1, scored on the
	// same seeds while it waited, beats that by the margin and takes the
	// crown now, whichever of the two finished first.
	if c := finish(a1.ID, 3, 0.3); c == nil || c.SubmissionID != b1.ID || c.Score != 0.505 {
		t.Errorf("the champion's rescore should hand the crown to b1: %+v", c)
	}
	got, _ := s.Submission(ctx, a1.ID)
	if got.Status != arena.StatusScored || *got.Score != 0.3 || got.Round != 3 || len(got.Tasks) != 1 {
		t.Errorf("after rescoring: %s score %v round %d, %d tasks", got.Status, *got.Score, got.Round, len(got.Tasks))
	}
	if c, _ := s.Champion(ctx, ch); c.SubmissionID != b1.ID || c.Score != 0.505 || c.Round != 3 {
		t.Errorf("champion after rescoring: %+v", c)
	}
	b2, _ := s.CreateSubmission(ctx, ch, bob.ID, []byte("b2"))
	if c := finish(b2.ID, 3, 0.51); c != nil {
		t.Errorf("b2 is within the margin of b1 and should not be crowned: %+v", c)
	}
	b4, _ := s.CreateSubmission(ctx, ch, bob.ID, []byte("b4"))
	if c := finish(b4.ID, 3, 0.52); c == nil || c.SubmissionID != b4.ID || c.Round != 3 {
		t.Errorf("b4 beats b1 by the margin and should be crowned: %+v", c)
	}

	// One receipt per round the champion was scored in; the latest by default.
	for round, want := range map[int]string{0: `{"round":3,"score":0.3}`, 3: `{"round":3,"score":0.3}`, 2: `{"round":2,"score":0.5}`} {
		if r, err := s.Receipt(ctx, a1.ID, round); err != nil || string(r.Body) != want || r.Signature != "sig" || r.PublicKey != "key" {
			t.Errorf("receipt for round %d: %s %+v %v, want %s", round, r.Body, r, err, want)
		}
	}
	if _, err := s.Receipt(ctx, a1.ID, 1); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("receipt for a round a1 was not scored in: %v, want not_found", err)
	}
	unscored, _ := s.CreateSubmission(ctx, ch, bob.ID, []byte("b3"))
	if _, err := s.Receipt(ctx, unscored.ID, 0); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("receipt of a queued submission: %v, want not_found", err)
	}

	// Without hidden seeds a new round cannot change a score: nothing is
	// scored again.
	public := newChallenge(t, s, "public", 0.01)
	p1, _ := s.CreateSubmission(ctx, public, alice.ID, []byte("p1"))
	if _, err := s.Finish(ctx, p1.ID, scored(0.5), nil); err != nil {
		t.Fatal(err)
	}
	if change, err := s.AdvanceRound(ctx, public); err != nil || change.Rescoring != "" || change.Opened.Commitment != "" {
		t.Errorf("a new round without hidden seeds: %+v %v; want no rescoring and no commitment", change, err)
	}
	if got, _ := s.Submission(ctx, p1.ID); got.Status != arena.StatusScored {
		t.Errorf("the champion of a challenge without hidden seeds is %s after a new round", got.Status)
	}

	rounds, err = s.Rounds(ctx, ch)
	if err != nil || len(rounds) != 3 {
		t.Fatalf("rounds: %+v %v", rounds, err)
	}
	for i, r := range rounds {
		if r.Round != i+1 || (r.ClosedAt == nil) != (i == 2) || r.ClosedAt != nil && r.ClosedAt.Before(r.OpenedAt) {
			t.Errorf("round %d: %+v", i+1, r)
		}
	}
}

func TestDueRoundsFollowTheSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	raw, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close(ctx) })
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	create := func(slug string, rules arena.Rules) arena.Challenge {
		t.Helper()
		rules.Margin = 0.01
		c := challengeWithRules(t, s, slug, rules)
		// Every challenge's first round opened three hours ago.
		if _, err := raw.Exec(ctx, `UPDATE rounds SET opened_at = now() - interval '3 hours' WHERE challenge_id = $1`, c.ID); err != nil {
			t.Fatal(err)
		}
		return c
	}
	create("manual", arena.Rules{})
	create("hourly", arena.Rules{RoundHours: 1})
	create("daily", arena.Rules{RoundHours: 24})
	create("closed", arena.Rules{RoundHours: 1, ClosesAt: &past})
	create("closing", arena.Rules{RoundHours: 2, ClosesAt: &future})

	due, err := s.DueRounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, c := range due {
		slugs = append(slugs, c.Slug)
	}
	if strings.Join(slugs, ",") != "hourly,closing" {
		t.Fatalf("due rounds: %v, want hourly and closing", slugs)
	}
	if _, err := s.AdvanceRound(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueRounds(ctx); len(due) != 1 || due[0].Slug != "closing" {
		t.Errorf("after opening hourly's round 2: %+v", due)
	}
}
