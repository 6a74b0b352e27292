package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/store"
	"github.com/arena-dev/arena/worker"
)

// TestUpgradeScoresAgainUnderTheRunningVersion: a challenge scored under
// an older version of its benchmark is moved to the running version, its
// parameters normalized anew, and its champion is scored again by a real
// worker under the new rules, keeping the crown; a challenge already at
// the running version is left alone, and a second pass queues nothing.
func TestUpgradeScoresAgainUnderTheRunningVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	e := setup(t)
	e.store = st
	running, err := scoring.New(scoring.OptimizerKind, e.ch.Params)
	if err != nil {
		t.Fatal(err)
	}
	old := e.ch
	old.ID, old.Slug, old.BenchmarkVersion = 0, "old", running.Version()-1
	current := e.ch
	current.ID, current.Slug, current.BenchmarkVersion = 0, "current", running.Version()
	// Two more this pass must leave alone: parameters this version
	// refuses, and a version newer than this server's.
	refused := e.ch
	refused.ID, refused.Slug, refused.BenchmarkVersion, refused.Params = 0, "refused", running.Version()-1, json.RawMessage(`{"steps":-1}`)
	newer := e.ch
	newer.ID, newer.Slug, newer.BenchmarkVersion = 0, "newer", running.Version()+1
	for _, ch := range []*arena.Challenge{&old, &current, &refused, &newer} {
		if err := st.CreateChallenge(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	who, _, err := st.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, e)
	subs := map[string]arena.Submission{}
	for _, ch := range []arena.Challenge{old, current} {
		sub, err := st.CreateSubmission(ctx, ch, who.ID, module(t, "examples/optimizer/signsgd.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.queue.Publish(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		subs[ch.Slug] = waitFinal(t, st, sub.ID)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := worker.UpgradeBenchmarks(ctx, st, e.queue, log)
	if err != nil || n != 1 {
		t.Fatalf("upgrade queued %d submissions (%v), want the old challenge's one", n, err)
	}
	up, err := st.Challenge(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	if err := json.Unmarshal(up.Params, &params); err != nil {
		t.Fatal(err)
	}
	if _, ok := params["eval_every"]; up.BenchmarkVersion != running.Version() || !ok {
		t.Errorf("the old challenge after the upgrade: version %d, params %s (want every field, normalized)", up.BenchmarkVersion, up.Params)
	}
	id := subs["old"].ID
	var again arena.Submission
	deadline := time.Now().Add(30 * time.Second)
	for again, _ = st.Submission(ctx, id); again.Requeues != 1 || !again.Status.Final(); again, _ = st.Submission(ctx, id) {
		if time.Now().After(deadline) {
			t.Fatalf("the old challenge's champion was not scored again: %+v", again)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if again.Status != arena.StatusScored || again.RequeueReason != store.UpgradeReason(running.Version()-1, running.Version()) {
		t.Errorf("scored again: %s, reason %q", again.Status, again.RequeueReason)
	}
	signed, err := st.Receipt(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rec arena.Receipt
	if err := json.Unmarshal(signed.Body, &rec); err != nil || rec.BenchmarkVersion != running.Version() {
		t.Errorf("the new receipt says version %d (%v), want %d", rec.BenchmarkVersion, err, running.Version())
	}
	if champ, err := st.Champion(ctx, up); err != nil || champ.SubmissionID != id {
		t.Errorf("the champion after its new evaluation: %+v %v", champ, err)
	}
	for slug, want := range map[string]int{"refused": running.Version() - 1, "newer": running.Version() + 1} {
		if c, err := st.Challenge(ctx, slug); err != nil || c.BenchmarkVersion != want {
			t.Errorf("%s: version %d (%v), want it left at %d", slug, c.BenchmarkVersion, err, want)
		}
	}
	if got, _ := st.Submission(ctx, subs["current"].ID); got.Requeues != 0 {
		t.Errorf("the challenge at the running version was scored again")
	}
	if n, err := worker.UpgradeBenchmarks(ctx, st, e.queue, log); err != nil || n != 0 {
		t.Errorf("a second pass queued %d (%v)", n, err)
	}
}
