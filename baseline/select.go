package baseline

import "math"

// Largest returns the indices of the k entries of v of largest magnitude,
// largest first; ties go to the lower index, so the choice is the same
// everywhere. It keeps a k-entry min-heap while it scans v (Williams 1964's
// binary heap), O(len(v)·log k) comparisons, then sorts the k by
// heapsort. The scan makes no call for an entry that does not enter the
// heap, which is most of them: calls are what a Go-built guest pays most
// fuel for. into must have room for k indices; the result is into[:k].
func Largest(v []float64, k int, into []int) []int {
	k = min(k, len(v))
	h := into[:0]
	if k == 0 {
		return h
	}
	for i := range v[:k] {
		h = append(h, i)
		siftUp(v, h, i)
	}
	// The heap's root is its weakest entry: the smallest magnitude, and
	// of those the highest index. A later entry beats it only with a
	// larger magnitude.
	root := math.Abs(v[h[0]])
	for i := k; i < len(v); i++ {
		if a := math.Abs(v[i]); a > root {
			h[0] = i
			siftDown(v, h, 0)
			root = math.Abs(v[h[0]])
		}
	}
	// Heapsort: move the weakest to the back until the front holds the
	// strongest, so h ends strongest first.
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		siftDown(v, h[:end], 0)
	}
	return h
}

// weaker reports whether entry i of v ranks below entry j: a smaller
// magnitude, or the same magnitude at a higher index.
func weaker(v []float64, i, j int) bool {
	a, b := math.Abs(v[i]), math.Abs(v[j])
	return a < b || (a == b && i > j)
}

// siftUp restores the min-heap h (by weaker) after h[j] was set.
func siftUp(v []float64, h []int, j int) {
	for j > 0 {
		p := (j - 1) / 2
		if !weaker(v, h[j], h[p]) {
			return
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
}

// siftDown restores the min-heap h (by weaker) after h[i] was set.
func siftDown(v []float64, h []int, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && weaker(v, h[c+1], h[c]) {
			c++
		}
		if !weaker(v, h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
