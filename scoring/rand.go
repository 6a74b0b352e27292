package scoring

import "hash/fnv"

// rng is SplitMix64: tiny, fast, and fully specified here, so a benchmark's
// data never changes with the Go version (math/rand makes no such promise).
type rng struct{ state uint64 }

// newRNG derives an independent stream from a task seed and a purpose.
func newRNG(seed uint64, purpose string) *rng {
	h := fnv.New64a()
	_, _ = h.Write([]byte(purpose))
	r := &rng{state: seed ^ h.Sum64()}
	r.next() // decorrelate nearby seeds
	return r
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float64 is uniform in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) * (1.0 / (1 << 53)) }

// uniform is uniform in [lo, hi).
func (r *rng) uniform(lo, hi float64) float64 { return lo + float64((hi-lo)*r.float64()) }

// intn is uniform in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// normal is approximately standard normal: the Irwin–Hall sum of twelve
// uniforms, which needs no transcendental functions and is bounded by ±6.
func (r *rng) normal() float64 {
	var s float64
	for range 12 {
		s += r.float64()
	}
	return s - 6
}
