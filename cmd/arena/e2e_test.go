package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/client"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/scoring"
)

// server is a real `arena serve` running in this process.
type server struct {
	url, adminKey string
	env           map[string]string
	out           *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServer(t *testing.T) *server {
	t.Helper()
	return startServerEnv(t, nil)
}

// startServerEnv starts a server with extra ARENA_* settings.
func startServerEnv(t *testing.T, extra map[string]string) *server {
	t.Helper()
	// No baseline warming: every server seeds the default demo challenge,
	// whose five baselines would cost each test half a minute of CPU
	// (worker/warm_test.go covers warming).
	s := &server{env: map[string]string{"ARENA_DATABASE_URL": pgtest.NewDatabase(t), "ARENA_CACHE_DIR": t.TempDir(), "ARENA_WORKERS": "2",
		"ARENA_WARM_BASELINES": "0"}, out: &syncBuffer{}}
	for k, v := range extra {
		s.env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	c := &cli{stdout: s.out, stderr: s.out, env: s.getenv, serverReady: func(addr string) { ready <- addr }}
	go func() { done <- c.run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, s.out)
		}
	})
	select {
	case addr := <-ready:
		s.url = "http://" + addr
	case code := <-done:
		t.Fatalf("serve exited %d before listening:\n%s", code, s.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready:\n%s", s.out)
	}
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.HasPrefix(line, "arena_") {
			s.adminKey = line
		}
	}
	if s.adminKey == "" {
		t.Fatalf("serve printed no admin key:\n%s", s.out)
	}
	s.env["ARENA_URL"] = s.url
	return s
}

func (s *server) getenv(k string) string { return s.env[k] }

// arena runs a CLI command against the server with the given key.
func (s *server) arena(t *testing.T, key string, args ...string) (stdout string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"ARENA_URL": s.url, "ARENA_KEY": key}
	c := &cli{stdout: &out, stderr: &errOut, env: func(k string) string { return env[k] }}
	code = c.run(context.Background(), args)
	if errOut.Len() > 0 {
		t.Logf("arena %s: stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), code
}

// register registers a competitor through the CLI and returns its key.
func (s *server) register(t *testing.T, name string) string {
	t.Helper()
	key, code := s.arena(t, "", "register", name)
	if code != 0 {
		t.Fatalf("arena register %s: exit %d", name, code)
	}
	return strings.TrimSpace(key)
}

// createChallenge defines a challenge from its JSON spec, as the admin.
func (s *server) createChallenge(t *testing.T, spec string) {
	t.Helper()
	var e apiError
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json", []byte(spec), &e); code != 201 {
		t.Fatalf("create challenge %s: %d %+v", spec, code, e)
	}
}

