package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/scoring"
)

// TestEndToEnd walks the whole loop on the real stack: a competitor
// registers, submits Go-built examples, watches them scored, and a trainer
// pulls the champion.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ex := buildExamples(t)
	s := startServer(t)

	// The demo challenge exists out of the box.
	var list struct{ Challenges []arena.Challenge }
	if code := s.call(t, "GET", "/api/v1/challenges", "", "", nil, &list); code != 200 || len(list.Challenges) != 1 || list.Challenges[0].Slug != "optimizer-demo" {
		t.Fatalf("challenges: %d %+v", code, list)
	}

	// An admin creates a challenge; bad definitions are refused by field.
	var e apiError
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json",
		[]byte(`{"slug":"bad","kind":"optimizer","params":{"steps":-1}}`), &e); code != 400 || !strings.Contains(e.Error.Message, "params.steps") {
		t.Errorf("bad params: %d %+v", code, e)
	}
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json",
		[]byte(`{"slug":"bad","kind":"sorting"}`), &e); code != 400 || !strings.Contains(e.Error.Message, "kind") {
		t.Errorf("bad kind: %d %+v", code, e)
	}
	spec := `{"slug":"e2e","title":"E2E optimizer","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1]},"limits":{"fuel_per_task":20000000},"rules":{"hidden_seeds":1}}`
	var ch arena.Challenge
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json", []byte(spec), &ch); code != 201 {
		t.Fatalf("create challenge: %d", code)
	}
	if ch.Limits.FuelPerTask != 20_000_000 || ch.Limits.MaxModuleBytes != arena.DefaultLimits().MaxModuleBytes || ch.Rules.Margin != 0.01 || ch.Round != 1 {
		t.Errorf("defaults not filled in: %+v", ch)
	}

	// Two competitors register through the CLI and the API.
	aliceKey, code := s.arena(t, "", "register", "alice")
	aliceKey = strings.TrimSpace(aliceKey)
	if code != 0 || !strings.HasPrefix(aliceKey, "arena_") {
		t.Fatalf("register alice: %d %q", code, aliceKey)
	}
	var bob struct {
		ID     int64
		Name   string
		APIKey string `json:"api_key"`
	}
	if code := s.call(t, "POST", "/api/v1/competitors", "", "application/json", []byte(`{"name":"bob"}`), &bob); code != 201 || bob.APIKey == "" {
		t.Fatalf("register bob: %d %+v", code, bob)
	}
	if code := s.call(t, "POST", "/api/v1/competitors", "", "application/json", []byte(`{"name":"bob"}`), &e); code != 409 || e.Error.Code != "conflict" {
		t.Errorf("taken name: %d %+v", code, e)
	}

	// A random 4 KiB file is refused and nothing is queued.
	junk := make([]byte, 4096)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range junk {
		junk[i] = byte(r.Uint32())
	}
	if code := s.call(t, "POST", "/api/v1/challenges/e2e/submissions", bob.APIKey, "application/wasm", junk, &e); code != 400 || e.Error.Code != "invalid" {
		t.Errorf("random bytes: %d %+v", code, e)
	}
	var subs struct{ Submissions []arena.Submission }
	if s.call(t, "GET", "/api/v1/challenges/e2e/submissions", "", "", nil, &subs); len(subs.Submissions) != 0 {
		t.Errorf("random bytes were stored: %+v", subs.Submissions)
	}
	if code := s.call(t, "POST", "/api/v1/challenges/e2e/submissions", "", "application/wasm", junk, &e); code != 401 {
		t.Errorf("anonymous submission: %d", code)
	}
	if code := s.call(t, "POST", "/api/v1/challenges/e2e/submissions", s.adminKey, "application/wasm", junk, &e); code != 403 {
		t.Errorf("admin submission: %d", code)
	}

	// A module that loops forever fails with a reason, while the next
	// submission is still scored.
	loop, err := os.ReadFile("../../sandbox/testdata/loop.wasm")
	if err != nil {
		t.Fatal(err)
	}
	var looping arena.Submission
	if code := s.call(t, "POST", "/api/v1/challenges/e2e/submissions", bob.APIKey, "application/wasm", loop, &looping); code != 202 || looping.Status != arena.StatusQueued {
		t.Fatalf("submit loop: %d %+v", code, looping)
	}
	out, code := s.arena(t, bob.APIKey, "submit", "--challenge", "e2e", ex["optimizer/sgd"], "--wait")
	if code != 0 || !strings.Contains(out, "scored") {
		t.Fatalf("bob's sgd: exit %d\n%s", code, out)
	}

	// Alice submits momentum and waits for it.
	out, code = s.arena(t, aliceKey, "submit", "--challenge", "e2e", ex["optimizer/momentum"], "--wait")
	if code != 0 || !regexp.MustCompile(`status +scored`).MatchString(out) {
		t.Fatalf("alice's momentum: exit %d\n%s", code, out)
	}
	aliceSub := strings.Fields(strings.SplitN(out, "\n", 2)[0])[1]

	var loopDone arena.Submission
	deadline := time.Now().Add(30 * time.Second)
	for s.call(t, "GET", "/api/v1/submissions/"+looping.ID, bob.APIKey, "", nil, &loopDone); !loopDone.Status.Final(); s.call(t, "GET", "/api/v1/submissions/"+looping.ID, bob.APIKey, "", nil, &loopDone) {
		if time.Now().After(deadline) {
			t.Fatalf("looping module never finished: %+v", loopDone)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if loopDone.Status != arena.StatusFailed || !strings.Contains(loopDone.Error, "fuel exhausted") || loopDone.Score != nil {
		t.Errorf("looping module: %+v", loopDone)
	}

	// Owners see per-task details; others do not.
	var mine, theirs arena.Submission
	s.call(t, "GET", "/api/v1/submissions/"+aliceSub, aliceKey, "", nil, &mine)
	s.call(t, "GET", "/api/v1/submissions/"+aliceSub, bob.APIKey, "", nil, &theirs)
	workloads := len(scoring.DefaultOptimizerParams().Workloads)
	if len(mine.Tasks) != 2*workloads || len(theirs.Tasks) != 0 || mine.Score == nil || theirs.Score == nil || *mine.Score != *theirs.Score {
		t.Errorf("task visibility: owner sees %d tasks, others %d", len(mine.Tasks), len(theirs.Tasks))
	}
	// One public and one hidden seed per workload: the owner sees the
	// public seed, but neither the hidden seed nor the hidden task's log;
	// an admin sees both.
	var asAdmin arena.Submission
	s.call(t, "GET", "/api/v1/submissions/"+aliceSub, s.adminKey, "", nil, &asAdmin)
	for i, task := range mine.Tasks {
		hidden := i >= workloads
		if task.Hidden != hidden || (hidden && task.Seed != 0) || (!hidden && task.Seed != 1) || (hidden && task.Log != "") {
			t.Errorf("owner's task %d: hidden %v, seed %d, log %q", i, task.Hidden, task.Seed, task.Log)
		}
		if hidden && (asAdmin.Tasks[i].Seed == 0 || asAdmin.Tasks[i].Seed == 1) {
			t.Errorf("admin's hidden task %d: seed %d", i, asAdmin.Tasks[i].Seed)
		}
	}
	if mine.PublicScore == nil || *mine.PublicScore == *mine.Score || mine.Round != 1 {
		t.Errorf("alice's momentum: official %v, public %v, round %d; want two scores from round 1", mine.Score, mine.PublicScore, mine.Round)
	}

	// The leaderboard ranks alice's momentum over bob's sgd.
	var lb struct{ Entries []arena.LeaderboardEntry }
	if code := s.call(t, "GET", "/api/v1/challenges/e2e/leaderboard", "", "", nil, &lb); code != 200 || len(lb.Entries) != 2 {
		t.Fatalf("leaderboard: %d %+v", code, lb)
	}
	if lb.Entries[0].Competitor != "alice" || lb.Entries[0].SubmissionID != aliceSub || lb.Entries[1].Competitor != "bob" || lb.Entries[0].Score <= lb.Entries[1].Score {
		t.Errorf("leaderboard order: %+v", lb.Entries)
	}
	out, _ = s.arena(t, "", "leaderboard", "e2e")
	if !strings.Contains(out, "1     alice") {
		t.Errorf("leaderboard CLI:\n%s", out)
	}

	// Momentum beats the Adam baseline by more than the margin: champion.
	var champ arena.Champion
	if code := s.call(t, "GET", "/api/v1/challenges/e2e/champion", "", "", nil, &champ); code != 200 || champ.SubmissionID != aliceSub || champ.Competitor != "alice" {
		t.Fatalf("champion: %d %+v", code, champ)
	}
	if champ.SHA256 != sha(t, ex["optimizer/momentum"]) {
		t.Errorf("champion sha256 %s is not momentum's", champ.SHA256)
	}
	pulled := filepath.Join(t.TempDir(), "champ.wasm")
	if out, code := s.arena(t, "", "champion", "pull", "e2e", "-o", pulled); code != 0 || !strings.Contains(out, "receipt: signed by ") {
		t.Fatalf("champion pull: %d %s", code, out)
	}
	// A trainer that pinned another key refuses the module.
	refused := filepath.Join(t.TempDir(), "refused.wasm")
	if out, code := s.arena(t, "", "champion", "pull", "e2e", "-o", refused, "--public-key", base64.StdEncoding.EncodeToString(make([]byte, 32))); code != 1 {
		t.Errorf("champion pull with another pinned key: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("champion pull wrote a module whose receipt did not verify: %v", err)
	}
	if got := sha(t, pulled); got != champ.SHA256 {
		t.Errorf("pulled module sha256 %s, want %s", got, champ.SHA256)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/challenges/e2e/champion/module", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/wasm" || resp.Header.Get("ETag") != `"`+champ.SHA256+`"` {
		t.Errorf("module headers: %v", resp.Header)
	}
	if code := s.call(t, "GET", "/api/v1/challenges/optimizer-demo/champion", "", "", nil, &e); code != 404 || e.Error.Code != "not_found" {
		t.Errorf("no champion: %d %+v", code, e)
	}
	for _, path := range []string{"/api/v1/challenges/nope", "/api/v1/challenges/nope/leaderboard", "/api/v1/challenges/nope/champion/module"} {
		if code := s.call(t, "GET", path, "", "", nil, &e); code != 404 || !strings.Contains(e.Error.Message, `no challenge "nope"`) {
			t.Errorf("GET %s: %d %+v", path, code, e)
		}
	}

	// The web page shows the leaderboard and the champion.
	resp, err = http.Get(s.url + "/challenges/e2e")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"E2E optimizer", "alice", "bob", champ.SHA256, fmt.Sprintf("%.4f", champ.Score), "<td>20000000 (every instruction counts"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("challenge page lacks %q", want)
		}
	}

	// The front page lists challenges with their champions.
	resp, err = http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	front, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(front, []byte(`<a href="/challenges/e2e">E2E optimizer</a>`)) || !bytes.Contains(front, []byte("<td>alice</td>")) {
		t.Errorf("front page lacks the challenge or its champion:\n%s", front)
	}

	// arena status shows the owner's per-task table.
	out, code = s.arena(t, aliceKey, "status", aliceSub)
	if code != 0 || !strings.Contains(out, "quadratic") || !strings.Contains(out, "scored") || !regexp.MustCompile(fmt.Sprintf(`fuel +%d\n`, *mine.FuelUsed)).MatchString(out) {
		t.Errorf("status: %d\n%s", code, out)
	}

	// A second kind through the same loop: a learning-rate schedule.
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json",
		[]byte(`{"slug":"lr","kind":"lr_schedule","params":{"workloads":["quadratic","logistic","mlp","rosenbrock"],"seeds":[1]},"rules":{"hidden_seeds":0}}`), nil); code != 201 {
		t.Fatalf("create lr_schedule challenge: %d", code)
	}
	momentum, _ := os.ReadFile(ex["optimizer/momentum"])
	if code := s.call(t, "POST", "/api/v1/challenges/lr/submissions", aliceKey, "application/wasm", momentum, &e); code != 400 || !strings.Contains(e.Error.Message, "missing export lr_init") {
		t.Errorf("an optimizer submitted as a schedule: %d %+v", code, e)
	}
	// WSD beats the constant rate on the control workloads too (+0.23 on
	// seed 1; hidden seeds, drawn from this server's random secret, could
	// go either way, so the challenge has none).
	out, code = s.arena(t, aliceKey, "submit", "--challenge", "lr", ex["lr_schedule/wsd"], "--wait")
	if code != 0 || !strings.Contains(out, "scored") {
		t.Fatalf("wsd schedule: exit %d\n%s", code, out)
	}
	if code := s.call(t, "GET", "/api/v1/challenges/lr/champion", "", "", nil, &champ); code != 200 || champ.Competitor != "alice" {
		t.Errorf("lr_schedule champion: %d %+v", code, champ)
	}

	// A daily cap of one: bob's second submission is refused before its
	// bytes are even looked at, and alice still has her slot.
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json",
		[]byte(`{"slug":"capped","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1]},"rules":{"daily_submissions":1}}`), nil); code != 201 {
		t.Fatalf("create capped challenge: %d", code)
	}
	signsgd, _ := os.ReadFile(ex["optimizer/signsgd"])
	if code := s.call(t, "POST", "/api/v1/challenges/capped/submissions", bob.APIKey, "application/wasm", signsgd, nil); code != 202 {
		t.Errorf("bob's first capped submission: %d", code)
	}
	if code := s.call(t, "POST", "/api/v1/challenges/capped/submissions", bob.APIKey, "application/wasm", junk, &e); code != 429 ||
		e.Error.Code != "rate_limited" || !strings.Contains(e.Error.Message, "daily cap") {
		t.Errorf("bob over his cap: %d %+v", code, e)
	}
	out, code = s.arena(t, aliceKey, "submit", "--challenge", "capped", ex["optimizer/momentum"])
	if code != 0 {
		t.Errorf("alice under the cap: exit %d\n%s", code, out)
	}
	if out, code = s.arena(t, aliceKey, "submit", "--challenge", "capped", ex["optimizer/adam"]); code == 0 {
		t.Errorf("alice over the cap: exit %d\n%s", code, out)
	}
}

