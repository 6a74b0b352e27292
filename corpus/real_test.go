package corpus

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-dev/arena/corpus/internal/bpe"
	"github.com/arena-dev/arena/corpus/internal/gosrc"
	"github.com/arena-dev/arena/detmath"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, vocab := range []int{MinVocab, 200, 256, MaxVocab} {
		t.Run(fmt.Sprint(vocab), func(t *testing.T) {
			t.Parallel()
			train, held, err := Real(vocab)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				toks []uint16
				text string
			}{{"train", train, goText[:heldOutStart]}, {"held-out", held, goText[heldOutStart:]}} {
				got, err := Decode(c.toks, vocab)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.text {
					t.Fatalf("%s: decode(encode(text)) differs from the text", c.name)
				}
				if i := slices.IndexFunc(c.toks, func(x uint16) bool { return int(x) >= vocab }); i >= 0 {
					t.Fatalf("%s: token %d at %d is not below %d", c.name, c.toks[i], i, vocab)
				}
			}
			t.Logf("vocab %d: %d train and %d held-out tokens (%.2f bytes a token)",
				vocab, len(train), len(held), float64(len(goText))/float64(len(train)+len(held)))
		})
	}
}

func TestRealDeterministicAndShared(t *testing.T) {
	t.Parallel()
	const vocab = 300
	want, err := Encode(goText[:heldOutStart], vocab)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]uint16, 8)
	for i := range got {
		wg.Go(func() {
			train, _, err := Real(vocab)
			if err != nil {
				t.Error(err)
			}
			got[i] = train
		})
	}
	wg.Wait()
	for i, g := range got {
		if !slices.Equal(g, want) {
			t.Fatalf("call %d: Real differs from Encode", i)
		}
		if &g[0] != &got[0][0] {
			t.Fatalf("call %d: Real computed its stream again", i)
		}
		if cap(g) != len(g) {
			t.Fatalf("call %d: shared stream has spare capacity", i)
		}
	}
}

func TestVocabBounds(t *testing.T) {
	t.Parallel()
	want := fmt.Sprintf("[%d, %d]", MinVocab, MaxVocab)
	for _, vocab := range []int{-1, 0, 97, MinVocab - 1, MaxVocab + 1, 1 << 16} {
		if _, _, err := Real(vocab); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Real(%d): error %v, want one naming %s", vocab, err, want)
		}
		if _, err := Encode("x", vocab); err == nil {
			t.Errorf("Encode(%d): no error", vocab)
		}
		if _, err := Decode(nil, vocab); err == nil {
			t.Errorf("Decode(%d): no error", vocab)
		}
	}
	if _, err := Decode([]uint16{MinVocab}, MinVocab); err == nil {
		t.Error("Decode accepted a token equal to vocab")
	}
	if _, err := Encode("caf\u00e9", MaxVocab); err == nil {
		t.Error("Encode accepted a byte outside the alphabet")
	}
}

// The committed tokenizer is exactly what training on the train split gives.
func TestTokenizerIsTrained(t *testing.T) {
	t.Parallel()
	start := time.Now()
	tok, err := bpe.Train(bpe.Alphabet([]byte(goText)), goText[:heldOutStart], MaxVocab)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Format(bpe.Header); got != tokenizerText {
		t.Fatal("data/tokenizer.txt is not what training gives: go run ./corpus/internal/build")
	}
	if len(tok.Base)+1 != MinVocab || tok.Size() != MaxVocab {
		t.Fatalf("%d bytes, %d tokens: MinVocab or MaxVocab is stale", len(tok.Base), tok.Size())
	}
	t.Logf("trained %d merges in %v", len(tok.Merges), time.Since(start))
}

func TestSplit(t *testing.T) {
	t.Parallel()
	if !strings.HasSuffix(goText[:heldOutStart], "}\n\n") || !strings.HasPrefix(goText[heldOutStart:], "// Copyright") {
		t.Fatal("heldOutStart is not at a file boundary")
	}
	if pct := 100 * float64(len(goText)-heldOutStart) / float64(len(goText)); pct < 5 || pct > 10 {
		t.Fatalf("held-out is %.1f%% of the bytes", pct)
	}
	src, err := os.ReadFile(filepath.Join("data", "SOURCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprintf("Train is bytes [0, %d)", heldOutStart),
		fmt.Sprintf("sha256(go.txt)        = %x", sha256.Sum256([]byte(goText))),
		fmt.Sprintf("sha256(tokenizer.txt) = %x", sha256.Sum256([]byte(tokenizerText))),
	} {
		if !strings.Contains(string(src), s) {
			t.Errorf("SOURCE.md does not say %q", s)
		}
	}
}

// With the pinned Go installed, the generator recreates go.txt and LICENSE.
func TestCorpusRebuilds(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip("no go command:", err)
	}
	goroot := strings.TrimSpace(string(out))
	c, err := gosrc.Build(goroot)
	if err != nil {
		t.Skip(err)
	}
	if string(c.Text) != goText || c.HeldOutStart != heldOutStart {
		t.Fatal("data/go.txt or heldOutStart is not what the generator gives: go run ./corpus/internal/build")
	}
	lic, err := os.ReadFile(filepath.Join(goroot, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join("data", "LICENSE")); string(got) != string(lic) {
		t.Fatal("data/LICENSE is not GOROOT/LICENSE")
	}
}

// zipfSlope fits log frequency against log rank over ranks lo..hi (1-based)
// by least squares.
func zipfSlope(toks []uint16, lo, hi int) float64 {
	counts := map[uint16]int{}
	for _, x := range toks {
		counts[x]++
	}
	freq := make([]int, 0, len(counts))
	for _, n := range counts {
		freq = append(freq, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(freq)))
	hi = min(hi, len(freq))
	var sx, sy, sxx, sxy, n float64
	for r := lo; r <= hi; r++ {
		x, y := detmath.Log(float64(r)), detmath.Log(float64(freq[r-1]))
		sx, sy, sxx, sxy, n = sx+x, sy+y, sxx+float64(x*x), sxy+float64(x*y), n+1
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// The tokens keep the heavy-tailed frequencies that make Adam matter.
func TestZipf(t *testing.T) {
	t.Parallel()
	for _, vocab := range []int{256, MaxVocab} {
		train, _, err := Real(vocab)
		if err != nil {
			t.Fatal(err)
		}
		s := zipfSlope(train, 2, 200)
		t.Logf("vocab %d: rank-frequency slope %.3f over ranks 2..200", vocab, s)
		if s > -0.7 || s < -1.6 {
			t.Errorf("vocab %d: slope %.3f outside [-1.6, -0.7]", vocab, s)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	tokenizer()
	b.SetBytes(int64(len(goText)))
	for b.Loop() {
		if _, err := Encode(goText, 256); err != nil {
			b.Fatal(err)
		}
	}
}
