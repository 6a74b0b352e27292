package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/receipt"
)

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
