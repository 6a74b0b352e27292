package corpus

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/arena-dev/arena/detmath"
)

func TestSyntheticDeterministic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		seed  uint64
		vocab int
	}{{1, 256}, {2, 16}, {3, 17}, {4, 1000}, {5, SyntheticMaxVocab}} {
		t.Run(fmt.Sprint(c.seed, "/", c.vocab), func(t *testing.T) {
			t.Parallel()
			a, ah, err := Synthetic(c.seed, c.vocab, 20000, 5000)
			if err != nil {
				t.Fatal(err)
			}
			b, bh, _ := Synthetic(c.seed, c.vocab, 20000, 5000)
			if !slices.Equal(a, b) || !slices.Equal(ah, bh) {
				t.Fatal("same arguments, different streams")
			}
			if len(a) != 20000 || len(ah) != 5000 {
				t.Fatalf("lengths %d, %d", len(a), len(ah))
			}
			short, shortH, _ := Synthetic(c.seed, c.vocab, 777, 33)
			if !slices.Equal(short, a[:777]) || !slices.Equal(shortH, ah[:33]) {
				t.Fatal("a shorter stream is not a prefix of a longer one")
			}
			if slices.Equal(a[:5000], ah) {
				t.Fatal("held-out repeats train")
			}
			for _, s := range [][]uint16{a, ah} {
				if i := slices.IndexFunc(s, func(x uint16) bool { return int(x) >= c.vocab }); i >= 0 {
					t.Fatalf("token %d at %d is not below %d", s[i], i, c.vocab)
				}
			}
		})
	}
}

func TestSyntheticBounds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ vocab, train, held int }{
		{15, 10, 10}, {SyntheticMaxVocab + 1, 10, 10}, {0, 0, 0},
		{256, -1, 10}, {256, 10, -1}, {256, SyntheticMaxTokens + 1, 0},
	} {
		if _, _, err := Synthetic(1, c.vocab, c.train, c.held); err == nil {
			t.Errorf("Synthetic(1, %d, %d, %d): no error", c.vocab, c.train, c.held)
		}
	}
	if a, b, err := Synthetic(1, 16, 0, 0); err != nil || len(a)+len(b) != 0 {
		t.Errorf("empty streams: %v", err)
	}
}

// ranking is the tokens in order of frequency, ties by id.
func ranking(s []uint16, vocab int) []int {
	n := make([]int, vocab)
	for _, x := range s {
		n[x]++
	}
	ids := make([]int, vocab)
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(i, j int) bool { return n[ids[i]] > n[ids[j]] })
	return ids
}

// The seed picks the language, not only the sample.
func TestSyntheticSeedsDiffer(t *testing.T) {
	t.Parallel()
	const vocab = 256
	a, ah, _ := Synthetic(1, vocab, 100000, 100000)
	b, _, _ := Synthetic(2, vocab, 100000, 0)
	ra, rah, rb := ranking(a, vocab)[:10], ranking(ah, vocab)[:10], ranking(b, vocab)[:10]
	if slices.Equal(ra[1:], rb[1:]) {
		t.Fatalf("seeds 1 and 2 rank the same tokens first: %v", ra)
	}
	// The top of the ranking is a property of the language: train and
	// held-out agree on the most frequent few.
	if !slices.Equal(ra[:4], rah[:4]) {
		t.Fatalf("train ranks %v first, held-out %v", ra[:4], rah[:4])
	}
	t.Logf("seed 1 top tokens %v; seed 2 %v", ra, rb)
}

func TestSyntheticZipf(t *testing.T) {
	t.Parallel()
	for _, vocab := range []int{256, 4096} {
		s, _, _ := Synthetic(7, vocab, 400000, 0)
		slope := zipfSlope(s, 2, 200)
		t.Logf("vocab %d: rank-frequency slope %.3f over ranks 2..200", vocab, slope)
		if slope > -0.7 || slope < -1.6 {
			t.Errorf("vocab %d: slope %.3f outside [-1.6, -0.7]", vocab, slope)
		}
	}
}

// Brackets nest and close in order, within their document.
func TestSyntheticBrackets(t *testing.T) {
	t.Parallel()
	for _, vocab := range []int{16, 256, 5000} {
		s, _, _ := Synthetic(3, vocab, 200000, 0)
		l := newLanguage(3, vocab, defaultParams)
		var stack []int8
		opens, deepest, docs := 0, 0, 0
		for i, x := range s {
			b := l.bracket[x]
			switch {
			case x == Separator:
				if len(stack) > 0 {
					t.Fatalf("vocab %d: document ends at %d with %d brackets open", vocab, i, len(stack))
				}
				docs++
			case b > 0:
				stack = append(stack, b)
				opens++
				deepest = max(deepest, len(stack))
			case b < 0:
				if len(stack) == 0 || stack[len(stack)-1] != -b {
					t.Fatalf("vocab %d: token %d at %d closes a bracket that is not innermost", vocab, x, i)
				}
				stack = stack[:len(stack)-1]
			}
		}
		if deepest > defaultParams.maxDepth || deepest < 3 || opens < len(s)/50 || docs < len(s)/1000 {
			t.Fatalf("vocab %d: %d opens, depth %d, %d documents", vocab, opens, deepest, docs)
		}
		t.Logf("vocab %d: %.1f%% of tokens open a bracket, depth up to %d, %d documents", vocab, 100*float64(opens)/float64(len(s)), deepest, docs)
	}
}

// copyHits counts positions that a copy predictor gets right: find the
// latest earlier place in the window where the last two tokens occurred,
// and guess the token that followed them there.
func copyHits(s []uint16, window int) (hits, guesses int) {
	for i := 2; i < len(s); i++ {
		for j := i - 1; j >= 2 && j >= i-window; j-- {
			if s[j-1] == s[i-1] && s[j-2] == s[i-2] {
				guesses++
				if s[j] == s[i] {
					hits++
				}
				break
			}
		}
	}
	return hits, guesses
}

// Copied spans are there for an induction head to find: the copy
// predictor is right far more often than without them.
func TestSyntheticCopies(t *testing.T) {
	t.Parallel()
	const vocab, n = 256, 200000
	_, held, _ := Synthetic(11, vocab, 0, n)
	noCopy := defaultParams
	noCopy.pCopy = 0
	control := newLanguage(11, vocab, noCopy).generate(detmath.NewRNG(11, "corpus/synthetic/heldout"), n)
	h, g := copyHits(held, defaultParams.copyWindow)
	ch, cg := copyHits(control, defaultParams.copyWindow)
	counts := make([]int, vocab)
	for _, x := range held {
		counts[x]++
	}
	chance := float64(slices.Max(counts)) / n
	t.Logf("copy predictor: %.1f%% of all tokens right (%.1f%% of %d guesses); without copies %.1f%% (%.1f%% of %d); most frequent token %.1f%%",
		100*float64(h)/n, 100*float64(h)/float64(g), g, 100*float64(ch)/n, 100*float64(ch)/float64(cg), cg, 100*chance)
	if float64(h)/n < 0.10 || h < 4*ch || float64(h)/float64(g) < 2.5*chance {
		t.Fatal("copied spans are too rare or too unpredictable")
	}
}

func BenchmarkSynthetic(b *testing.B) {
	const n = 1 << 20
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Synthetic(1, 512, n, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mtokens/s")
}
