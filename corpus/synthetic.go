package corpus

import (
	"fmt"
	"sort"

	"github.com/arena-dev/arena/detmath"
)

const (
	// SyntheticMinVocab and SyntheticMaxVocab bound Synthetic's vocab.
	SyntheticMinVocab = 16
	SyntheticMaxVocab = 1 << 16
	// SyntheticMaxTokens bounds each of Synthetic's streams (512 MiB).
	SyntheticMaxTokens = 1 << 28
	// Separator is the token between synthetic documents.
	Separator = 0
)

// synthParams are the language's fixed shape; only tests change them.
type synthParams struct {
	successors int     // seeded likely successors of each token
	pTrigram   float64 // next is the successor the previous two tokens pick
	pBigram    float64 // next is a successor of the previous token, by weight
	pCopy      float64 // start copying a span from the last copyWindow tokens
	pOpen      float64 // open a bracket (depth < maxDepth)
	pClose     float64 // close the innermost bracket (depth > 0)
	pEnd       float64 // end the document: close all brackets, then Separator
	copyMin    int
	copyMax    int
	copyWindow int
	maxDepth   int
}

var defaultParams = synthParams{
	successors: 4,
	pTrigram:   0.25,
	pBigram:    0.30,
	pCopy:      0.03,
	pOpen:      0.04,
	pClose:     0.12,
	pEnd:       1.0 / 256,
	copyMin:    4,
	copyMax:    12,
	copyWindow: 24,
	maxDepth:   4,
}

// successorWeights are the cumulative odds of a token's successors 0..3.
var successorWeights = [4]float64{0.4, 0.7, 0.9, 1}

type language struct {
	synthParams
	vocab    int
	open     []uint16 // bracket pair k is open[k], close[k]
	close    []uint16
	bracket  []int8   // per token: k+1 for open k, -(k+1) for close k, 0 otherwise
	byRank   []uint16 // ordinary tokens, most frequent first
	cum      []float64
	succ     []uint16 // succ[t*successors+j]
	salt     uint64
	exponent float64
}

// newLanguage builds the language seed defines: which ids are brackets,
// the Zipf exponent (1.0 to 1.2) and ranking, and every token's successors.
func newLanguage(seed uint64, vocab int, p synthParams) *language {
	r := detmath.NewRNG(seed, "corpus/synthetic/language")
	l := &language{synthParams: p, vocab: vocab, salt: r.Next(), exponent: r.Uniform(1.0, 1.2)}
	ids := make([]uint16, 0, vocab-1)
	for t := 1; t < vocab; t++ {
		ids = append(ids, uint16(t))
	}
	for i := len(ids) - 1; i > 0; i-- { // Fisher-Yates
		j := r.Intn(i + 1)
		ids[i], ids[j] = ids[j], ids[i]
	}
	pairs := min(4, max(1, vocab/32))
	l.bracket = make([]int8, vocab)
	for k := range pairs {
		o, c := ids[2*k], ids[2*k+1]
		l.open, l.close = append(l.open, o), append(l.close, c)
		l.bracket[o], l.bracket[c] = int8(k+1), -int8(k+1)
	}
	l.byRank = ids[2*pairs:]
	l.cum = make([]float64, len(l.byRank))
	total := 0.0
	for i := range l.byRank {
		total += detmath.Exp(-float64(l.exponent * detmath.Log(float64(i+1))))
		l.cum[i] = total
	}
	l.succ = make([]uint16, vocab*p.successors)
	for i := range l.succ {
		l.succ[i] = l.zipf(r)
	}
	return l
}

