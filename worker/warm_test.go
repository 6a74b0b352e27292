package worker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/worker"
)

// A worker computes the baselines of a new LM challenge's tasks, public
// and hidden, before any submission arrives; when the round rotates, it
// computes only the new round's hidden ones (the public one is
// remembered); and the first submission of the round finds every baseline
// remembered: no warm pass computes anything after it.
func TestWorkerWarmsBaselinesAheadOfSubmissions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	e := setup(t)
	logs := &logBuffer{}
	eng := sandbox.NewEngine(4)
	w := &worker.Worker{Store: e.store, Queue: e.queue, Engine: eng, Signer: e.signer, Logger: logs.logger(),
		Concurrency: 2, WarmInterval: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		eng.Close(context.Background())
	})

	// The challenge is created while the worker runs.
	lm := arena.Challenge{Slug: "lm", Title: "lm", Kind: scoring.OptimizerKind, Limits: arena.DefaultLimits(),
		Params: json.RawMessage(`{"vocab":128,"width":16,"layers":1,"heads":2,"context":16,"batch":4,"steps":40,"eval_every":10,"eval_sequences":8,"seeds":[1]}`),
		Rules:  arena.DefaultRules()}
	lm.Rules.HiddenSeeds = 2
	if err := scoring.Prepare(&lm); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateChallenge(ctx, &lm); err != nil {
		t.Fatal(err)
	}

	// warmed lists the lm challenge's "baseline warmed" lines, once there
	// are want of them.
	warmed := func(want int) []string {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var lines []string
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `msg="baseline warmed"`) && strings.Contains(line, "challenge=lm ") {
					lines = append(lines, line)
				}
			}
			if len(lines) >= want || time.Now().After(deadline) {
				if len(lines) != want {
					t.Fatalf("%d baselines warmed, want %d; log:\n%s", len(lines), want, logs.String())
				}
				return lines
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := warmed(3)
	for _, want := range []string{`round=1 workload=lm seed=1 `, `round=1 workload=lm hidden_seed=1 `, `round=1 workload=lm hidden_seed=2 `} {
		if !containsLine(first, want) {
			t.Errorf("no line with %q among:\n%s", want, strings.Join(first, "\n"))
		}
	}

	if _, err := worker.OpenRound(ctx, e.store, e.queue, logs.logger(), lm); err != nil {
		t.Fatal(err)
	}
	second := warmed(5)[3:]
	for _, want := range []string{`round=2 workload=lm hidden_seed=1 `, `round=2 workload=lm hidden_seed=2 `} {
		if !containsLine(second, want) {
			t.Errorf("no line with %q among:\n%s", want, strings.Join(second, "\n"))
		}
	}

	cur, err := e.store.Challenge(ctx, "lm")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.store.CreateSubmission(ctx, cur, e.who.ID, signSGD(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.queue.Publish(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if got := waitFinal(t, e.store, sub.ID); got.Status != arena.StatusScored || len(got.Tasks) != 3 {
		t.Fatalf("submission: %s, %d tasks: %s", got.Status, len(got.Tasks), got.Error)
	}
	// Warm passes go on every 50 ms: none may find anything to compute.
	time.Sleep(300 * time.Millisecond)
	warmed(5)
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
