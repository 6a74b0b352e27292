// Package receipt signs evaluation receipts with the server's Ed25519 key
// and checks them, so a score can be trusted as the server's word and then
// recomputed by anyone.
package receipt

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/meter"
)

// Signer signs receipts with one key.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner derives the signing key from a 32-byte secret seed, so every
// server and worker sharing the database signs with the same key.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("receipt key seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return &Signer{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// PublicKey is the key receipts verify against, base64.
func (s *Signer) PublicKey() string {
	return base64.StdEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey))
}

// Sign encodes r and signs the bytes.
func (s *Signer) Sign(r arena.Receipt) (arena.SignedReceipt, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return arena.SignedReceipt{}, fmt.Errorf("encode receipt: %w", err)
	}
	return arena.SignedReceipt{
		Body:      body,
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, body)),
		PublicKey: s.PublicKey(),
	}, nil
}

// For writes the receipt of an evaluation of sub in ch, whose hidden
// seeds (if any) are committed to by commitment. Logs stay out (they are
// the competitor's), and so do hidden seeds and held-out curves.
func For(sub arena.Submission, ch arena.Challenge, ev arena.Evaluation, commitment string, at time.Time) arena.Receipt {
	tasks := make([]arena.TaskResult, len(ev.Tasks))
	for i, t := range ev.Tasks {
		t.Log = ""
		t.Training = t.Training.WithoutCurves() // the steps to target are the result; curves stay in the record
		if t.Hidden {
			t.Seed = 0
		}
		tasks[i] = t
	}
	return arena.Receipt{
		Format:           arena.ReceiptFormat,
		SubmissionID:     sub.ID,
		Challenge:        ch.Slug,
		Competitor:       sub.Competitor,
		ModuleSHA256:     sub.SHA256,
		Kind:             ch.Kind,
		BenchmarkVersion: ev.BenchmarkVersion,
		MeterVersion:     meter.Version,
		Params:           ch.Params,
		Limits:           ch.Limits,
		Round:            ev.Round,
		HiddenSeeds:      ch.Rules.HiddenSeeds,
		SeedCommitment:   commitment,
		Status:           ev.Status,
		Error:            ev.Error,
		Score:            ev.Score,
		PublicScore:      ev.PublicScore,
		FuelUsed:         ev.FuelUsed,
		FailedTasks:      ev.FailedTasks,
		TimedOut:         ev.TimedOut,
		Tasks:            tasks,
		EvaluatedAt:      at.UTC(),
	}
}

// ErrBadSignature says a receipt was not signed by the key it was checked
// against, or was changed after signing.
var ErrBadSignature = errors.New("the receipt's signature does not verify: it was not signed by this key, or it was altered")

// Verify checks sr's signature against publicKey (base64), which the
// caller should hold independently of the receipt (a receipt names its own
// key, which proves nothing alone), and decodes the receipt.
func Verify(sr arena.SignedReceipt, publicKey string) (arena.Receipt, error) {
	var r arena.Receipt
	pub, err := base64.StdEncoding.DecodeString(publicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return r, fmt.Errorf("public key %q is not a base64 Ed25519 key", publicKey)
	}
	sig, err := base64.StdEncoding.DecodeString(sr.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return r, fmt.Errorf("signature is not a base64 Ed25519 signature")
	}
	if !ed25519.Verify(pub, sr.Body, sig) {
		return r, ErrBadSignature
	}
	if err := json.Unmarshal(sr.Body, &r); err != nil {
		return r, fmt.Errorf("decode receipt: %w", err)
	}
	if r.Format != arena.ReceiptFormat {
		return r, fmt.Errorf("receipt format %q, this client reads %q", r.Format, arena.ReceiptFormat)
	}
	return r, nil
}
