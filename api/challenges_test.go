package api

import (
	"encoding/json"
	"testing"

	"github.com/arena-dev/arena"
)

// FuzzNewChallenge: whatever an admin sends, defining a challenge never
// panics, refuses with an invalid error, or yields a challenge whose
// limits and rules hold and whose params are normalized.
func FuzzNewChallenge(f *testing.F) {
	for _, seed := range []string{
		`{"slug":"opt","kind":"optimizer"}`,
		`{"slug":"lr","kind":"lr_schedule","params":{"steps":50},"rules":{"hidden_seeds":0,"round_hours":24}}`,
		`{"slug":"gc","kind":"grad_compression","limits":{"fuel_per_task":1000000},"rules":{"closes_at":"2030-01-01T00:00:00Z"}}`,
		`{"slug":"ac","kind":"activation_compression","params":{"tensors":2,"seeds":[1,2]}}`,
		`{"slug":"x","kind":"optimizer","params":{"dim":-1}}`,
		`{"slug":"","kind":""}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec arena.ChallengeSpec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		c, err := NewChallenge(spec)
		if err != nil {
			if arena.ErrorCode(err) != arena.EINVALID {
				t.Fatalf("refused with %v, want an invalid error", err)
			}
			return
		}
		if err := c.Limits.Validate(); err != nil {
			t.Fatalf("accepted limits that do not hold: %v", err)
		}
		if err := c.Rules.Validate(); err != nil {
			t.Fatalf("accepted rules that do not hold: %v", err)
		}
		// Normalized params define the same challenge again.
		again, err := NewChallenge(arena.ChallengeSpec{Slug: c.Slug, Kind: c.Kind, Params: c.Params})
		if err != nil || string(again.Params) != string(c.Params) {
			t.Fatalf("normalized params %s do not round-trip: %s, %v", c.Params, again.Params, err)
		}
	})
}
