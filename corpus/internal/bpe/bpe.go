// Package bpe is the corpus tokenizer: byte-pair encoding over chunks of Go
// source, trained once and committed as text.
package bpe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// class is a byte's role in chunking.
type class uint8

const (
	punct class = iota // anything else, one run per chunk
	word               // letters, digits, underscore
	space
	tab
	newline
)

var classes = func() (c [256]class) {
	for b := 0; b < 256; b++ {
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '_':
			c[b] = word
		case b == ' ':
			c[b] = space
		case b == '\t':
			c[b] = tab
		case b == '\n':
			c[b] = newline
		}
	}
	return c
}()

// Chunks calls f with each chunk of text, in order; they concatenate to
// text. Merges never cross chunks, as in GPT-2, so tokens stay meaningful
// pieces of Go rather than spanning token boundaries of the language:
//
//   - an identifier or number run ([A-Za-z0-9_]+), with at most one
//     leading space;
//   - a run of other punctuation (":=", "//", "})"), with at most one
//     leading space;
//   - a newline with the tabs that indent the next line, so a line start
//     at any depth can become one token;
//   - a run of tabs elsewhere;
//   - a run of spaces, less the last one when a word or punctuation
//     follows (it travels with that chunk).
func Chunks(text string, f func(chunk string)) {
	n := len(text)
	for i := 0; i < n; {
		j := i + 1
		switch c := classes[text[i]]; c {
		case newline:
			for j < n && text[j] == '\t' {
				j++
			}
		case tab:
			for j < n && text[j] == '\t' {
				j++
			}
		case space:
			for j < n && text[j] == ' ' {
				j++
			}
			if j < n {
				if k := classes[text[j]]; k == word || k == punct {
					if j-1 > i {
						f(text[i : j-1])
						i = j - 1
					}
					j = runEnd(text, j, k)
				}
			}
		default:
			j = runEnd(text, i, c)
		}
		f(text[i:j])
		i = j
	}
}

func runEnd(text string, j int, c class) int {
	for j < len(text) && classes[text[j]] == c {
		j++
	}
	return j
}

// Tokenizer is a base alphabet (token i is the byte Base[i]) and ordered
// merges: token len(Base)+m is Merges[m][0] followed by Merges[m][1].
type Tokenizer struct {
	Base   []byte
	Merges [][2]uint16

	byteID [256]int16 // token of each base byte, -1 if absent
	rank   []int32    // rank[a*size+b] = merge index, -1 if none
	size   int        // len(Base) + len(Merges)
	expand [][]byte   // bytes of each token
}

// New checks a base alphabet and merge list and prepares them for use.
func New(base []byte, merges [][2]uint16) (*Tokenizer, error) {
	t := &Tokenizer{Base: base, Merges: merges, size: len(base) + len(merges)}
	if len(base) == 0 {
		return nil, errors.New("bpe: empty alphabet")
	}
	if t.size > 1<<16 {
		return nil, errors.New("bpe: more than 65536 tokens")
	}
	for i := range t.byteID {
		t.byteID[i] = -1
	}
	t.expand = make([][]byte, t.size)
	for i, b := range base {
		if i > 0 && b <= base[i-1] {
			return nil, errors.New("bpe: alphabet not sorted and distinct")
		}
		t.byteID[b] = int16(i)
		t.expand[i] = []byte{b}
	}
	t.rank = make([]int32, t.size*t.size)
	for i := range t.rank {
		t.rank[i] = -1
	}
	for m, p := range merges {
		id := len(base) + m
		a, b := int(p[0]), int(p[1])
		if a >= id || b >= id {
			return nil, fmt.Errorf("bpe: merge %d uses a later token", m)
		}
		if t.rank[a*t.size+b] >= 0 {
			return nil, fmt.Errorf("bpe: merge %d repeats merge %d", m, t.rank[a*t.size+b])
		}
		t.rank[a*t.size+b] = int32(m)
		t.expand[id] = append(append([]byte(nil), t.expand[a]...), t.expand[b]...)
	}
	return t, nil
}

// Size is the number of tokens with every merge.
func (t *Tokenizer) Size() int { return t.size }

// Token returns the bytes of token id.
func (t *Tokenizer) Token(id int) string { return string(t.expand[id]) }

