package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/api"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/store"
	"github.com/arena-dev/arena/web"
)

// TestPages renders every page from a real database in the states a
// visitor meets, and checks what each must show (and, for hidden seeds
// and logs, must not).
func TestPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	reveal := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rules := arena.DefaultRules()
	rules.RevealAfter = &reveal
	rules.ClosesAt, rules.RoundHours = &reveal, 24
	ch := arena.Challenge{Slug: "opt", Title: "Optimizer cup", Description: "Beat Adam.", Kind: "optimizer", BenchmarkVersion: 2,
		Params: json.RawMessage(`{"seeds":[1]}`), Limits: arena.DefaultLimits(), Rules: rules}
	if err := s.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	quiet := arena.Challenge{Slug: "quiet", Title: "Quiet", Kind: "optimizer", BenchmarkVersion: 2,
		Params: json.RawMessage(`{}`), Limits: arena.DefaultLimits(), Rules: arena.Rules{Margin: 0.01}}
	if err := s.CreateChallenge(ctx, &quiet); err != nil {
		t.Fatal(err)
	}
	alice, _, _ := s.CreateCompetitor(ctx, "alice")
	bob, _, _ := s.CreateCompetitor(ctx, "bob")
	finish := func(who arena.Competitor, module string, ev arena.Evaluation) arena.Submission {
		t.Helper()
		sub, err := s.CreateSubmission(ctx, ch, who.ID, []byte(module))
		if err != nil {
			t.Fatal(err)
		}
		ev.Round = 1
		if _, err := s.Finish(ctx, sub.ID, ev, nil); err != nil {
			t.Fatal(err)
		}
		return sub
	}
	score, loss, fuel := 0.4321, 0.5, int64(123456)
	champ := finish(alice, "a", arena.Evaluation{Status: arena.StatusScored, Score: &score, PublicScore: &score, FuelUsed: &fuel,
		Tasks: []arena.TaskResult{{Workload: "quadratic", Seed: 987654321, Hidden: true, Loss: &loss, Log: "secret log"}}})
	failed := finish(bob, "b", arena.Evaluation{Status: arena.StatusFailed, Error: "quadratic seed 1: opt_step: wasm error: unreachable", FailedTasks: 1})
	cheat := finish(bob, "c", arena.Evaluation{Status: arena.StatusScored, Score: &score, PublicScore: &score})
	if _, err := s.Disqualify(ctx, cheat.ID, "copied alice's module"); err != nil {
		t.Fatal(err)
	}
	queued, _ := s.CreateSubmission(ctx, ch, alice.ID, []byte("q"))
	if _, err := s.AdvanceRound(ctx, ch); err != nil {
		t.Fatal(err)
	}
	rounds, _ := s.Rounds(ctx, ch)

	srv := newSite(t, s)
	cases := []struct {
		path       string
		status     int
		want, lack []string
	}{
		{"/", 200, []string{"Optimizer cup", "alice", "0.4321", "Quiet"}, nil},
		{"/challenges/opt", 200, []string{
			"Optimizer cup", "Beat Adam.", "alice", "0.4321", "Score to beat: <strong>0.4421</strong>",
			rounds[0].Commitment, rounds[1].Commitment, "revealed when the round closes",
			"Every submission's code becomes public on 2030-01-02 03:04:05 UTC",
			"Submissions close 2030-01-02 03:04:05 UTC", "A new round opens every 24 hours",
			"disqualified", "failed", "queued", `data-slug="opt"`,
			"History of the crown", "The champion&#39;s score over time", `data-chart="`, "What a module implements", "opt_step",
			`href="/docs/optimizer.md"`, "<code>seeds</code></th><td><code>1</code>",
		}, []string{"987654321"}},
		{"/challenges/quiet", 200, []string{"No champion yet", "No scored submissions yet", "Code stays its owner's"}, []string{"<h2>Rounds</h2>"}},
		{"/submissions/" + champ.ID, 200, []string{"0.4321", "123456", "official, round 1", "/receipt", "sign in"}, []string{"secret log", "987654321", "<h2>Tasks</h2>"}},
		{"/submissions/" + failed.ID, 200, []string{"failed", "wasm error: unreachable"}, nil},
		{"/submissions/" + cheat.ID, 200, []string{"disqualified", "copied alice&#39;s module"}, nil},
		{"/submissions/" + queued.ID, 200, []string{"queued", "this page follows it until it is done", `id="position">1<`, "unknown (no evaluation has finished yet)"}, nil},
		{"/docs/optimizer.md", 200, []string{"opt_step"}, nil},
		{"/docs/nope.md", 404, nil, nil},
		{"/static/vendor/uPlot.iife.min.js", 200, []string{"uPlot"}, nil},
		{"/queue", 403, []string{"for admins"}, nil},
		{"/submissions/" + "00000000-0000-0000-0000-000000000000", 404, []string{"no submission"}, nil},
		{"/challenges/nope", 404, []string{"nope"}, nil},
		{"/nowhere", 404, []string{"there is no page at /nowhere"}, nil},
		{"/static/arena.css", 200, []string{".status.disqualified"}, nil},
	}
	for _, c := range cases {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s: %d, want %d\n%s", c.path, resp.StatusCode, c.status, body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("GET %s lacks %q", c.path, w)
			}
		}
		for _, l := range c.lack {
			if strings.Contains(string(body), l) {
				t.Errorf("GET %s shows %q", c.path, l)
			}
		}
	}
}

// newSite serves the pages over a real database, with the API's server
// doing what the forms ask (an in-process NATS behind it).
func newSite(t *testing.T, s *store.Store) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := sandbox.NewEngine(1)
	t.Cleanup(func() { eng.Close(context.Background()) })
	actions := &api.Server{Store: s, Queue: natstest.NewQueue(t, queue.DefaultConfig()), Engine: eng, Logger: logger}
	h, err := web.New(s, logger, web.Options{Actions: actions, SessionSecret: []byte("0123456789abcdef0123456789abcdef"), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
