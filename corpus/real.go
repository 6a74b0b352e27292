package corpus

import (
	_ "embed"
	"fmt"
	"slices"
	"sync"

	"github.com/arena-dev/arena/corpus/internal/bpe"
)

var (
	//go:embed data/go.txt
	goText string
	//go:embed data/tokenizer.txt
	tokenizerText string
)

// heldOutStart is the byte offset in go.txt of the first held-out file,
// as SOURCE.md records it: train is goText[:heldOutStart].
const heldOutStart = 1212501

const (
	// MaxVocab is the full tokenizer: 97 bytes and 415 merges.
	MaxVocab = bpe.MaxVocab
	// MinVocab is the smallest vocabulary the real corpus accepts: the
	// 97-byte base alphabet (tab, newline and printable ASCII) and one merge.
	MinVocab = 98
)

var tokenizer = sync.OnceValue(func() *bpe.Tokenizer {
	t, err := bpe.Parse(tokenizerText)
	if err != nil {
		panic("corpus: embedded tokenizer: " + err.Error())
	}
	if t.Size() != MaxVocab || len(t.Base)+1 != MinVocab {
		panic("corpus: embedded tokenizer does not match MinVocab and MaxVocab")
	}
	return t
})

func checkVocab(vocab int) error {
	if vocab < MinVocab || vocab > MaxVocab {
		return fmt.Errorf("corpus: vocab %d outside [%d, %d]", vocab, MinVocab, MaxVocab)
	}
	return nil
}

// Encode cuts text into tokens of the vocab-token tokenizer. Every byte
// of text must be in the alphabet (tab, newline, printable ASCII). Each
// distinct chunk is encoded once per call, which makes the whole corpus
// take well under a second.
func Encode(text string, vocab int) ([]uint16, error) {
	if err := checkVocab(vocab); err != nil {
		return nil, err
	}
	toks, err := tokenizer().Encode(text, vocab)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return toks, nil
}

// Decode is the text of tokens; each must be below vocab.
func Decode(tokens []uint16, vocab int) (string, error) {
	if err := checkVocab(vocab); err != nil {
		return "", err
	}
	s, err := tokenizer().Decode(tokens, vocab)
	if err != nil {
		return "", fmt.Errorf("corpus: %w", err)
	}
	return s, nil
}

type realStreams struct {
	once           sync.Once
	train, heldOut []uint16
	err            error
}

var (
	realMu    sync.Mutex
	realCache = map[int]*realStreams{}
)

// Real is the real corpus's train and held-out token streams at vocab
// tokens. They are computed once per vocab and shared: callers must not
// modify them. Safe for concurrent use.
func Real(vocab int) (train, heldOut []uint16, err error) {
	if err := checkVocab(vocab); err != nil {
		return nil, nil, err
	}
	realMu.Lock()
	s := realCache[vocab]
	if s == nil {
		s = &realStreams{}
		realCache[vocab] = s
	}
	realMu.Unlock()
	s.once.Do(func() {
		if s.train, s.err = Encode(goText[:heldOutStart], vocab); s.err == nil {
			s.heldOut, s.err = Encode(goText[heldOutStart:], vocab)
		}
		// Clipped, so a caller's append copies instead of writing into
		// spare capacity that every caller shares.
		s.train, s.heldOut = slices.Clip(s.train), slices.Clip(s.heldOut)
	})
	return s.train, s.heldOut, s.err
}
