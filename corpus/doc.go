// Package corpus supplies token streams for the host transformer language
// model: a real corpus of Go source cut by a committed tokenizer, and a
// seeded synthetic language. Everything here is pure integer work or
// float64 arithmetic through detmath, so every stream is bit-identical on
// any worker and any Go version.
//
// # Real text
//
// data/go.txt is 1.3 MB of the Go standard library's own source (Go
// 1.26.8, BSD-3-Clause, license in data/LICENSE; data/SOURCE.md lists the
// files and how go run ./corpus/internal/build recreates them). Source
// code is permissively licensed, ships inside the binary (go:embed) and,
// like natural language, has a Zipfian token distribution: a few tokens
// ("\n\t", " :=", " err") are very common and most are rare. Rare tokens
// get rare, small gradients, which is what per-parameter step sizes
// (Adam, NAdam) fix and plain SGD does not, so a benchmark on this text
// ranks optimizers as real language-model training does.
//
// The split never changes: held-out is the last whole files (7% of the
// bytes, from text/template/template.go on), train everything before.
//
// # Tokenizer
//
// data/tokenizer.txt is byte-pair encoding learned once on the train
// split: the 97 bytes that occur in go.txt, then 415 merges, 512 tokens
// (MaxVocab). Text is first cut into chunks (identifiers, punctuation
// runs, a newline with its indentation, ...; see internal/bpe) and merges
// never cross chunks. Any vocab from MinVocab to MaxVocab uses a prefix of
// the merges, itself a valid tokenizer, so the model size can vary with
// the same data.
//
// # Synthetic language
//
// Synthetic draws from a language that the seed defines entirely, so
// hidden seeds vary the data and not only its sample: a Zipfian unigram
// distribution over a seeded permutation of the ids; sparse seeded bigram
// and trigram preferences a model picks up quickly; spans copied from the
// last 24 tokens, which only an attention (induction) head can predict;
// and nested brackets closed in order, whose closing type depends on a
// token arbitrarily far back. Token 0 separates documents.
package corpus
