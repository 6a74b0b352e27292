package scoring

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

func TestHiddenSeedsComeFromTheSecretChallengeAndRound(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	base := HiddenSeeds(secret, "opt", 1, 8)
	if len(base) != 8 {
		t.Fatalf("got %d seeds, want 8", len(base))
	}
	for i, s := range base {
		if s > math.MaxInt64 || slices.Contains(base[:i], s) {
			t.Errorf("seed %d = %d: above 2^63-1 or repeated", i, s)
		}
	}
	if again := HiddenSeeds(secret, "opt", 1, 8); !slices.Equal(again, base) {
		t.Error("the same secret, challenge and round gave other seeds")
	}
	if prefix := HiddenSeeds(secret, "opt", 1, 3); !slices.Equal(prefix, base[:3]) {
		t.Error("asking for fewer seeds changed the first ones")
	}
	for name, other := range map[string][]uint64{
		"another round":     HiddenSeeds(secret, "opt", 2, 8),
		"another challenge": HiddenSeeds(secret, "opt2", 1, 8),
		"another secret":    HiddenSeeds([]byte("another secret"), "opt", 1, 8),
	} {
		for _, s := range other {
			if slices.Contains(base, s) {
				t.Errorf("%s shares seed %d", name, s)
			}
		}
	}
}

func TestSeedCommitmentBindsSaltAndSeeds(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	seeds := HiddenSeeds(secret, "opt", 1, 3)
	salt := RoundSalt(secret, "opt", 1)
	commitment := SeedCommitment(salt, seeds)
	// Pinned (computed apart, with Python's hashlib): the encoding is
	// public, so every verifier must agree on it.
	if got := SeedCommitment([]byte{1, 2}, []uint64{1, 1 << 40}); got != "c61ee529eea19282813039864a3ae0be7f56bd1d662a27403fcd012548a957d9" {
		t.Errorf("commitment of salt 0102 and seeds 1, 2^40: %s", got)
	}
	if len(salt) != 32 || len(commitment) != 64 {
		t.Fatalf("salt %d bytes, commitment %q", len(salt), commitment)
	}
	if SeedCommitment(salt, seeds) != commitment {
		t.Error("the same salt and seeds committed differently")
	}
	for name, other := range map[string]string{
		"another seed":          SeedCommitment(salt, []uint64{seeds[0], seeds[1], seeds[2] + 1}),
		"seeds reordered":       SeedCommitment(salt, []uint64{seeds[1], seeds[0], seeds[2]}),
		"one seed fewer":        SeedCommitment(salt, seeds[:2]),
		"another round's salt":  SeedCommitment(RoundSalt(secret, "opt", 2), seeds),
		"another secret's salt": SeedCommitment(RoundSalt([]byte("x"), "opt", 1), seeds),
	} {
		if other == commitment {
			t.Errorf("%s gives the same commitment", name)
		}
	}
}

func TestEvaluateScoresHiddenSeedsOfficiallyAndPublicOnesApart(t *testing.T) {
	t.Parallel()
	eng := sandbox.NewEngine(4)
	defer eng.Close(context.Background())
	b, err := New(OptimizerKind, []byte(`{"seeds":[1],"workloads":["quadratic","rosenbrock"],"steps":50}`))
	if err != nil {
		t.Fatal(err)
	}
	module := exampleModules["optimizer/signsgd"]
	public, err := Evaluate(context.Background(), eng, b, arena.DefaultLimits(), module, nil)
	if err != nil {
		t.Fatal(err)
	}
	if public.Score == nil || public.PublicScore == nil || *public.Score != *public.PublicScore {
		t.Fatalf("without hidden seeds the official score is the public one: %v %v", public.Score, public.PublicScore)
	}
	hidden := []uint64{1001, 1002}
	full, err := Evaluate(context.Background(), eng, b, arena.DefaultLimits(), module, hidden)
	if err != nil {
		t.Fatal(err)
	}
	if *full.PublicScore != *public.PublicScore {
		t.Errorf("public score %v with hidden seeds, %v without", *full.PublicScore, *public.PublicScore)
	}
	if len(full.Tasks) != 2+2*2 {
		t.Fatalf("%d tasks, want 2 public and 4 hidden", len(full.Tasks))
	}
	var sum float64
	for i, task := range full.Tasks {
		if task.Hidden != (i >= 2) {
			t.Errorf("task %d (%s seed %d): hidden %v", i, task.Workload, task.Seed, task.Hidden)
		}
		if task.Hidden {
			sum += task.Score
			if !slices.Contains(hidden, task.Seed) {
				t.Errorf("hidden task %d ran seed %d", i, task.Seed)
			}
		}
	}
	if *full.Score != sum/4 || *full.Score == *full.PublicScore {
		t.Errorf("official score %v, want the hidden tasks' mean %v (and not the public %v)", *full.Score, sum/4, *full.PublicScore)
	}
}
