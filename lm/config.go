// Package lm is the host language model under Arena's training benchmarks:
// a small decoder-only transformer (GPT-2's architecture, Radford et al.
// 2019, without biases, as in nanoGPT) with explicit forward and backward
// passes in float64. Its parameters live in one flat vector described by a
// tensor table, so a strategy sees the same structure a PyTorch trainer's
// optimizer sees. The arithmetic is portable: every product is rounded
// explicitly (no fused multiply-add), exp and tanh come from detmath, and
// every sum runs in a fixed order, so a step gives the same bits on every
// machine. The gradients are checked against PyTorch's autograd on the
// same weights (testdata/pytorch_golden.json, made by
// scripts/lm_reference.py) and against finite differences.
//
// Like sandbox and scoring, it imports neither Postgres nor NATS.
package lm

import (
	"fmt"

	"github.com/arena-dev/arena"
)

// Config is a model's shape.
type Config struct {
	Vocab   int `json:"vocab"`   // tokens
	Width   int `json:"width"`   // residual stream width D
	Layers  int `json:"layers"`  // transformer blocks
	Heads   int `json:"heads"`   // attention heads; Width must divide by it
	Context int `json:"context"` // sequence length T
}

// Limits on a config: large enough for a model of millions of parameters,
// small enough that a bad challenge cannot ask for more than a worker has.
const (
	MaxVocab   = 65536
	MaxWidth   = 1024
	MaxLayers  = 32
	MaxContext = 1024
	MaxParams  = 1 << 25
)

// Validate reports the first field out of range, by its JSON name.
func (c Config) Validate() error {
	switch {
	case c.Vocab < 2 || c.Vocab > MaxVocab:
		return fieldError("vocab", "must be between 2 and %d, got %d", MaxVocab, c.Vocab)
	case c.Width < 1 || c.Width > MaxWidth:
		return fieldError("width", "must be between 1 and %d, got %d", MaxWidth, c.Width)
	case c.Layers < 1 || c.Layers > MaxLayers:
		return fieldError("layers", "must be between 1 and %d, got %d", MaxLayers, c.Layers)
	case c.Heads < 1 || c.Width%c.Heads != 0:
		return fieldError("heads", "must be at least 1 and divide width %d, got %d", c.Width, c.Heads)
	case c.Context < 1 || c.Context > MaxContext:
		return fieldError("context", "must be between 1 and %d, got %d", MaxContext, c.Context)
	}
	if n := c.NumParams(); n > MaxParams {
		return fieldError("width", "the model would have %d parameters, above the limit of %d", n, MaxParams)
	}
	return nil
}

// FieldError is a config value out of range; Field is its JSON name.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// NumParams is the length of the flat parameter vector.
func (c Config) NumParams() int {
	d := c.Width
	perLayer := 2*d + 4*d*d + 8*d*d
	return c.Vocab*d + c.Context*d + c.Layers*perLayer + d + d*c.Vocab
}

// Table is the model's tensor table, in the order the tensors are stored.
// Weight matrices are stored [in × out], row-major: y = x·W for a row x.
func (c Config) Table() []arena.Tensor {
	d := c.Width
	var t []arena.Tensor
	off := 0
	add := func(name string, role arena.TensorRole, rows, cols int) {
		t = append(t, arena.Tensor{Name: name, Role: role, Rows: rows, Cols: cols, Offset: off})
		off += rows * cols
	}
	add("tok_emb", arena.TensorEmbedding, c.Vocab, d)
	add("pos_emb", arena.TensorPosition, c.Context, d)
	for l := range c.Layers {
		p := fmt.Sprintf("blocks.%d.", l)
		add(p+"norm1", arena.TensorNormGain, 1, d)
		add(p+"attn.q", arena.TensorAttnQ, d, d)
		add(p+"attn.k", arena.TensorAttnK, d, d)
		add(p+"attn.v", arena.TensorAttnV, d, d)
		add(p+"attn.o", arena.TensorAttnO, d, d)
		add(p+"norm2", arena.TensorNormGain, 1, d)
		add(p+"mlp.in", arena.TensorMLPIn, d, 4*d)
		add(p+"mlp.out", arena.TensorMLPOut, 4*d, d)
	}
	add("norm_f", arena.TensorNormGain, 1, d)
	add("head", arena.TensorHead, d, c.Vocab)
	return t
}

// DefaultConfig is the benchmarks' default model: 10,832 parameters. The
// optimizer and lr_schedule kinds train it with the real corpus's whole
// tokenizer, vocab 512 (23,120 parameters; scoring.DefaultOptimizerParams).
// Small, because the budget of a default evaluation (a minute on two
// cores for five tasks) buys about 600k training tokens a task (300 steps of 2,048), and a run
// must see enough tokens per parameter to get past its early phase. In
// that phase the embeddings and head learn token statistics alone, the
// blocks barely help, and the published orderings of optimizers and
// schedules do not hold (decay does not beat a constant rate; Muon looks
// more than twice as fast as AdamW). At 57 tokens a parameter (27 at
// vocab 512, whose extra parameters are all embedding and head rows),
// about Chinchilla's ratio (Hoffmann et al. 2022) and beyond, they do;
// wider models are a parameter away, and docs/tuning.md says what they
// showed.
func DefaultConfig() Config {
	return Config{Vocab: 128, Width: 16, Layers: 2, Heads: 2, Context: 32}
}

// DefaultBatch is the benchmarks' default batch, in sequences: 2,048
// tokens a step, so the optimizer's own cost per step stays small next to
// the model's, as in real training (Muon's Newton–Schulz iterations cost
// the same per step whatever the batch).
const DefaultBatch = 64