// Encode cuts text into tokens below vocab, using the first
// vocab-len(Base) merges. Each distinct chunk is encoded once.
func (t *Tokenizer) Encode(text string, vocab int) ([]uint16, error) {
	if vocab < len(t.Base) || vocab > t.size {
		return nil, fmt.Errorf("bpe: vocab %d outside [%d, %d]", vocab, len(t.Base), t.size)
	}
	for i := 0; i < len(text); i++ {
		if t.byteID[text[i]] < 0 {
			return nil, fmt.Errorf("bpe: byte %#02x at offset %d is not in the alphabet", text[i], i)
		}
	}
	merges := int32(vocab - len(t.Base))
	out := make([]uint16, 0, len(text)/3+16)
	memo := make(map[string][]uint16)
	var buf []uint16
	Chunks(text, func(c string) {
		if toks, ok := memo[c]; ok {
			out = append(out, toks...)
			return
		}
		buf = t.encodeChunk(buf[:0], c, merges)
		memo[c] = append([]uint16(nil), buf...)
		out = append(out, buf...)
	})
	return out, nil
}

// encodeChunk applies the allowed merges in rank order, each to every
// occurrence left to right: the order training applied them in, so a
// training chunk comes out exactly as training left it.
func (t *Tokenizer) encodeChunk(s []uint16, c string, merges int32) []uint16 {
	for i := 0; i < len(c); i++ {
		s = append(s, uint16(t.byteID[c[i]]))
	}
	for len(s) > 1 {
		best := int32(-1)
		for i := 0; i+1 < len(s); i++ {
			r := t.rank[int(s[i])*t.size+int(s[i+1])]
			if r >= 0 && r < merges && (best < 0 || r < best) {
				best = r
			}
		}
		if best < 0 {
			break
		}
		s = mergeAll(s, t.Merges[best], uint16(len(t.Base)+int(best)))
	}
	return s
}

func mergeAll(s []uint16, p [2]uint16, id uint16) []uint16 {
	w := 0
	for r := 0; r < len(s); {
		if r+1 < len(s) && s[r] == p[0] && s[r+1] == p[1] {
			s[w] = id
			r += 2
		} else {
			s[w] = s[r]
			r++
		}
		w++
	}
	return s[:w]
}

// Decode is the text of tokens, each of which must be below vocab.
func (t *Tokenizer) Decode(tokens []uint16, vocab int) (string, error) {
	if vocab < len(t.Base) || vocab > t.size {
		return "", fmt.Errorf("bpe: vocab %d outside [%d, %d]", vocab, len(t.Base), t.size)
	}
	n := 0
	for i, id := range tokens {
		if int(id) >= vocab {
			return "", fmt.Errorf("bpe: token %d at %d is not below vocab %d", id, i, vocab)
		}
		n += len(t.expand[id])
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range tokens {
		b.Write(t.expand[id])
	}
	return b.String(), nil
}

// Train learns merges on text until the vocabulary holds maxVocab tokens
// or no pair occurs twice. Pairs are counted within each distinct chunk
// times its count; the most frequent pair wins, ties going to the lowest
// (left, right) ids. Every byte of text must be in base.
func Train(base []byte, text string, maxVocab int) (*Tokenizer, error) {
	t, err := New(base, nil)
	if err != nil {
		return nil, err
	}
	if maxVocab < len(base) || maxVocab > 1<<16 {
		return nil, fmt.Errorf("bpe: maxVocab %d outside [%d, 65536]", maxVocab, len(base))
	}
	counts := make(map[string]int)
	var order []string
	bad := -1
	Chunks(text, func(c string) {
		if _, ok := counts[c]; !ok {
			order = append(order, c)
		}
		counts[c]++
	})
	for i := 0; i < len(text) && bad < 0; i++ {
		if t.byteID[text[i]] < 0 {
			bad = i
		}
	}
	if bad >= 0 {
		return nil, fmt.Errorf("bpe: byte %#02x at offset %d is not in the alphabet", text[bad], bad)
	}
	// Chunks in order of first occurrence: deterministic, no map ranging.
	words := make([][]uint16, len(order))
	freq := make([]int64, len(order))
	for i, c := range order {
		w := make([]uint16, len(c))
		for j := 0; j < len(c); j++ {
			w[j] = uint16(t.byteID[c[j]])
		}
		words[i], freq[i] = w, int64(counts[c])
	}
	pairs := make([]int64, maxVocab*maxVocab)
	var merges [][2]uint16
	for id := len(base); id < maxVocab; id++ {
		clear(pairs[:id*maxVocab])
		for i, w := range words {
			for j := 0; j+1 < len(w); j++ {
				pairs[int(w[j])*maxVocab+int(w[j+1])] += freq[i]
			}
		}
		best, bestN := -1, int64(1)
		for k, n := range pairs[:id*maxVocab] {
			if n > bestN { // strict: the first, lowest pair keeps a tie
				best, bestN = k, n
			}
		}
		if best < 0 {
			break
		}
		p := [2]uint16{uint16(best / maxVocab), uint16(best % maxVocab)}
		merges = append(merges, p)
		for i, w := range words {
			words[i] = mergeAll(w, p, uint16(id))
		}
	}
	return New(base, merges)
}

// Format writes the tokenizer as text: comment lines start with '#'; then
// "bytes N" and N lines "id hex quoted"; then "merges M" and M lines
// "id = left right quoted", ids in order. The quoted text is for readers;
// Parse checks it.
func (t *Tokenizer) Format(header string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString("# " + line + "\n")
	}
	fmt.Fprintf(&b, "bytes %d\n", len(t.Base))
	for i, c := range t.Base {
		fmt.Fprintf(&b, "%d %02x %s\n", i, c, strconv.Quote(string(c)))
	}
	fmt.Fprintf(&b, "merges %d\n", len(t.Merges))
	for m, p := range t.Merges {
		id := len(t.Base) + m
		fmt.Fprintf(&b, "%d = %d %d %s\n", id, p[0], p[1], strconv.Quote(string(t.expand[id])))
	}
	return b.String()
}

