package scoring

import (
	"errors"
	"fmt"
	"math"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/corpus"
	"github.com/arena-dev/arena/detmath"
	"github.com/arena-dev/arena/lm"
)

// LMWorkload is the transformer language model workload, on which the
// optimizer and lr_schedule kinds train by default.
const LMWorkload = "lm"

// Corpora the LM trains on: the shipped Go source tokenized by the
// committed BPE, or a seeded synthetic language that hidden seeds vary.
const (
	CorpusReal      = "real"
	CorpusSynthetic = "synthetic"
)

// LMParams are the language-model workload's parameters.
type LMParams struct {
	Corpus    string `json:"corpus"`     // real or synthetic
	Vocab     int    `json:"vocab"`      // tokens; for the real corpus at most corpus.MaxVocab
	Width     int    `json:"width"`      // residual width
	Layers    int    `json:"layers"`     // transformer blocks
	Heads     int    `json:"heads"`      // attention heads
	Context   int    `json:"context"`    // sequence length
	Batch     int    `json:"batch"`      // sequences per step
	EvalEvery int    `json:"eval_every"` // steps between held-out evaluations; 0: steps/30, about 30 points a curve
	EvalSeqs  int    `json:"eval_sequences"`
}

// DefaultLMParams is the default LM workload: lm.DefaultConfig (10,832
// parameters, two blocks) on the real corpus. The optimizer and
// lr_schedule kinds train a larger vocabulary by default
// (trainingLMParams).
func DefaultLMParams() LMParams {
	c := lm.DefaultConfig()
	return LMParams{Corpus: CorpusReal, Vocab: c.Vocab, Width: c.Width, Layers: c.Layers, Heads: c.Heads,
		Context: c.Context, Batch: lm.DefaultBatch, EvalSeqs: 32}
}

func (p LMParams) config() lm.Config {
	return lm.Config{Vocab: p.Vocab, Width: p.Width, Layers: p.Layers, Heads: p.Heads, Context: p.Context}
}

// normalize fills in the defaults that depend on the run's length.
func (p *LMParams) normalize(steps int) {
	if p.EvalEvery == 0 {
		p.EvalEvery = max(1, steps/30)
	}
}

// validate checks the LM parameters for a run of steps steps.
func (p LMParams) validate(steps int) error {
	switch p.Corpus {
	case CorpusReal:
		if p.Vocab < corpus.MinVocab || p.Vocab > corpus.MaxVocab {
			return badParam("vocab", "the real corpus's tokenizer has %d to %d tokens, got %d", corpus.MinVocab, corpus.MaxVocab, p.Vocab)
		}
	case CorpusSynthetic:
		if p.Vocab < 16 || p.Vocab > 4096 {
			return badParam("vocab", "the synthetic language has 16 to 4096 tokens, got %d", p.Vocab)
		}
	default:
		return badParam("corpus", "must be %q or %q, got %q", CorpusReal, CorpusSynthetic, p.Corpus)
	}
	if err := p.config().Validate(); err != nil {
		if fe := (*lm.FieldError)(nil); errors.As(err, &fe) {
			return badParam(fe.Field, "%s", fe.Message)
		}
		return badParam("width", "%v", err)
	}
	if p.Context > 512 || p.Width > 512 || p.config().NumParams() > 4_000_000 {
		return badParam("width", "a benchmark model may have at most 4,000,000 parameters, width and context at most 512; this one has %d", p.config().NumParams())
	}
	if p.Batch < 1 || p.Batch > 256 {
		return badParam("batch", "must be between 1 and 256, got %d", p.Batch)
	}
	if p.EvalEvery < 1 || p.EvalEvery > steps {
		return badParam("eval_every", "must be between 1 and steps (%d), got %d", steps, p.EvalEvery)
	}
	if steps/p.EvalEvery > 200 {
		return badParam("eval_every", "at most 200 evaluations a run: steps/eval_every is %d", steps/p.EvalEvery)
	}
	if p.EvalSeqs < 1 || p.EvalSeqs > 1024 {
		return badParam("eval_sequences", "must be between 1 and 1024, got %d", p.EvalSeqs)
	}
	return nil
}

// lmRun is one task's training run: the model, the data and the batches.
// The data, the initialization and the order of batches depend only on
// the task, so every optimizer a task compares sees the same ones.
type lmRun struct {
	p              LMParams
	steps          int
	model          *lm.Model
	params, grads  []float64
	train, heldOut []uint16
	batch          []uint16
	evalStarts     []int
	batches        *detmath.RNG
}

// maxSyntheticTokens bounds the synthetic language's training stream:
// longer runs cycle through it.
const maxSyntheticTokens = 4 << 20