// TestEvalMatchesServer checks that arena eval scores exactly what the
// server's workers score, and its exit codes.
func TestEvalMatchesServer(t *testing.T) {
	t.Parallel()
	ex := buildExamples(t)
	var cliOut bytes.Buffer
	cacheDir := t.TempDir()
	noCache := func(k string) string {
		if k == "ARENA_CACHE_DIR" {
			return cacheDir
		}
		return ""
	}
	// The control workload keeps these runs short; the LM's scoring has
	// tests of its own in scoring and internal/validity.
	quad := filepath.Join(t.TempDir(), "quadratic.json")
	if err := os.WriteFile(quad, []byte(`{"workloads":["quadratic"],"seeds":[1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{stdout: &cliOut, stderr: io.Discard, env: noCache}
	if code := c.run(context.Background(), []string{"eval", "--kind", "optimizer", "--params", quad, "--seed", "1", "--json", ex["optimizer/signsgd"]}); code != 0 {
		t.Fatalf("eval exit %d: %s", code, cliOut.String())
	}
	var local arena.Evaluation
	if err := json.Unmarshal(cliOut.Bytes(), &local); err != nil {
		t.Fatal(err)
	}

	s := startServer(t)
	key, _ := s.arena(t, "", "register", "carol")
	spec := `{"slug":"same","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1]}}`
	s.createChallenge(t, spec)
	out, code := s.arena(t, strings.TrimSpace(key), "submit", "--challenge", "same", ex["optimizer/signsgd"], "--wait")
	if code != 0 {
		t.Fatalf("submit: %d %s", code, out)
	}
	id := strings.Fields(out)[1]
	var remote arena.Submission
	s.call(t, "GET", "/api/v1/submissions/"+id, strings.TrimSpace(key), "", nil, &remote)
	// The server also scores hidden seeds; on the public ones it agrees.
	if remote.PublicScore == nil || local.Score == nil || *remote.PublicScore != *local.Score {
		t.Fatalf("server public score %v != local %v", remote.PublicScore, local.Score)
	}
	if remote.Score == nil || *remote.Score == *remote.PublicScore {
		t.Errorf("official score %v should come from the hidden seeds, not equal the public %v", remote.Score, *remote.PublicScore)
	}
	var publicFuel int64
	for i := range local.Tasks {
		if *local.Tasks[i].Loss != *remote.Tasks[i].Loss || *local.Tasks[i].FuelUsed != *remote.Tasks[i].FuelUsed || remote.Tasks[i].Hidden {
			t.Errorf("task %d: local loss %v, server %v", i, *local.Tasks[i].Loss, *remote.Tasks[i].Loss)
		}
		publicFuel += *remote.Tasks[i].FuelUsed
	}

	// --challenge takes kind, parameters and limits from the server.
	var fromServer bytes.Buffer
	withURL := func(k string) string {
		if k == "ARENA_URL" {
			return s.url
		}
		return noCache(k)
	}
	cs := &cli{stdout: &fromServer, stderr: io.Discard, env: withURL}
	if code := cs.run(context.Background(), []string{"eval", "--challenge", "same", "--json", ex["optimizer/signsgd"]}); code != 0 {
		t.Fatalf("eval --challenge: exit %d", code)
	}
	var viaChallenge arena.Evaluation
	if err := json.Unmarshal(fromServer.Bytes(), &viaChallenge); err != nil {
		t.Fatal(err)
	}
	if viaChallenge.Score == nil || *viaChallenge.Score != *remote.PublicScore || *viaChallenge.FuelUsed != publicFuel {
		t.Errorf("eval --challenge: score %v fuel %v; server's public %v fuel %v", viaChallenge.Score, viaChallenge.FuelUsed, *remote.PublicScore, publicFuel)
	}

	cases := []struct {
		args []string
		code int
	}{
		{[]string{"eval", "--kind", "optimizer", "--params", quad, "--seed", "1", "../../sandbox/testdata/trap.wasm"}, 1},
		{[]string{"eval", "--kind", "optimizer", "../../sandbox/testdata/badimport.wasm"}, 1},
		{[]string{"eval", "--kind", "optimizer"}, 2},
		{[]string{"eval", "--kind", "nope", ex["optimizer/sgd"]}, 2},
		{[]string{"eval", "--kind", "optimizer", "/does/not/exist.wasm"}, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"eval", "--kind", "optimizer", "--params", quad, "--seeds", "1,2", ex["optimizer/sgd"]}, 0},
		{[]string{"eval", "--kind", "optimizer", "--params", quad, "--seeds", "public", ex["optimizer/sgd"]}, 0},
		{[]string{"eval", "--kind", "optimizer", "--seeds", "1,x", ex["optimizer/sgd"]}, 2},
		{[]string{"eval", "--kind", "optimizer", "--challenge", "same", ex["optimizer/sgd"]}, 2},
		{[]string{"eval", "--challenge", "no-such-challenge", "--url", s.url, ex["optimizer/sgd"]}, 2},
	}
	for _, tc := range cases {
		c := &cli{stdout: io.Discard, stderr: io.Discard, env: noCache}
		if got := c.run(context.Background(), tc.args); got != tc.code {
			t.Errorf("arena %s: exit %d, want %d", strings.Join(tc.args, " "), got, tc.code)
		}
	}
}