// Parse reads what Format wrote.
func Parse(text string) (*Tokenizer, error) {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	bad := func(i int) error {
		if i < len(lines) {
			return fmt.Errorf("bpe: bad tokenizer line %q", lines[i])
		}
		return errors.New("bpe: tokenizer truncated")
	}
	i := 0
	count := func(key string) (int, error) {
		if i >= len(lines) {
			return 0, bad(i)
		}
		f := strings.Fields(lines[i])
		if len(f) != 2 || f[0] != key {
			return 0, bad(i)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 || n > 1<<16 {
			return 0, bad(i)
		}
		i++
		return n, nil
	}
	nb, err := count("bytes")
	if err != nil {
		return nil, err
	}
	var base []byte
	var quoted []string
	for k := 0; k < nb; k++ {
		if i >= len(lines) {
			return nil, bad(i)
		}
		f := strings.SplitN(lines[i], " ", 3)
		if len(f) != 3 || f[0] != strconv.Itoa(k) {
			return nil, bad(i)
		}
		v, err := strconv.ParseUint(f[1], 16, 8)
		if err != nil || len(f[1]) != 2 {
			return nil, bad(i)
		}
		base = append(base, byte(v))
		quoted = append(quoted, f[2])
		i++
	}
	nm, err := count("merges")
	if err != nil {
		return nil, err
	}
	var merges [][2]uint16
	for k := 0; k < nm; k++ {
		if i >= len(lines) {
			return nil, bad(i)
		}
		f := strings.SplitN(lines[i], " ", 5)
		if len(f) != 5 || f[0] != strconv.Itoa(nb+k) || f[1] != "=" {
			return nil, bad(i)
		}
		a, err1 := strconv.ParseUint(f[2], 10, 16)
		c, err2 := strconv.ParseUint(f[3], 10, 16)
		if err1 != nil || err2 != nil {
			return nil, bad(i)
		}
		merges = append(merges, [2]uint16{uint16(a), uint16(c)})
		quoted = append(quoted, f[4])
		i++
	}
	if i != len(lines) {
		return nil, bad(i)
	}
	t, err := New(base, merges)
	if err != nil {
		return nil, err
	}
	for id, q := range quoted {
		if q != strconv.Quote(string(t.expand[id])) {
			return nil, fmt.Errorf("bpe: token %d is %s, the file says %s", id, strconv.Quote(string(t.expand[id])), q)
		}
	}
	return t, nil
}

// MaxVocab is the size the committed tokenizer is trained to.
const MaxVocab = 512

// Header heads the committed tokenizer file.
const Header = `Byte-pair encoding of corpus/data/go.txt, trained on its train split by
go run ./corpus/internal/build (see SOURCE.md). Do not edit.
Format: "bytes N", then N lines "id hex-byte quoted-byte" (the base
alphabet in byte order); "merges M", then M lines "id = left right quoted"
(token id is token left followed by token right; quoted is its text).
A vocabulary of V tokens uses the bytes and the first V-N merges.`

// Alphabet is the sorted set of bytes occurring in text.
func Alphabet(text []byte) []byte {
	var seen [256]bool
	for _, c := range text {
		seen[c] = true
	}
	var a []byte
	for c, ok := range seen {
		if ok {
			a = append(a, byte(c))
		}
	}
	return a
}
