package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/store"
	"github.com/arena-dev/arena/worker"
)

type env struct {
	store  *store.Store
	queue  *queue.Queue
	ch     arena.Challenge
	who    arena.Competitor
	signer *receipt.Signer
}

func setup(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	st := pgtest.NewStore(t)
	q := natstest.NewQueue(t, queue.Config{AckWait: 5 * time.Second, MaxDeliver: 3})
	ch := arena.Challenge{Slug: "opt", Title: "opt", Kind: "optimizer", BenchmarkVersion: 1,
		Params: json.RawMessage(`{"workloads":["quadratic"],"seeds":[1],"steps":50}`), Limits: arena.DefaultLimits(), Rules: arena.DefaultRules()}
	if err := st.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	who, _, err := st.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := st.Secret(ctx, store.SecretReceiptKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return env{store: st, queue: q, ch: ch, who: who, signer: signer}
}

func module(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runWorker(t *testing.T, e env) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	eng := sandbox.NewEngine(4)
	w := &worker.Worker{Store: e.store, Queue: e.queue, Engine: eng, Signer: e.signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 2}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		eng.Close(context.Background())
	})
}

func waitFinal(t *testing.T, s *store.Store, id string) arena.Submission {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sub, err := s.Submission(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Status.Final() {
			return sub
		}
		if time.Now().After(deadline) {
			t.Fatalf("submission %s still %s", id, sub.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A submission whose job was never published (the API crashed between the
// commit and the publish) is found by the reconciler and scored.
func TestReconcilerRepublishesLostJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	sub, err := e.store.CreateSubmission(ctx, e.ch, e.who.ID, module(t, "examples/optimizer/signsgd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, e)
	rec := &worker.Reconciler{Store: e.store, Queue: e.queue, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec.Sweep(ctx) // QueuedAfter 0: everything queued counts as lost
	got := waitFinal(t, e.store, sub.ID)
	if got.Status != arena.StatusScored || got.Score == nil {
		t.Fatalf("lost job: %+v", got)
	}

	// The evaluation left a receipt, signed with the server's key, that
	// says what the submission records.
	signed, err := e.store.Receipt(ctx, sub.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Verify(signed, e.signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if r.SubmissionID != sub.ID || r.ModuleSHA256 != got.SHA256 || r.Challenge != "opt" || r.Competitor != "alice" ||
		*r.Score != *got.Score || *r.PublicScore != *got.PublicScore || *r.FuelUsed != *got.FuelUsed || r.Round != 1 ||
		r.HiddenSeeds != 3 || len(r.SeedCommitment) != 64 || len(r.Tasks) != len(got.Tasks) {
		t.Errorf("receipt %+v\nfor submission %+v", r, got)
	}
	for i, task := range r.Tasks {
		if task.Hidden != (task.Seed == 0) || task.Log != "" || *task.Loss != *got.Tasks[i].Loss {
			t.Errorf("receipt task %d: %+v", i, task)
		}
	}
}

// A job delivered again after its submission is final changes nothing.
func TestRedeliveredJobsAreHarmless(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	runWorker(t, e)
	sub, err := e.store.CreateSubmission(ctx, e.ch, e.who.ID, module(t, "sandbox/testdata/trap.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.queue.Publish(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	first := waitFinal(t, e.store, sub.ID)
	if first.Status != arena.StatusFailed || first.Error == "" {
		t.Fatalf("trap module: %+v", first)
	}
	for range 3 {
		if err := e.queue.Publish(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A real submission published after the duplicates is a barrier: once
	// it is done, the duplicates ahead of it have been handled too.
	barrier, err := e.store.CreateSubmission(ctx, e.ch, e.who.ID, module(t, "examples/optimizer/signsgd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.queue.Publish(ctx, barrier.ID); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, e.store, barrier.ID)
	time.Sleep(200 * time.Millisecond) // the other worker may still be on a duplicate
	again, err := e.store.Submission(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Attempts != first.Attempts || again.Status != first.Status || len(again.Tasks) != len(first.Tasks) || !again.FinishedAt.Equal(*first.FinishedAt) {
		t.Errorf("redelivery changed the submission: before %+v after %+v", first, again)
	}
}

// When a round is due, the scheduler opens the next one and the champion
// is scored again on its seeds by the workers.
func TestRoundSchedulerOpensDueRoundsAndRescoresTheChampion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e := setup(t)
	e.store = st // this test's own database, which it can backdate
	ch := e.ch
	ch.ID, ch.Slug, ch.Rules.RoundHours = 0, "scheduled", 1
	if err := st.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	who, _, err := st.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, e)
	sub, err := st.CreateSubmission(ctx, ch, who.ID, module(t, "examples/optimizer/signsgd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.queue.Publish(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	first := waitFinal(t, st, sub.ID)
	if champ, err := st.Champion(ctx, ch); err != nil || champ.SubmissionID != sub.ID {
		t.Fatalf("signsgd should hold the crown: %+v %v (%+v)", champ, err, first)
	}

	sched := &worker.RoundScheduler{Store: st, Queue: e.queue, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sched.Tick(ctx) // not due yet
	if c, _ := st.Challenge(ctx, ch.Slug); c.Round != 1 {
		t.Fatalf("a round opened an hour early: round %d", c.Round)
	}
	raw, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(ctx)
	if _, err := raw.Exec(ctx, `UPDATE rounds SET opened_at = now() - interval '61 minutes'`); err != nil {
		t.Fatal(err)
	}
	sched.Tick(ctx)
	if c, _ := st.Challenge(ctx, ch.Slug); c.Round != 2 {
		t.Fatalf("the due round did not open: round %d", c.Round)
	}
	var second arena.Submission
	deadline := time.Now().Add(20 * time.Second)
	for second, _ = st.Submission(ctx, sub.ID); second.Round != 2 || !second.Status.Final(); second, _ = st.Submission(ctx, sub.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("the champion was not scored on round 2: %+v", second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if second.Status != arena.StatusScored || *second.Score == *first.Score {
		t.Errorf("round 2's score %v, round 1's %v: new hidden seeds should change it", second.Score, *first.Score)
	}
	sched.Tick(ctx) // round 2 has just opened: nothing is due
	if c, _ := st.Challenge(ctx, ch.Slug); c.Round != 2 {
		t.Errorf("a second round opened at once: round %d", c.Round)
	}
}