func newLMRun(p LMParams, steps int, seed uint64) (*lmRun, error) {
	cfg := p.config()
	model, err := lm.New(cfg, p.Batch)
	if err != nil {
		return nil, err
	}
	r := &lmRun{p: p, steps: steps, model: model,
		params: make([]float64, cfg.NumParams()), grads: make([]float64, cfg.NumParams()),
		batch: make([]uint16, p.Batch*(p.Context+1)), batches: detmath.NewRNG(seed, "lm/batches")}
	seqLen := p.Context + 1
	switch p.Corpus {
	case CorpusReal:
		r.train, r.heldOut, err = corpus.Real(p.Vocab)
	default:
		trainTokens := min(maxSyntheticTokens, max(1<<16, steps*p.Batch*seqLen))
		r.train, r.heldOut, err = corpus.Synthetic(seed, p.Vocab, trainTokens, p.EvalSeqs*seqLen)
	}
	if err != nil {
		return nil, fmt.Errorf("lm data: %w", err)
	}
	if len(r.train) < seqLen || len(r.heldOut) < seqLen {
		return nil, fmt.Errorf("lm data: streams of %d and %d tokens are shorter than a sequence of %d", len(r.train), len(r.heldOut), seqLen)
	}
	// The held-out set: EvalSeqs windows spread evenly over the held-out
	// stream, the same for every run of these parameters.
	last := len(r.heldOut) - seqLen
	for i := range p.EvalSeqs {
		start := 0
		if p.EvalSeqs > 1 {
			start = i * last / (p.EvalSeqs - 1)
		}
		r.evalStarts = append(r.evalStarts, start)
	}
	model.Init(r.params, detmath.NewRNG(seed, "lm/init"))
	return r, nil
}

// nextBatch draws the next step's sequences from the training stream.
func (r *lmRun) nextBatch() []uint16 {
	seqLen := r.p.Context + 1
	for b := range r.p.Batch {
		start := r.batches.Intn(len(r.train) - seqLen + 1)
		copy(r.batch[b*seqLen:(b+1)*seqLen], r.train[start:start+seqLen])
	}
	return r.batch
}

// evalLoss is the mean loss over the held-out set, in batches of the
// model's size, each weighted by its sequences.
func (r *lmRun) evalLoss() float64 {
	// The held-out loss is the model's own: a pipeline cut's codec
	// (activation_compression) is for training only.
	if after, cut := r.model.Cut(); cut != nil {
		r.model.SetCut(0, nil)
		defer r.model.SetCut(after, cut)
	}
	seqLen := r.p.Context + 1
	var total float64
	for i := 0; i < len(r.evalStarts); i += r.p.Batch {
		j := min(len(r.evalStarts), i+r.p.Batch)
		for s, start := range r.evalStarts[i:j] {
			copy(r.batch[s*seqLen:(s+1)*seqLen], r.heldOut[start:start+seqLen])
		}
		loss, err := r.model.Loss(r.params, r.batch[:(j-i)*seqLen])
		if err != nil {
			panic(err) // the run built the batch itself: a bug, not input
		}
		total += float64(loss * float64(j-i))
	}
	return total / float64(len(r.evalStarts))
}

// lmStepper is what trains the model: an optimizer that updates params in
// place, given step t's gradient and minibatch loss.
type lmStepper func(t int, params, grads []float64, loss float64) error

// evalPoint appends the held-out loss after t steps to curve, unless it
// is not finite (then ok is false: the run diverged).
func (r *lmRun) evalPoint(curve []arena.CurvePoint, t int) (_ []arena.CurvePoint, ok bool) {
	loss := r.evalLoss()
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return curve, false
	}
	return append(curve, arena.CurvePoint{Step: t, Loss: loss}), true
}

// curveRun trains for the run's steps and returns the held-out curve: the
// loss before training and after every EvalEvery steps and the last. A
// minibatch or held-out loss that is not finite ends the run; diverged
// says so, and the curve holds the finite points before it.
func (r *lmRun) curveRun(step lmStepper) (curve []arena.CurvePoint, diverged bool, err error) {
	point := func(t int) (ok bool) { curve, ok = r.evalPoint(curve, t); return ok }
	if !point(0) {
		return curve, true, nil
	}
	for t := range r.steps {
		loss, err := r.model.LossGrad(r.params, r.grads, r.nextBatch())
		if err != nil {
			return nil, false, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return curve, true, nil
		}
		if err := step(t, r.params, r.grads, loss); err != nil {
			return nil, false, err
		}
		if done := t + 1; done%r.p.EvalEvery == 0 || done == r.steps {
			if !point(done) {
				return curve, true, nil
			}
		}
	}
	return curve, false, nil
}
