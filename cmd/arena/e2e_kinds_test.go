package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/scoring"
)

// TestEveryKindThroughTheServer submits every shipped example of every
// kind through the real loop (API, queue, workers, store) and checks that
// each is scored, that the baseline's own example scores exactly 0, that
// the crown went to one of the best, and that arena eval --challenge
// reproduces the server's public-seed score.
// tinyLM is the transformer LM workload at a size for tests: one block,
// 40 steps.
const tinyLM = `{"seeds":[1],"vocab":128,"width":16,"layers":1,"heads":2,"context":16,"batch":4,"steps":40,"eval_every":10,"eval_sequences":8}`

func TestEveryKindThroughTheServer(t *testing.T) {
	if raceEnabled {
		t.Skip("compiles every Go-built example: run without -race (make test does)")
	}
	t.Parallel()
	ex := buildExamples(t)
	s := startServer(t)
	key := s.register(t, "dora")
	// Small tasks: the loop, not the benchmarks, is under test here.
	params := map[string]string{
		scoring.OptimizerKind:  tinyLM,
		scoring.LRScheduleKind: tinyLM,
		// Four peers of one sequence; 8 bytes a parameter, so the dense
		// example fits too.
		scoring.GradCompressionKind:       `{"seeds":[1],"vocab":128,"width":16,"layers":1,"heads":2,"context":16,"batch":4,"workers":4,"budget":59776,"steps":40,"eval_every":10,"eval_sequences":8}`,
		scoring.ActivationCompressionKind: `{"seeds":[1],"vocab":128,"width":16,"layers":2,"heads":2,"context":16,"batch":4,"steps":20,"eval_every":10,"eval_sequences":8,"min_cosine":0}`,
	}
	baselines := map[string]string{
		scoring.OptimizerKind:             "optimizer/adamw",
		scoring.LRScheduleKind:            "lr_schedule/constant",
		scoring.GradCompressionKind:       "grad_compression/templar",
		scoring.ActivationCompressionKind: "activation_compression/identity",
	}
	if len(params) != len(scoring.Kinds()) {
		t.Fatalf("kinds %v, but this test covers %d", scoring.Kinds(), len(params))
	}
	slug := func(kind string) string { return strings.ReplaceAll(kind, "_", "-") }
	for kind, p := range params {
		spec := fmt.Sprintf(`{"slug":%q,"kind":%q,"params":%s,"rules":{"hidden_seeds":1}}`, slug(kind), kind, p)
		s.createChallenge(t, spec)
	}

	// Submit everything first, so the workers have a queue to drain.
	ids := map[string]string{}
	for name, path := range ex {
		kind := strings.SplitN(name, "/", 2)[0]
		module, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var sub arena.Submission
		if code := s.call(t, "POST", "/api/v1/challenges/"+slug(kind)+"/submissions", key, "application/wasm", module, &sub); code != 202 {
			t.Fatalf("submit %s: %d", name, code)
		}
		ids[name] = sub.ID
	}
	subs := map[string]arena.Submission{}
	deadline := time.Now().Add(3 * time.Minute)
	for name, id := range ids {
		var sub arena.Submission
		for s.call(t, "GET", "/api/v1/submissions/"+id, key, "", nil, &sub); !sub.Status.Final(); s.call(t, "GET", "/api/v1/submissions/"+id, key, "", nil, &sub) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not done: %+v\n%s", name, sub, s.out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if sub.Status != arena.StatusScored || sub.FailedTasks != 0 || sub.PublicScore == nil {
			t.Errorf("%s: %s, %d failed tasks, %q", name, sub.Status, sub.FailedTasks, sub.Error)
		}
		subs[name] = sub
	}
	if t.Failed() {
		return
	}

	// A grad_compression task reports the dense run's final loss.
	for _, task := range subs["grad_compression/templar"].Tasks {
		if task.Training == nil || task.Training.DenseLoss == nil || *task.Training.DenseLoss <= 0 {
			t.Errorf("templar task (hidden %v): training %+v, want a dense loss", task.Hidden, task.Training)
		}
	}

	// The LM's time-to-target measurements travel through the store: the
	// owner sees both curves of a public task, and the steps to target of
	// a hidden one without its curves.
	adamw := subs["optimizer/adamw"]
	if len(adamw.Tasks) != 2 {
		t.Fatalf("adamw: %d tasks", len(adamw.Tasks))
	}
	for _, task := range adamw.Tasks {
		tr := task.Training
		switch {
		case tr == nil || tr.StepsToTarget == nil || *tr.StepsToTarget != tr.BaselineStepsToTarget:
			t.Errorf("adamw task (hidden %v): training %+v", task.Hidden, tr)
		case !task.Hidden && (len(tr.Curve) != 5 || len(tr.BaselineCurve) != 5 || tr.Curve[4] != tr.BaselineCurve[4]):
			t.Errorf("adamw public task: curves %v and %v", tr.Curve, tr.BaselineCurve)
		case task.Hidden && (tr.Curve != nil || tr.BaselineCurve != nil):
			t.Errorf("adamw hidden task: curves shown to its owner: %v", tr.Curve)
		}
	}

	for kind := range params {
		base := subs[baselines[kind]]
		if *base.Score != 0 || *base.PublicScore != 0 {
			t.Errorf("%s: the baseline's example scored %v (public %v), want exactly 0", kind, *base.Score, *base.PublicScore)
		}
		best := ""
		for name, sub := range subs {
			if strings.HasPrefix(name, kind+"/") && (best == "" || *sub.Score > *subs[best].Score) {
				best = name
			}
		}
		var lb struct{ Entries []arena.LeaderboardEntry }
		if code := s.call(t, "GET", "/api/v1/challenges/"+slug(kind)+"/leaderboard", "", "", nil, &lb); code != 200 || len(lb.Entries) != 1 || lb.Entries[0].Score != *subs[best].Score {
			t.Errorf("%s: leaderboard %d %+v; want dora's best, %v", kind, code, lb.Entries, *subs[best].Score)
		}
		// The crown moves only for a gain of more than the margin (0.01), so
		// the champion is within it of the best, and above the baseline.
		// When nothing beats the baseline by the margin (the schedules on a
		// model this small, still in its early phase, where a constant rate
		// wins), there is no champion.
		var champ arena.Champion
		code := s.call(t, "GET", "/api/v1/challenges/"+slug(kind)+"/champion", "", "", nil, &champ)
		if best := *subs[best].Score; best <= 0.01 {
			if code != 404 {
				t.Errorf("%s: champion %d %+v, though the best example scored %v", kind, code, champ, best)
			}
		} else if code != 200 || champ.Score < best-0.01 || champ.Score <= 0.01 {
			t.Errorf("%s: champion %d %+v; the best example scored %v", kind, code, champ, best)
		}

		// A competitor's local run on the public seeds matches the server.
		var out bytes.Buffer
		env := func(k string) string {
			return map[string]string{"ARENA_URL": s.url, "ARENA_CACHE_DIR": s.env["ARENA_CACHE_DIR"]}[k]
		}
		c := &cli{stdout: &out, stderr: io.Discard, env: env}
		if code := c.run(context.Background(), []string{"eval", "--challenge", slug(kind), "--seeds", "public", "--json", ex[best]}); code != 0 {
			t.Fatalf("eval --challenge %s %s: exit %d", kind, best, code)
		}
		var local arena.Evaluation
		if err := json.Unmarshal(out.Bytes(), &local); err != nil {
			t.Fatal(err)
		}
		if *local.Score != *subs[best].PublicScore {
			t.Errorf("%s: arena eval scored %s %v, the server's public score is %v", kind, best, *local.Score, *subs[best].PublicScore)
		}
	}
}
