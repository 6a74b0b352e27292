package scoring

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/arena-dev/arena"
)

// HiddenSeeds derives the n hidden seeds of a challenge's round from the
// server's secret. This is the one place hidden seeds come from: the
// workers call it, and the API reveals them once the round closes, so
// anyone can recompute the round's official scores. Seeds are distinct, below 2^63 (as public seeds
// are), and independent across challenges and rounds.
func HiddenSeeds(secret []byte, challenge string, round, n int) []uint64 {
	seeds := make([]uint64, 0, n)
	seen := map[uint64]bool{}
	for i := 0; len(seeds) < n; i++ {
		mac := hmac.New(sha256.New, secret)
		fmt.Fprintf(mac, "arena hidden seed v1\x00%s\x00%d\x00%d", challenge, round, i)
		s := binary.BigEndian.Uint64(mac.Sum(nil)) & math.MaxInt64
		if !seen[s] {
			seen[s] = true
			seeds = append(seeds, s)
		}
	}
	return seeds
}

// RoundSalt derives the salt of a round's seed commitment from the
// server's secret. Published with the seeds when the round closes, it
// keeps the commitment from being brute-forced while the round is open
// (a single 63-bit seed would otherwise be within reach).
func RoundSalt(secret []byte, challenge string, round int) []byte {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "arena round salt v1\x00%s\x00%d", challenge, round)
	return mac.Sum(nil)
}

// SeedCommitment is what a round publishes when it opens: the hex SHA-256
// of the salt followed by each hidden seed as 8 big-endian bytes. Once
// the round closes and salt and seeds are revealed, anyone can check
// them against it.
func SeedCommitment(salt []byte, seeds []uint64) string {
	h := sha256.New()
	h.Write(salt)
	var b [8]byte
	for _, s := range seeds {
		binary.BigEndian.PutUint64(b[:], s)
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RoundSeeds returns a round's n hidden seeds and the commitment to them
// that the round publishes ("" when there are none).
func RoundSeeds(secret []byte, challenge string, round, n int) (seeds []uint64, commitment string) {
	if n == 0 {
		return nil, "" // official scores use the public seeds: nothing to commit to
	}
	seeds = HiddenSeeds(secret, challenge, round, n)
	return seeds, SeedCommitment(RoundSalt(secret, challenge, round), seeds)
}

// DescribeRound fills in a round's seed commitment and, once the round
// has closed, the salt and hidden seeds that open it.
func DescribeRound(secret []byte, challenge string, r *arena.Round) {
	if r.HiddenSeeds == 0 {
		return
	}
	var seeds []uint64
	seeds, r.Commitment = RoundSeeds(secret, challenge, r.Round, r.HiddenSeeds)
	if r.ClosedAt != nil {
		salt := RoundSalt(secret, challenge, r.Round)
		r.Salt, r.Seeds = hex.EncodeToString(salt), seeds
	}
}
