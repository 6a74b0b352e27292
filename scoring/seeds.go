package scoring

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// HiddenSeeds derives the n hidden seeds of a challenge's round from the
// server's secret. This is the one place hidden seeds come from: the
// workers call it, and so will a later reveal that lets anyone recompute a
// round's official scores. Seeds are distinct, below 2^63 (as public seeds
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