// zipf draws an ordinary token from the unigram background.
func (l *language) zipf(r *detmath.RNG) uint16 {
	u := float64(r.Float64() * l.cum[len(l.cum)-1])
	i := sort.SearchFloat64s(l.cum, u) // first cum >= u
	if i < len(l.cum) && l.cum[i] == u {
		i++ // u is in [cum[i-1], cum[i])
	}
	return l.byRank[min(i, len(l.cum)-1)]
}

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// generate writes n tokens of one stream. The stream does not depend on n
// beyond its length: a longer call extends a shorter one.
func (l *language) generate(r *detmath.RNG, n int) []uint16 {
	out := make([]uint16, 0, n)
	stack := make([]int8, 0, l.maxDepth)
	docStart := 0
	ending := false
	copySrc, copyLeft := 0, 0
	for len(out) < n {
		pos := len(out)
		if ending {
			if len(stack) > 0 {
				out = append(out, l.close[stack[len(stack)-1]])
				stack = stack[:len(stack)-1]
				continue
			}
			out = append(out, Separator)
			ending, docStart, copyLeft = false, pos+1, 0
			continue
		}
		if copyLeft > 0 {
			t := out[copySrc]
			if l.push(&stack, t) {
				out = append(out, t)
				copySrc++
				copyLeft--
				continue
			}
			copyLeft = 0 // a bracket that does not fit here ends the copy
		}
		u := r.Float64()
		switch {
		case u < l.pEnd:
			ending = true
			continue
		case u < l.pEnd+l.pCopy:
			span := l.copyMin + r.Intn(l.copyMax-l.copyMin+1)
			back := span + r.Intn(l.copyWindow-span+1)
			if pos-back >= docStart {
				copySrc, copyLeft = pos-back, span
				continue
			}
		case u < l.pEnd+l.pCopy+l.pOpen:
			if len(stack) < l.maxDepth {
				k := r.Intn(len(l.open))
				out = append(out, l.open[k])
				stack = append(stack, int8(k))
				continue
			}
		case u < l.pEnd+l.pCopy+l.pOpen+l.pClose:
			if len(stack) > 0 {
				out = append(out, l.close[stack[len(stack)-1]])
				stack = stack[:len(stack)-1]
				continue
			}
		}
		out = append(out, l.ordinary(r, out))
	}
	return out
}

// push applies a copied token to the bracket stack, reporting whether it
// may be emitted: an open needs room, a close must match the innermost.
func (l *language) push(stack *[]int8, t uint16) bool {
	b := l.bracket[t]
	switch {
	case t == Separator:
		return false
	case b > 0:
		if len(*stack) >= l.maxDepth {
			return false
		}
		*stack = append(*stack, b-1)
	case b < 0:
		s := *stack
		if len(s) == 0 || s[len(s)-1] != -b-1 {
			return false
		}
		*stack = s[:len(s)-1]
	}
	return true
}

// ordinary draws the next non-bracket token from the local n-gram
// preferences mixed with the Zipfian background.
func (l *language) ordinary(r *detmath.RNG, out []uint16) uint16 {
	v := r.Float64()
	n := len(out)
	k := l.successors
	switch {
	case n >= 2 && v < l.pTrigram:
		a, b := uint64(out[n-2]), uint64(out[n-1])
		h := mix(l.salt ^ a<<32 ^ b)
		return l.succ[int(b)*k+int(h%uint64(k))]
	case n >= 1 && v < l.pTrigram+l.pBigram:
		w := r.Float64()
		j := 0
		for j < k-1 && w >= successorWeights[j] {
			j++
		}
		return l.succ[int(out[n-1])*k+j]
	}
	return l.zipf(r)
}

// Synthetic is a train and a held-out stream, trainTokens and
// heldOutTokens long, of the synthetic language seed defines over vocab
// tokens. The two streams are independent samples of the same language.
// Deterministic in all four arguments; a longer stream extends a shorter.
func Synthetic(seed uint64, vocab int, trainTokens, heldOutTokens int) (train, heldOut []uint16, err error) {
	if vocab < SyntheticMinVocab || vocab > SyntheticMaxVocab {
		return nil, nil, fmt.Errorf("corpus: synthetic vocab %d outside [%d, %d]", vocab, SyntheticMinVocab, SyntheticMaxVocab)
	}
	for _, n := range []int{trainTokens, heldOutTokens} {
		if n < 0 || n > SyntheticMaxTokens {
			return nil, nil, fmt.Errorf("corpus: synthetic stream of %d tokens outside [0, %d]", n, SyntheticMaxTokens)
		}
	}
	l := newLanguage(seed, vocab, defaultParams)
	train = l.generate(detmath.NewRNG(seed, "corpus/synthetic/train"), trainTokens)
	heldOut = l.generate(detmath.NewRNG(seed, "corpus/synthetic/heldout"), heldOutTokens)
	return train, heldOut, nil
}
