package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

func newChallenge(t *testing.T, s *store.Store, slug string, margin float64) arena.Challenge {
	t.Helper()
	return challengeWithRules(t, s, slug, arena.Rules{Margin: margin})
}

// challengeWithRules creates an optimizer challenge with the given rules.
func challengeWithRules(t *testing.T, s *store.Store, slug string, rules arena.Rules) arena.Challenge {
	t.Helper()
	c := arena.Challenge{Slug: slug, Title: slug, Kind: "optimizer", BenchmarkVersion: 1,
		Params: json.RawMessage(`{}`), Limits: arena.DefaultLimits(), Rules: rules}
	if err := s.CreateChallenge(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func scored(score float64) arena.Evaluation {
	return arena.Evaluation{Status: arena.StatusScored, Score: &score, BenchmarkVersion: 1,
		Tasks: []arena.TaskResult{{Workload: "quadratic", Seed: 1, Loss: &score, BaselineLoss: 1, Score: score}}}
}

func TestKeysAndCompetitors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)

	c, key, err := s.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, key)
	if err != nil || p.Role != arena.RoleCompetitor || p.CompetitorID != c.ID || p.Name != "alice" {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if _, _, err := s.CreateCompetitor(ctx, "alice"); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("duplicate name: %v, want conflict", err)
	}
	for _, bad := range []string{"", "has space", "-dash", string(make([]byte, 41))} {
		if _, _, err := s.CreateCompetitor(ctx, bad); arena.ErrorCode(err) != arena.EINVALID {
			t.Errorf("name %q: %v, want invalid", bad, err)
		}
	}
	if _, err := s.Authenticate(ctx, key+"x"); arena.ErrorCode(err) != arena.EUNAUTHORIZED {
		t.Errorf("wrong key: %v, want unauthorized", err)
	}

	if ok, _ := s.HasAdmin(ctx); ok {
		t.Fatal("fresh database has an admin")
	}
	admin, err := s.CreateKey(ctx, arena.RoleAdmin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.HasAdmin(ctx); !ok {
		t.Fatal("admin key not found")
	}
	if p, err := s.Authenticate(ctx, admin); err != nil || p.Role != arena.RoleAdmin || p.CompetitorID != 0 {
		t.Fatalf("admin: %+v %v", p, err)
	}
	// A competitor key for an existing name is another key for that competitor.
	second, err := s.CreateKey(ctx, arena.RoleCompetitor, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Authenticate(ctx, second); p.CompetitorID != c.ID {
		t.Errorf("second key belongs to %d, want %d", p.CompetitorID, c.ID)
	}
}

func TestSubmissionLifecycleAndCrown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "opt", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	bob, _, _ := s.CreateCompetitor(ctx, "bob")

	sub := func(who arena.Competitor, module string) arena.Submission {
		t.Helper()
		x, err := s.CreateSubmission(ctx, ch, who.ID, []byte(module))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	a1 := sub(alice, "module-a1")
	if _, err := s.CreateSubmission(ctx, ch, bob.ID, []byte("module-a1")); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("identical module from bob: %v, want conflict", err)
	}
	if _, err := s.CreateSubmission(ctx, ch, alice.ID, []byte("module-a1")); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("alice resubmitting: %v, want conflict", err)
	}

	if _, err := s.Champion(ctx, ch); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Fatalf("champion before any score: %v, want not_found", err)
	}
	// Below baseline + margin: no crown.
	if ok, err := s.Start(ctx, a1.ID, "delivery-1"); !ok || err != nil {
		t.Fatalf("start: %v %v", ok, err)
	}
	if c, err := s.Finish(ctx, a1.ID, scored(0.005), nil); c != nil || err != nil {
		t.Fatalf("finish below margin: crowned=%v err=%v", c, err)
	}
	// A redelivered job changes nothing.
	if ok, _ := s.Start(ctx, a1.ID, "delivery-2"); ok {
		t.Error("restarted a final submission")
	}
	if c, err := s.Finish(ctx, a1.ID, scored(5), nil); c != nil || err != nil {
		t.Fatalf("second finish: crowned=%v err=%v", c, err)
	}
	got, err := s.Submission(ctx, a1.ID)
	if err != nil || got.Status != arena.StatusScored || *got.Score != 0.005 || len(got.Tasks) != 1 {
		t.Fatalf("after finish: %+v %v", got, err)
	}

	b1 := sub(bob, "module-b1")
	c, err := s.Finish(ctx, b1.ID, scored(0.5), nil)
	if err != nil || c == nil || c.SubmissionID != b1.ID || c.Competitor != "bob" {
		t.Fatalf("bob should be crowned: %+v %v", c, err)
	}
	// Beats the champion, but not by the margin.
	a2 := sub(alice, "module-a2")
	if c, _ := s.Finish(ctx, a2.ID, scored(0.505), nil); c != nil {
		t.Errorf("crowned within the margin: %+v", c)
	}
	a3 := sub(alice, "module-a3")
	if c, _ := s.Finish(ctx, a3.ID, scored(0.7), nil); c == nil || c.SubmissionID != a3.ID {
		t.Errorf("alice should take the crown: %+v", c)
	}
	champ, module, err := s.ChampionModule(ctx, ch)
	if err != nil || champ.SubmissionID != a3.ID || string(module) != "module-a3" {
		t.Fatalf("champion module: %+v %q %v", champ, module, err)
	}
	other := newChallenge(t, s, "other", 0.01)
	all, err := s.Champions(ctx)
	if err != nil || len(all) != 1 || all[ch.ID] != champ {
		t.Errorf("champions: %+v %v; want only %s's, %+v", all, err, ch.Slug, champ)
	}
	if _, ok := all[other.ID]; ok {
		t.Errorf("a challenge without a crowning has a champion")
	}

	failed := sub(bob, "module-b2")
	if _, err := s.Finish(ctx, failed.ID, arena.Evaluation{Status: arena.StatusFailed, Error: "trap"}, nil); err != nil {
		t.Fatal(err)
	}
	lb, err := s.Leaderboard(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		who   string
		id    string
		score float64
	}{{"alice", a3.ID, 0.7}, {"bob", b1.ID, 0.5}}
	if len(lb) != len(want) {
		t.Fatalf("leaderboard %+v", lb)
	}
	for i, w := range want {
		if lb[i].Rank != i+1 || lb[i].Competitor != w.who || lb[i].SubmissionID != w.id || lb[i].Score != w.score {
			t.Errorf("rank %d: %+v, want %+v", i+1, lb[i], w)
		}
	}

	if _, err := s.Submission(ctx, "not-a-uuid"); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("bad id: %v", err)
	}
	if _, err := s.Submission(ctx, "00000000-0000-0000-0000-000000000000"); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("missing id: %v", err)
	}
}

func TestStaleSubmissionsAreReturnedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "opt", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	q, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("queued"))
	r, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("running"))
	if _, err := s.Start(ctx, r.ID, "delivery-3"); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Stale(ctx, 0, 0, 10)
	if err != nil || len(ids) != 2 {
		t.Fatalf("stale: %v %v, want both %s and %s", ids, err, q.ID, r.ID)
	}
	got, _ := s.Submission(ctx, r.ID)
	if got.Status != arena.StatusQueued {
		t.Errorf("stale running submission is %s, want queued", got.Status)
	}
	if ids, _ := s.Stale(ctx, 3600e9, 3600e9, 10); len(ids) != 0 {
		t.Errorf("just-touched rows returned again: %v", ids)
	}
}

func TestDailySubmissionCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c := newChallenge(t, s, "capped", 0.01)
	c.Rules.DailySubmissions = 3
	alice, _, err := s.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := s.CreateCompetitor(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}

	// Eight submissions of alice's at once: the lock lets exactly three in.
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := s.CreateSubmission(ctx, c, alice.ID, []byte{0, 'a', 's', 'm', byte(i)})
			errs <- err
		}()
	}
	accepted := 0
	for range 8 {
		switch err := <-errs; arena.ErrorCode(err) {
		case "":
			accepted++
		case arena.ERATELIMITED:
			if !strings.Contains(arena.ErrorMessage(err), "(its daily cap) and you have made them; your next is allowed from") {
				t.Errorf("cap message: %q", arena.ErrorMessage(err))
			}
		default:
			t.Errorf("submission: %v", err)
		}
	}
	if accepted != 3 {
		t.Errorf("%d of 8 concurrent submissions accepted under a cap of 3", accepted)
	}
	if err := s.SubmissionCap(ctx, c, alice.ID); arena.ErrorCode(err) != arena.ERATELIMITED {
		t.Errorf("alice after her cap: %v, want rate_limited", err)
	}
	// An evaluation the wall-clock safety net cut short gives its slot back.
	subs, err := s.Submissions(ctx, c.ID, alice.ID, 10)
	if err != nil || len(subs) != 3 {
		t.Fatalf("alice's submissions: %d, %v", len(subs), err)
	}
	if _, err := s.Start(ctx, subs[0].ID, "delivery-4"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(ctx, subs[0].ID, arena.Evaluation{Status: arena.StatusFailed, Error: "exceeded the time limit", TimedOut: true}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SubmissionCap(ctx, c, alice.ID); err != nil {
		t.Errorf("alice after a timed-out evaluation: %v, want a free slot", err)
	}
	if sub, err := s.Submission(ctx, subs[0].ID); err != nil || !sub.TimedOut {
		t.Errorf("the timed-out submission does not say so: %+v %v", sub, err)
	}
	// So does one the host could not evaluate at all.
	again, err := s.CreateSubmission(ctx, c, alice.ID, []byte("again"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SubmissionCap(ctx, c, alice.ID); arena.ErrorCode(err) != arena.ERATELIMITED {
		t.Errorf("alice at her cap again: %v, want rate_limited", err)
	}
	if _, err := s.Finish(ctx, again.ID, arena.Evaluation{Status: arena.StatusFailed, Error: "internal error", HostFailure: true}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SubmissionCap(ctx, c, alice.ID); err != nil {
		t.Errorf("alice after the host failed her evaluation: %v, want a free slot", err)
	}
	if sub, err := s.Submission(ctx, again.ID); err != nil || !sub.HostFailure {
		t.Errorf("the host's failure does not say so: %+v %v", sub, err)
	}
	// The cap is per competitor, and 0 lifts it.
	if err := s.SubmissionCap(ctx, c, bob.ID); err != nil {
		t.Errorf("bob: %v", err)
	}
	c.Rules.DailySubmissions = 0
	if _, err := s.CreateSubmission(ctx, c, alice.ID, []byte("another")); err != nil {
		t.Errorf("no cap: %v", err)
	}
}

func TestPendingShowsQueuedAndRunningOldestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	ch := newChallenge(t, s, "opt", 0.01)
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	if q, err := s.Pending(ctx); err != nil || q.Queued != 0 || q.Running != 0 || q.OldestQueuedAt != nil || len(q.Jobs) != 0 {
		t.Fatalf("an empty queue: %+v %v", q, err)
	}
	first, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("first"))
	second, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("second"))
	done, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("done"))
	if _, err := s.Finish(ctx, done.ID, scored(0.1), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, first.ID, "delivery-5"); err != nil {
		t.Fatal(err)
	}
	q, err := s.Pending(ctx)
	if err != nil || q.Queued != 1 || q.Running != 1 || q.OldestQueuedAt == nil || !q.OldestQueuedAt.Equal(second.CreatedAt) || len(q.Jobs) != 2 {
		t.Fatalf("pending: %+v %v", q, err)
	}
	if j := q.Jobs[0]; j.SubmissionID != first.ID || j.Status != arena.StatusRunning || j.Attempts != 1 || j.Challenge != "opt" || j.Competitor != "alice" {
		t.Errorf("oldest job: %+v", j)
	}
	if j := q.Jobs[1]; j.SubmissionID != second.ID || j.Status != arena.StatusQueued || j.Attempts != 0 {
		t.Errorf("second job: %+v", j)
	}
}

func TestRevokeAndRotateKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	admin, _ := s.CreateKey(ctx, arena.RoleAdmin, "ops")
	_, aliceKey, _ := s.CreateCompetitor(ctx, "alice")
	idOf := func(key string) int64 {
		t.Helper()
		p, err := s.Authenticate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return p.KeyID
	}
	adminID, aliceID := idOf(admin), idOf(aliceKey)

	if err := s.RevokeKey(ctx, adminID); arena.ErrorCode(err) != arena.ECONFLICT || !strings.Contains(err.Error(), "last admin key") {
		t.Errorf("revoking the last admin key: %v, want conflict", err)
	}
	second, _ := s.CreateKey(ctx, arena.RoleAdmin, "backup")
	if err := s.RevokeKey(ctx, adminID); err != nil {
		t.Errorf("revoking an admin key with another left: %v", err)
	}
	if _, err := s.Authenticate(ctx, admin); arena.ErrorCode(err) != arena.EUNAUTHORIZED {
		t.Errorf("a revoked key still works: %v", err)
	}
	if err := s.RevokeKey(ctx, adminID); arena.ErrorCode(err) != arena.ECONFLICT {
		t.Errorf("revoking twice: %v, want conflict", err)
	}
	if err := s.RevokeKey(ctx, 999999); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("revoking an unknown key: %v, want not_found", err)
	}

	rotated, err := s.RotateKey(ctx, aliceID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, aliceKey); arena.ErrorCode(err) != arena.EUNAUTHORIZED {
		t.Errorf("the rotated-out key still works: %v", err)
	}
	if p, err := s.Authenticate(ctx, rotated); err != nil || p.Name != "alice" || p.Role != arena.RoleCompetitor {
		t.Errorf("the new key: %+v %v", p, err)
	}
	if _, err := s.RotateKey(ctx, aliceID); arena.ErrorCode(err) != arena.ENOTFOUND {
		t.Errorf("rotating a revoked key: %v, want not_found", err)
	}

	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 4 {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	revoked := 0
	for _, k := range keys {
		if k.RevokedAt != nil {
			revoked++
		}
	}
	if revoked != 2 || keys[0].Name != "alice" || keys[0].RevokedAt != nil || idOf(second) != keys[1].ID {
		t.Errorf("keys, newest first: %+v", keys)
	}
}
