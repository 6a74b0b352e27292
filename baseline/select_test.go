package baseline

import (
	"math"
	"slices"
	"testing"

	"github.com/arena-dev/arena/detmath"
)

// Largest agrees with a full sort by (magnitude descending, index
// ascending), ties and all.
func TestLargestIsTheSortsPrefix(t *testing.T) {
	t.Parallel()
	rng := detmath.NewRNG(1, "largest")
	for trial := range 200 {
		n := 1 + rng.Intn(300)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.Intn(9) - 4) // many ties, zeros and signs
			if trial%2 == 1 {
				v[i] = rng.Normal()
			}
		}
		k := rng.Intn(n + 2)
		ref := make([]int, n)
		for i := range ref {
			ref[i] = i
		}
		slices.SortStableFunc(ref, func(a, b int) int {
			x, y := math.Abs(v[a]), math.Abs(v[b])
			switch {
			case x > y:
				return -1
			case x < y:
				return 1
			}
			return a - b
		})
		got := Largest(v, k, make([]int, k))
		if want := ref[:min(k, n)]; !slices.Equal(got, want) {
			t.Fatalf("trial %d: n %d k %d: %v, want %v", trial, n, k, got, want)
		}
	}
}
