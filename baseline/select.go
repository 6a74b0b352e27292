package baseline

import "math"

// Largest returns the indices of the k entries of v of largest magnitude,
// largest first; ties go to the lower index, so the choice is the same
// everywhere. It keeps a k-entry min-heap while it scans v (Williams 1964's
// binary heap), O(len(v)·log k) comparisons, then sorts the k by
// heapsort: no calls into the runtime, so it costs a guest little fuel.
// into must have room for k indices; the result is into[:k].
func Largest(v []float64, k int, into []int) []int {
	k = min(k, len(v))
	h := into[:0]
	// weaker reports whether entry i ranks below entry j: smaller
	// magnitude, or the same magnitude at a higher index.
	weaker := func(i, j int) bool {
		a, b := math.Abs(v[i]), math.Abs(v[j])
		return a < b || (a == b && i > j)
	}
	down := func(h []int, i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && weaker(h[c+1], h[c]) {
				c++
			}
			if !weaker(h[c], h[i]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	if k == 0 {
		return h
	}
	for i := range v {
		if len(h) < k {
			h = append(h, i)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !weaker(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			continue
		}
		if weaker(h[0], i) {
			h[0] = i
			down(h, 0)
		}
	}
	// Heapsort: move the weakest to the back until the front holds the
	// strongest, so h ends strongest first.
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		down(h[:end], 0)
	}
	return h
}
