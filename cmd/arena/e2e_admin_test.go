package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
)

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
