package detmath

import "hash/fnv"

// RNG is SplitMix64: tiny, fast, and fully specified here, so a benchmark's
// data never changes with the Go version (math/rand makes no such promise).
type RNG struct{ state uint64 }

// NewRNG derives an independent stream from a task seed and a purpose.
func NewRNG(seed uint64, purpose string) *RNG {
	h := fnv.New64a()
	_, _ = h.Write([]byte(purpose))
	r := &RNG{state: seed ^ h.Sum64()}
	r.Next() // decorrelate nearby seeds
	return r
}

func (r *RNG) Next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 is uniform in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Next()>>11) * (1.0 / (1 << 53)) }

// Uniform is uniform in [lo, hi).
func (r *RNG) Uniform(lo, hi float64) float64 { return lo + float64((hi-lo)*r.Float64()) }

// Intn is uniform in [0, n).
func (r *RNG) Intn(n int) int { return int(r.Next() % uint64(n)) }

// Normal is approximately standard normal: the Irwin–Hall sum of twelve
// uniforms, which needs no transcendental functions and is bounded by ±6.
func (r *RNG) Normal() float64 {
	var s float64
	for range 12 {
		s += r.Float64()
	}
	return s - 6
}
