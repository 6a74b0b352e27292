package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/arena-dev/arena"
)

func signer(t testing.TB, b byte) *Signer {
	t.Helper()
	s, err := NewSigner(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sample() arena.Receipt {
	score, public, loss, fuel := 0.25, 0.5, 0.125, int64(1234)
	sub := arena.Submission{ID: "6985f0f1-0000-0000-0000-000000000000", Competitor: "alice", SHA256: "ab"}
	ch := arena.Challenge{Slug: "opt", Kind: "optimizer", Params: json.RawMessage(`{"seeds":[1]}`),
		Limits: arena.DefaultLimits(), Rules: arena.DefaultRules()}
	ev := arena.Evaluation{Status: arena.StatusScored, Score: &score, PublicScore: &public, Round: 2, FuelUsed: &fuel, BenchmarkVersion: 2,
		Tasks: []arena.TaskResult{
			{Workload: "quadratic", Seed: 1, Loss: &loss, Score: 0.5, FuelUsed: &fuel, Log: "public log"},
			{Workload: "quadratic", Seed: 987654321, Hidden: true, Loss: &loss, Score: 0.25, FuelUsed: &fuel, Log: "hidden log"},
		}}
	return For(sub, ch, ev, "c0ffee", time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
}

func TestReceiptsLeaveOutLogsAndHiddenSeeds(t *testing.T) {
	t.Parallel()
	r := sample()
	if r.Tasks[0].Seed != 1 || r.Tasks[1].Seed != 0 || r.Tasks[0].Log != "" || r.Tasks[1].Log != "" {
		t.Errorf("tasks in the receipt: %+v", r.Tasks)
	}
	if r.Format != arena.ReceiptFormat || r.Round != 2 || r.SeedCommitment != "c0ffee" || r.HiddenSeeds != 3 || r.MeterVersion == 0 {
		t.Errorf("receipt: %+v", r)
	}
}

func TestSignAndVerify(t *testing.T) {
	t.Parallel()
	s := signer(t, 1)
	sr, err := s.Sign(sample())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(sr, s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if *got.Score != 0.25 || got.Tasks[1].Workload != "quadratic" || !got.EvaluatedAt.Equal(sample().EvaluatedAt) {
		t.Errorf("decoded %+v", got)
	}
	if sr.PublicKey != s.PublicKey() {
		t.Errorf("the receipt names key %s, signed with %s", sr.PublicKey, s.PublicKey())
	}

	tampered := sr
	tampered.Body = bytes.Replace(sr.Body, []byte(`"score":0.25`), []byte(`"score":0.95`), 1)
	if bytes.Equal(tampered.Body, sr.Body) {
		t.Fatal("the test's edit did not change the receipt")
	}
	cases := map[string]struct {
		sr  arena.SignedReceipt
		key string
	}{
		"a raised score":     {tampered, s.PublicKey()},
		"another server key": {sr, signer(t, 2).PublicKey()},
	}
	for name, c := range cases {
		if _, err := Verify(c.sr, c.key); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want a bad signature", name, err)
		}
	}
	for name, c := range map[string]struct {
		sr  arena.SignedReceipt
		key string
	}{
		"a key that is not base64":   {sr, "not base64!"},
		"a key of the wrong length":  {sr, "AAAA"},
		"a signature cut short":      {arena.SignedReceipt{Body: sr.Body, Signature: sr.Signature[:20]}, s.PublicKey()},
		"a signature that is no b64": {arena.SignedReceipt{Body: sr.Body, Signature: "%%%"}, s.PublicKey()},
	} {
		if _, err := Verify(c.sr, c.key); err == nil || errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want a malformed-input error", name, err)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("a 5-byte seed made a signer")
	}
}

// FuzzVerify: whatever a server sends back, checking it never panics, and
// nothing but the signed bytes verifies.
func FuzzVerify(f *testing.F) {
	s := signer(f, 1)
	sr, err := s.Sign(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(sr.Body), sr.Signature)
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		_, err := Verify(arena.SignedReceipt{Body: body, Signature: sig}, s.PublicKey())
		if err == nil && !bytes.Equal(body, sr.Body) {
			t.Fatalf("verified bytes the key never signed: %q", body)
		}
	})
}