// call makes an API request and decodes the JSON answer into out.
func (s *server) call(t *testing.T, method, path, key, contentType string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func buildExamples(t *testing.T) map[string]string {
	t.Helper()
	paths, err := examples.BuildAll(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

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
		scoring.OptimizerKind:             tinyLM,
		scoring.LRScheduleKind:            tinyLM,
		scoring.GradCompressionKind:       `{"seeds":[1],"steps":60,"workloads":["quadratic","mlp"]}`,
		scoring.ActivationCompressionKind: `{"seeds":[1],"vocab":128,"width":16,"layers":2,"heads":2,"context":16,"batch":4,"steps":20,"eval_every":10,"eval_sequences":8,"min_cosine":0}`,
	}
	baselines := map[string]string{
		scoring.OptimizerKind:             "optimizer/adamw",
		scoring.LRScheduleKind:            "lr_schedule/constant",
		scoring.GradCompressionKind:       "grad_compression/topk",
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

// TestRoundsRevealSeedsAndRescoreTheChampion walks a round change on the
// real stack: the open round publishes only a commitment to its hidden
// seeds; opening the next reveals them, and arena eval --round recomputes
// the closed round's official score from them; the champion is scored
// again on the new round's seeds and keeps its crown meanwhile.
func TestRoundsRevealSeedsAndRescoreTheChampion(t *testing.T) {
	t.Parallel()
	const signsgd = "../../examples/optimizer/signsgd.wasm" // hand-written: quick to compile under -race
	s := startServer(t)
	key := s.register(t, "erin")
	spec := `{"slug":"rounds","kind":"optimizer","params":{"workloads":["quadratic","logistic","mlp","rosenbrock"],"seeds":[1],"steps":60}}`
	s.createChallenge(t, spec)
	var view struct {
		SeedCommitment string `json:"seed_commitment"`
	}
	s.call(t, "GET", "/api/v1/challenges/rounds", "", "", nil, &view)
	var rs struct{ Rounds []arena.Round }
	s.call(t, "GET", "/api/v1/challenges/rounds/rounds", "", "", nil, &rs)
	if len(rs.Rounds) != 1 || rs.Rounds[0].Round != 1 || rs.Rounds[0].ClosedAt != nil || len(view.SeedCommitment) != 64 ||
		rs.Rounds[0].Commitment != view.SeedCommitment || rs.Rounds[0].Salt != "" || rs.Rounds[0].Seeds != nil {
		t.Fatalf("an open round shows its commitment and nothing else: %+v, challenge's commitment %q", rs.Rounds, view.SeedCommitment)
	}

	out, code := s.arena(t, key, "submit", "--challenge", "rounds", signsgd, "--wait")
	if code != 0 {
		t.Fatalf("submit: %d %s", code, out)
	}
	id := strings.Fields(out)[1]
	var first arena.Submission
	s.call(t, "GET", "/api/v1/submissions/"+id, s.adminKey, "", nil, &first)
	if first.Status != arena.StatusScored || first.Round != 1 {
		t.Fatalf("round 1: %+v", first)
	}

	// Round 1's receipt verifies; its public tasks recompute, its hidden
	// ones wait for the round to close.
	var serverKey struct {
		PublicKey string `json:"public_key"`
	}
	s.call(t, "GET", "/api/v1/receipts/key", "", "", nil, &serverKey)
	out, code = s.arena(t, "", "receipt", id, "--public-key", serverKey.PublicKey, "--module", signsgd)
	for _, want := range []string{"signature  valid", "(pinned)", "matches the receipt's sha256", "public     4 of 4 tasks recomputed bit for bit",
		"hidden     not recomputed: round 1 of rounds is still open"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("arena receipt in round 1: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	otherKey := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for name, args := range map[string][]string{
		"another key":    {"receipt", id, "--public-key", otherKey},
		"another module": {"receipt", id, "--module", "../../sandbox/testdata/trap.wasm"},
	} {
		if out, code := s.arena(t, "", args...); code != 1 {
			t.Errorf("arena receipt with %s: exit %d, want 1\n%s", name, code, out)
		}
	}

	var e apiError
	if code := s.call(t, "POST", "/api/v1/challenges/rounds/rounds", key, "application/json", []byte(`{}`), &e); code != 403 || e.Error.Code != "forbidden" {
		t.Errorf("a competitor opening a round: %d %+v, want 403", code, e)
	}
	out, code = s.arena(t, s.adminKey, "rounds", "open", "rounds")
	for _, want := range []string{"closed round 1: ", "(match the commitment)", "opened round 2: commitment ", "submission " + id + ", is queued to be scored on round 2's seeds"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("arena rounds open: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}

	var second arena.Submission
	deadline := time.Now().Add(time.Minute)
	for s.call(t, "GET", "/api/v1/submissions/"+id, s.adminKey, "", nil, &second); second.Round != 2 || !second.Status.Final(); s.call(t, "GET", "/api/v1/submissions/"+id, s.adminKey, "", nil, &second) {
		if time.Now().After(deadline) {
			t.Fatalf("the champion was not rescored on round 2: %+v\n%s", second, s.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if second.Status != arena.StatusScored || *second.Score == *first.Score || *second.PublicScore != *first.PublicScore {
		t.Errorf("rescored on round 2: %s, score %v (round 1: %v), public %v (round 1: %v); want a new official score and the same public one",
			second.Status, *second.Score, *first.Score, *second.PublicScore, *first.PublicScore)
	}
	var champ arena.Champion
	if s.call(t, "GET", "/api/v1/challenges/rounds/champion", "", "", nil, &champ); champ.SubmissionID != id || champ.Round != 2 || champ.Score != *second.Score {
		t.Errorf("champion after round 2's rescore: %+v, want %s with %v", champ, id, *second.Score)
	}

	s.call(t, "GET", "/api/v1/challenges/rounds/rounds", "", "", nil, &rs)
	if len(rs.Rounds) != 2 || rs.Rounds[0].ClosedAt == nil || rs.Rounds[0].Commitment != view.SeedCommitment || len(rs.Rounds[0].Seeds) != 3 ||
		rs.Rounds[1].ClosedAt != nil || rs.Rounds[1].Seeds != nil || rs.Rounds[1].Commitment == view.SeedCommitment {
		t.Fatalf("after opening round 2: %+v", rs.Rounds)
	}
	resp, err := http.Get(s.url + "/challenges/rounds")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	seed := fmt.Sprint(rs.Rounds[0].Seeds[0])
	for _, want := range []string{rs.Rounds[0].Commitment, rs.Rounds[1].Commitment, seed, "revealed when the round closes"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the challenge page lacks %q", want)
		}
	}
	if out, code := s.arena(t, "", "rounds", "list", "rounds"); code != 0 || !strings.Contains(out, "(match the commitment)") || !strings.Contains(out, "hidden until the round closes") {
		t.Errorf("arena rounds list: exit %d\n%s", code, out)
	}

	// Round 1's receipt now recomputes in full; the latest is round 2's.
	out, code = s.arena(t, "", "receipt", id, "--round", "1", "--module", signsgd)
	for _, want := range []string{"fetched from the server", "public     4 of 4 tasks recomputed bit for bit", "hidden     12 of 12 tasks recomputed bit for bit",
		fmt.Sprintf("official   scored %v, recomputed exactly", *first.Score)} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("arena receipt --round 1 after the reveal: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	var latest struct {
		arena.SignedReceipt
		Receipt arena.Receipt `json:"receipt"`
	}
	if code := s.call(t, "GET", "/api/v1/submissions/"+id+"/receipt", "", "", nil, &latest); code != 200 || latest.Receipt.Round != 2 ||
		*latest.Receipt.Score != *second.Score || latest.PublicKey != serverKey.PublicKey {
		t.Errorf("latest receipt: %d %+v", code, latest.Receipt)
	}
	if _, err := receipt.Verify(latest.SignedReceipt, serverKey.PublicKey); err != nil {
		t.Errorf("the latest receipt, as the API serves it: %v", err)
	}
	if code := s.call(t, "GET", "/api/v1/submissions/"+id+"/receipt?round=x", "", "", nil, &e); code != 400 || e.Error.Code != "invalid" {
		t.Errorf("receipt?round=x: %d %+v", code, e)
	}

	// Anyone can now recompute round 1's official score, task by task.
	var local bytes.Buffer
	c := &cli{stdout: &local, stderr: io.Discard, env: s.getenv}
	if code := c.run(context.Background(), []string{"eval", "--challenge", "rounds", "--round", "1", "--json", signsgd}); code != 0 {
		t.Fatalf("eval --round 1: exit %d", code)
	}
	var recomputed arena.Evaluation
	if err := json.Unmarshal(local.Bytes(), &recomputed); err != nil {
		t.Fatal(err)
	}
	var hidden []arena.TaskResult
	for _, task := range first.Tasks {
		if task.Hidden {
			hidden = append(hidden, task)
		}
	}
	if recomputed.Score == nil || *recomputed.Score != *first.Score || len(recomputed.Tasks) != len(hidden) {
		t.Fatalf("eval --round 1 scored %v over %d tasks; the server's round-1 official score was %v over %d", recomputed.Score, len(recomputed.Tasks), *first.Score, len(hidden))
	}
	for i, task := range recomputed.Tasks {
		if task.Seed != hidden[i].Seed || *task.Loss != *hidden[i].Loss || *task.FuelUsed != *hidden[i].FuelUsed {
			t.Errorf("task %d: local seed %d loss %v fuel %d; server seed %d loss %v fuel %d", i, task.Seed, *task.Loss, *task.FuelUsed, hidden[i].Seed, *hidden[i].Loss, *hidden[i].FuelUsed)
		}
	}
	for _, args := range [][]string{
		{"eval", "--challenge", "rounds", "--round", "2", signsgd},                // still open
		{"eval", "--challenge", "rounds", "--round", "7", signsgd},                // no such round
		{"eval", "--kind", "optimizer", "--round", "1", signsgd},                  // needs a challenge
		{"eval", "--challenge", "rounds", "--round", "1", "--seed", "3", signsgd}, // one seed list at a time
	} {
		c := &cli{stdout: io.Discard, stderr: io.Discard, env: s.getenv}
		if got := c.run(context.Background(), args); got != 2 {
			t.Errorf("arena %s: exit %d, want 2", strings.Join(args, " "), got)
		}
	}
}

// sameBehaviour is signsgd as other code that behaves the same: its memory
// may grow to 255 pages, not 256. (A custom section would not do: the
// server takes that for a copy.)
func sameBehaviour(t *testing.T, signsgd []byte) []byte {
	t.Helper()
	variant := bytes.Replace(signsgd, []byte{5, 5, 1, 1, 1, 0x80, 2}, []byte{5, 5, 1, 1, 1, 0xff, 1}, 1)
	if bytes.Equal(variant, signsgd) {
		t.Fatal("signsgd's memory section moved")
	}
	return variant
}

// TestAdminDisqualifiesAndRescores: an admin disqualifies the champion,
// trainers following the crown are told it is vacant, and a rescored
// submission takes it.
func TestAdminDisqualifiesAndRescores(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	signsgd, err := os.ReadFile("../../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	variant := sameBehaviour(t, signsgd)
	spec := `{"slug":"admin","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1],"steps":60},"rules":{"hidden_seeds":0}}`
	s.createChallenge(t, spec)
	submit := func(name string, module []byte) (key string, sub arena.Submission) {
		t.Helper()
		key, _ = s.arena(t, "", "register", name)
		key = strings.TrimSpace(key)
		if code := s.call(t, "POST", "/api/v1/challenges/admin/submissions", key, "application/wasm", module, &sub); code != 202 {
			t.Fatalf("submit for %s: %d", name, code)
		}
		return key, waitFor(t, s, sub.ID, func(sub arena.Submission) bool { return sub.Status.Final() })
	}
	_, alice := submit("alice", signsgd)
	// A copy with a custom section added is alice's: 409, naming hers.
	malloryKey, _ := s.arena(t, "", "register", "mallory")
	copied := append(append([]byte{}, signsgd...), 0, 5, 3, 'a', 'b', 'c', 1)
	var conflict apiError
	if code := s.call(t, "POST", "/api/v1/challenges/admin/submissions", strings.TrimSpace(malloryKey), "application/wasm", copied, &conflict); code != 409 || !strings.Contains(conflict.Error.Message, alice.ID) {
		t.Errorf("a copy with a custom section: %d %+v, want 409 naming %s", code, conflict, alice.ID)
	}
	bobKey, bob := submit("bob", variant)
	if alice.Status != arena.StatusScored || bob.Status != arena.StatusScored || *bob.Score != *alice.Score {
		t.Fatalf("alice %+v, bob %+v: the same code should score the same", alice, bob)
	}

	// A trainer follows the crown.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/v1/challenges/admin/champion/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan arena.Champion, 4)
	go func() {
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() {
			if data, ok := strings.CutPrefix(scanner.Text(), "data: "); ok {
				var c arena.Champion
				_ = json.Unmarshal([]byte(data), &c)
				events <- c
			}
		}
	}()
	next := func() arena.Champion {
		t.Helper()
		select {
		case c := <-events:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no champion event")
			return arena.Champion{}
		}
	}
	if c := next(); c.SubmissionID != alice.ID {
		t.Fatalf("the current champion first: %+v, want alice's %s", c, alice.ID)
	}

	var e apiError
	for _, c := range []struct {
		path, key, body string
		code            int
	}{
		{"/api/v1/submissions/" + alice.ID + "/disqualify", bobKey, `{"reason":"mine is better"}`, 403},
		{"/api/v1/submissions/" + alice.ID + "/disqualify", s.adminKey, `{}`, 400},
		{"/api/v1/submissions/" + alice.ID + "/disqualify", s.adminKey, `{"reason":"x","extra":1}`, 400},
		{"/api/v1/submissions/" + bob.ID + "/rescore", bobKey, `{}`, 403},
		{"/api/v1/submissions/00000000-0000-0000-0000-000000000000/rescore", s.adminKey, `{}`, 404},
	} {
		if code := s.call(t, "POST", c.path, c.key, "application/json", []byte(c.body), &e); code != c.code || e.Error.Message == "" {
			t.Errorf("POST %s %s: %d %+v, want %d", c.path, c.body, code, e, c.code)
		}
	}
	if out, code := s.arena(t, s.adminKey, "disqualify", alice.ID); code != 2 {
		t.Errorf("arena disqualify without a reason: exit %d\n%s", code, out)
	}

	// Alice held the crown and nobody did before her: it is vacant.
	out, code := s.arena(t, s.adminKey, "disqualify", alice.ID, "--reason", "sockpuppet of bob")
	if code != 0 || !strings.Contains(out, "is disqualified: sockpuppet of bob") || !strings.Contains(out, "now vacant") {
		t.Fatalf("arena disqualify: exit %d\n%s", code, out)
	}
	if c := next(); c.SubmissionID != "" || c.Challenge != "admin" {
		t.Errorf("vacancy event: %+v", c)
	}
	if code := s.call(t, "GET", "/api/v1/challenges/admin/champion", "", "", nil, &e); code != 404 {
		t.Errorf("champion of a vacant crown: %d", code)
	}
	var lb struct{ Entries []arena.LeaderboardEntry }
	if s.call(t, "GET", "/api/v1/challenges/admin/leaderboard", "", "", nil, &lb); len(lb.Entries) != 1 || lb.Entries[0].SubmissionID != bob.ID {
		t.Errorf("leaderboard after the disqualification: %+v", lb.Entries)
	}

	// Scored again, bob's clears the baseline, and the crown is his.
	if out, code := s.arena(t, s.adminKey, "rescore", bob.ID); code != 0 || !strings.Contains(out, "to be scored again") {
		t.Fatalf("arena rescore: exit %d\n%s", code, out)
	}
	if c := next(); c.SubmissionID != bob.ID {
		t.Errorf("after the rescore: %+v, want bob's %s", c, bob.ID)
	}
	again := waitFor(t, s, bob.ID, func(sub arena.Submission) bool { return sub.Status == arena.StatusScored && sub.Attempts == 2 })
	if *again.Score != *bob.Score {
		t.Errorf("rescored %v, first %v: scores are deterministic", *again.Score, *bob.Score)
	}
	if _, code := s.arena(t, s.adminKey, "rescore", alice.ID); code != 1 {
		t.Errorf("rescore a disqualified submission: exit %d, want 1", code)
	}

	// Everything is done: nothing waits in the database or, once the
	// worker has acknowledged the last job (just after recording it), in
	// the stream.
	var q arena.QueueState
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, code = s.arena(t, s.adminKey, "queue", "--json")
		err := json.Unmarshal([]byte(out), &q)
		if code != 0 || err != nil || q.Queued != 0 || q.Running != 0 || q.Stream.Undelivered != 0 {
			t.Fatalf("arena queue: exit %d, %+v %v\n%s", code, q, err, out)
		}
		if q.Stream.InFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a job stayed in flight after its submission was done: %+v", q)
		}
	}
	if code := s.call(t, "GET", "/api/v1/queue", bobKey, "", nil, &e); code != 403 {
		t.Errorf("a competitor reading the queue: %d", code)
	}

	out, code = s.arena(t, bobKey, "submissions", "admin", "--mine")
	if code != 0 || !strings.Contains(out, bob.ID) || strings.Contains(out, alice.ID) || !strings.Contains(out, "scored") {
		t.Errorf("arena submissions --mine: exit %d\n%s", code, out)
	}
	if out, code := s.arena(t, "", "submissions", "admin"); code != 0 || !strings.Contains(out, alice.ID) || !strings.Contains(out, "disqualified") {
		t.Errorf("arena submissions: exit %d\n%s", code, out)
	}

	// Keys: an admin issues one, its holder rotates it, the admin revokes
	// the new one; a competitor manages none but their own.
	carolKey, code := s.arena(t, s.adminKey, "keys", "create", "--role", "competitor", "--name", "carol")
	carolKey = strings.TrimSpace(carolKey)
	if code != 0 || !strings.HasPrefix(carolKey, "arena_") {
		t.Fatalf("arena keys create: exit %d %q", code, carolKey)
	}
	rotated, code := s.arena(t, carolKey, "keys", "rotate")
	rotated = strings.TrimSpace(rotated)
	if code != 0 || !strings.HasPrefix(rotated, "arena_") || rotated == carolKey {
		t.Fatalf("arena keys rotate: exit %d %q", code, rotated)
	}
	if code := s.call(t, "GET", "/api/v1/me", carolKey, "", nil, &e); code != 401 {
		t.Errorf("the rotated-out key: %d, want 401", code)
	}
	var me struct{ Name string }
	if code := s.call(t, "GET", "/api/v1/me", rotated, "", nil, &me); code != 200 || me.Name != "carol" {
		t.Errorf("the new key: %d %+v", code, me)
	}
	var keys struct{ Keys []arena.APIKey }
	s.call(t, "GET", "/api/v1/keys", s.adminKey, "", nil, &keys)
	newest := keys.Keys[0]
	if newest.Name != "carol" || newest.RevokedAt != nil || keys.Keys[1].Name != "carol" || keys.Keys[1].RevokedAt == nil {
		t.Fatalf("keys, newest first: %+v", keys.Keys)
	}
	if out, code := s.arena(t, s.adminKey, "keys", "revoke", fmt.Sprint(newest.ID)); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("arena keys revoke: exit %d\n%s", code, out)
	}
	if code := s.call(t, "GET", "/api/v1/me", rotated, "", nil, &e); code != 401 {
		t.Errorf("a revoked key: %d, want 401", code)
	}
	if code := s.call(t, "GET", "/api/v1/keys", bobKey, "", nil, &e); code != 403 {
		t.Errorf("a competitor listing keys: %d, want 403", code)
	}
	if _, code := s.arena(t, s.adminKey, "keys", "revoke", "x"); code != 2 {
		t.Errorf("arena keys revoke x: exit %d, want 2", code)
	}

	var health map[string]string
	if code := s.call(t, "GET", "/healthz", "", "", nil, &health); code != 200 || health["status"] != "ok" || health["database"] != "ok" || health["queue"] != "ok" {
		t.Errorf("healthz: %d %v", code, health)
	}

	// Prometheus sees the same: three evaluations, an empty queue, and
	// requests by route pattern rather than by submission.
	resp, err = http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`arena_evaluations_total{kind="optimizer",status="scored"} 3`,
		"arena_submissions_queued 0",
		"arena_submissions_running 0",
		`arena_http_requests_total{code="202",method="POST",route="/api/v1/challenges/{slug}/submissions"} 2`,
		`arena_http_requests_total{code="403",method="POST",route="/api/v1/submissions/{id}/disqualify"} 1`,
		`arena_evaluation_fuel_count{kind="optimizer"} 3`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Code: the owner's always, the champion's for everyone, the rest once
	// the challenge reveals it.
	dir := t.TempDir()
	if out, code := s.arena(t, bobKey, "download", alice.ID, "-o", filepath.Join(dir, "a.wasm")); code != 1 {
		t.Errorf("bob downloading alice's code: exit %d\n%s", code, out)
	}
	if code := s.call(t, "GET", "/api/v1/submissions/"+alice.ID+"/module", bobKey, "", nil, &e); code != 403 || !strings.Contains(e.Error.Message, "does not reveal") {
		t.Errorf("bob downloading alice's code: %d %+v", code, e)
	}
	if out, code := s.arena(t, bobKey, "download", bob.ID, "-o", filepath.Join(dir, "b.wasm")); code != 0 || sha(t, filepath.Join(dir, "b.wasm")) != bob.SHA256 {
		t.Errorf("bob downloading his own: exit %d\n%s", code, out)
	}
	if out, code := s.arena(t, "", "download", bob.ID, "-o", filepath.Join(dir, "champ.wasm")); code != 0 {
		t.Errorf("anyone downloading the champion's code: exit %d\n%s", code, out)
	}
	for slug, at := range map[string]string{"revealed": "2020-01-01T00:00:00Z", "hidden": "2999-01-01T00:00:00Z"} {
		spec := fmt.Sprintf(`{"slug":%q,"kind":"optimizer","rules":{"reveal_after":%q}}`, slug, at)
		s.createChallenge(t, spec)
		var sub arena.Submission
		if code := s.call(t, "POST", "/api/v1/challenges/"+slug+"/submissions", bobKey, "application/wasm", signsgd, &sub); code != 202 {
			t.Fatalf("submit to %s: %d", slug, code)
		}
		code := s.call(t, "GET", "/api/v1/submissions/"+sub.ID+"/module", "", "", nil, nil)
		switch {
		case slug == "revealed" && code != 200:
			t.Errorf("anyone downloading code revealed in 2020: %d", code)
		case slug == "hidden" && code != 403:
			t.Errorf("anyone downloading code hidden until 2999: %d", code)
		}
	}

	// Outside its window a challenge takes nothing, and says when it does.
	for slug, rules := range map[string]string{
		"early": `{"opens_at":"2999-01-01T00:00:00Z"}`,
		"late":  `{"closes_at":"2020-01-01T00:00:00Z"}`,
	} {
		spec := fmt.Sprintf(`{"slug":%q,"kind":"optimizer","rules":%s}`, slug, rules)
		s.createChallenge(t, spec)
		code := s.call(t, "POST", "/api/v1/challenges/"+slug+"/submissions", bobKey, "application/wasm", signsgd, &e)
		if code != 403 || !strings.Contains(e.Error.Message, map[string]string{"early": "opens for submissions at 2999-01-01T00:00:00Z", "late": "closed for submissions at 2020-01-01T00:00:00Z"}[slug]) {
			t.Errorf("submit to %s: %d %+v", slug, code, e)
		}
	}
	// An admin closes a running challenge early and renames it; what a
	// score means (the hidden seeds) stays put.
	changes := filepath.Join(t.TempDir(), "changes.json")
	if err := os.WriteFile(changes, []byte(`{"title":"Admin cup","rules":{"closes_at":"2021-01-01T00:00:00Z","margin":0.02}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = s.arena(t, s.adminKey, "challenge", "update", "admin", "--file", changes)
	var updated arena.Challenge
	if err := json.Unmarshal([]byte(out), &updated); code != 0 || err != nil || updated.Title != "Admin cup" || updated.Rules.Margin != 0.02 ||
		updated.Rules.ClosesAt == nil || updated.Rules.HiddenSeeds != 0 || updated.Kind != "optimizer" {
		t.Errorf("arena challenge update: exit %d %+v %v\n%s", code, updated, err, out)
	}
	if code := s.call(t, "POST", "/api/v1/challenges/admin/submissions", bobKey, "application/wasm", variant, &e); code != 403 || !strings.Contains(e.Error.Message, "closed for submissions at 2021-01-01") {
		t.Errorf("submit after the admin closed the challenge: %d %+v", code, e)
	}
	for body, want := range map[string]int{
		`{"rules":{"hidden_seeds":5}}`: 400,
		`{"rules":{"nope":1}}`:         400,
		`{"title":""}`:                 400,
		`{"params":{}}`:                400,
	} {
		if code := s.call(t, "PATCH", "/api/v1/challenges/admin", s.adminKey, "application/json", []byte(body), &e); code != want {
			t.Errorf("PATCH %s: %d %+v, want %d", body, code, e, want)
		}
	}
	if code := s.call(t, "PATCH", "/api/v1/challenges/admin", bobKey, "application/json", []byte(`{"title":"mine"}`), &e); code != 403 {
		t.Errorf("a competitor updating a challenge: %d", code)
	}

	bad := `{"slug":"backwards","kind":"optimizer","rules":{"opens_at":"2030-01-01T00:00:00Z","closes_at":"2029-01-01T00:00:00Z"}}`
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json", []byte(bad), &e); code != 400 || !strings.Contains(e.Error.Message, "closes_at") {
		t.Errorf("a challenge that closes before it opens: %d %+v", code, e)
	}
}

// waitFor polls a submission (as admin) until done says so.
func waitFor(t *testing.T, s *server, id string, done func(arena.Submission) bool) arena.Submission {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var sub arena.Submission
		s.call(t, "GET", "/api/v1/submissions/"+id, s.adminKey, "", nil, &sub)
		if done(sub) {
			return sub
		}
		if time.Now().After(deadline) {
			t.Fatalf("submission %s: %+v\n%s", id, sub, s.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRateLimits: past its rate a client gets 429 with Retry-After, and
// the limit is per client.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := startServerEnv(t, map[string]string{"ARENA_RATE_LIMIT": "0", "ARENA_REGISTRATIONS_PER_HOUR": "2"})
	var e apiError
	for i, name := range []string{"ann", "ben"} {
		if code := s.call(t, "POST", "/api/v1/competitors", "", "application/json", []byte(`{"name":"`+name+`"}`), nil); code != 201 {
			t.Fatalf("registration %d: %d", i+1, code)
		}
	}
	req, _ := http.NewRequest("POST", s.url+"/api/v1/competitors", strings.NewReader(`{"name":"cat"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many registrations from you") {
		t.Errorf("a third registration within the hour: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// One request a second, bursts of two: the admin's third at once waits,
	// while an anonymous reader has a bucket of its own.
	s = startServerEnv(t, map[string]string{"ARENA_RATE_LIMIT": "1"})
	codes := []int{}
	for range 3 {
		codes = append(codes, s.call(t, "GET", "/api/v1/keys", s.adminKey, "", nil, &e))
	}
	if codes[0] != 200 || codes[2] != 429 || e.Error.Code != "rate_limited" {
		t.Errorf("three requests at once on a limit of 1/s, bursts of 2: %v, %+v", codes, e)
	}
	if code := s.call(t, "GET", "/api/v1/challenges", "", "", nil, nil); code != 200 {
		t.Errorf("an anonymous reader after the admin's burst: %d", code)
	}
}

// TestSubmissionEvents: a client watching a submission sees it move
// through its statuses to the end, from the server's event stream.
func TestSubmissionEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	key := s.register(t, "fay")
	spec := `{"slug":"events","kind":"optimizer","params":{"workloads":["quadratic"],"seeds":[1],"steps":60}}`
	s.createChallenge(t, spec)
	signsgd, err := os.ReadFile("../../examples/optimizer/signsgd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	cl := client.New(s.url, key)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := cl.Submit(ctx, "events", signsgd)
	if err != nil {
		t.Fatal(err)
	}
	var seen []arena.Status
	if err := cl.Watch(ctx, sub.ID, func(s arena.Submission) { seen = append(seen, s.Status) }); err != nil {
		t.Fatal(err)
	}
	order := map[arena.Status]int{arena.StatusQueued: 0, arena.StatusRunning: 1, arena.StatusScored: 2}
	for i := 1; i < len(seen); i++ {
		if order[seen[i]] < order[seen[i-1]] {
			t.Errorf("statuses went backwards: %v", seen)
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != arena.StatusScored {
		t.Fatalf("statuses seen: %v, want the last to be scored", seen)
	}
	// A final submission's stream says where it is and ends.
	var again []arena.Status
	if err := cl.Watch(ctx, sub.ID, func(s arena.Submission) { again = append(again, s.Status) }); err != nil || len(again) != 1 || again[0] != arena.StatusScored {
		t.Errorf("watching a scored submission: %v %v", again, err)
	}
	var e apiError
	if code := s.call(t, "GET", "/api/v1/submissions/00000000-0000-0000-0000-000000000000/events", "", "", nil, &e); code != 404 {
		t.Errorf("events of an unknown submission: %d", code)
	}
	// Wait reports each status once and returns the submission with its tasks.
	sub2, err := cl.Submit(ctx, "events", sameBehaviour(t, signsgd))
	if err != nil {
		t.Fatal(err)
	}
	var changes []arena.Status
	got, err := cl.Wait(ctx, sub2.ID, time.Second, func(s arena.Submission) { changes = append(changes, s.Status) })
	if err != nil || got.Status != arena.StatusScored || len(got.Tasks) == 0 || changes[len(changes)-1] != arena.StatusScored {
		t.Fatalf("wait: %s with %d tasks, %v; changes %v", got.Status, len(got.Tasks), err, changes)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i] == changes[i-1] {
			t.Errorf("wait reported %s twice in a row: %v", changes[i], changes)
		}
	}
}
