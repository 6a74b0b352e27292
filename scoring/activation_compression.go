package scoring

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/detmath"
	"github.com/arena-dev/arena/lm"
	"github.com/arena-dev/arena/sandbox"
)

// ActivationCompressionKind is the pipeline-cut activation compression
// benchmark.
const ActivationCompressionKind = "activation_compression"

// activationCompressionVersion changes whenever the benchmark's behaviour does.
// v2: a pipeline cut in the host LM, trained through (lossy allowed), with
// the direction each tensor crosses in (ABI v2); the lossless track codes
// activations and gradients captured at the cut instead of synthetic
// tensor families.
const activationCompressionVersion = 2

// Element types on the wire, by name, as the dtype parameter gives them.
var dtypeNames = map[string]int{"bf16": baseline.BFloat16, "float32": baseline.Float32}

// ActivationCompressionParams configures the benchmark.
type ActivationCompressionParams struct {
	Workloads []string `json:"workloads"` // lm
	Seeds     []uint64 `json:"seeds"`     // one task per seed
	Steps     int      `json:"steps"`     // training steps per task
	LMParams
	// Cut is how many blocks the first stage holds: the cut is after
	// block Cut, 1 to layers (layers: before the final norm).
	Cut int `json:"cut"`
	// DType is the wire type the tensors cross in: bf16 or float32.
	DType string `json:"dtype"`
	// Lossless switches to the lossless track: the codec codes Tensors
	// steps' activations and gradients captured at the cut of the
	// uncompressed run, and must reproduce them byte for byte.
	Lossless bool `json:"lossless"`
	Tensors  int  `json:"tensors"`
	// MinCosine is the spot check's floor (IOTA's): a decoded tensor
	// whose cosine similarity to the original is below it fails the task.
	MinCosine float64 `json:"min_cosine"`
	// LossWeight prices training damage: each unit of relative excess
	// final held-out loss over the uncompressed run costs LossWeight.
	LossWeight float64 `json:"loss_weight"`
	// FuelWeight prices the codec's work: each fuel spent per raw byte
	// costs FuelWeight of score, which is a natural log of the ratio.
	FuelWeight float64 `json:"fuel_weight"`
}

// DefaultActivationCompressionParams are the parameters a challenge gets
// by default: the optimizer kind's default LM at half its batch, cut
// after its first block, bfloat16 on the wire. Half the batch (1,024
// tokens a step) because a codec runs twice a step on every token, and
// Go-built codecs spend tens of fuel a multiply: at 2,048 tokens a
// low-rank projection would need more than a task's default fuel.
func DefaultActivationCompressionParams() ActivationCompressionParams {
	lmp := DefaultLMParams()
	lmp.Batch = lm.DefaultBatch / 2
	lmp.EvalSeqs = 128 // the excess loss is a small difference: measure it on 4k tokens
	return ActivationCompressionParams{Workloads: []string{LMWorkload}, Seeds: []uint64{1, 2}, Steps: DefaultLMSteps,
		LMParams: lmp, Cut: 1, DType: "bf16", Tensors: 4, MinCosine: 0.9, LossWeight: 10, FuelWeight: 1e-4}
}

type activationCompressionBench struct {
	p         ActivationCompressionParams
	dtype     int
	baselines memo[Task, cutRun]
}

// cutRun is what the uncompressed run of a task measured: its held-out
// curve, and the tensors captured at the cut, which the lossless track
// and the determinism check code.
type cutRun struct {
	curve    []arena.CurvePoint
	captured []capturedTensor
	err      error
}

// capturedTensor is one tensor that crossed the cut, in the wire dtype.
type capturedTensor struct {
	step, direction int
	data            []byte
}

func parseActivationCompression(raw json.RawMessage) (Benchmark, error) {
	p := DefaultActivationCompressionParams()
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if err := validateNames("workloads", p.Workloads, []string{LMWorkload}); err != nil {
		return nil, err
	}
	if err := validateSeeds(p.Seeds); err != nil {
		return nil, err
	}
	if p.Steps < 1 || p.Steps > 100_000 {
		return nil, badParam("steps", "must be between 1 and 100000, got %d", p.Steps)
	}
	p.LMParams.normalize(p.Steps)
	if err := p.LMParams.validate(p.Steps); err != nil {
		return nil, err
	}
	dtype, ok := dtypeNames[p.DType]
	switch {
	case !ok:
		return nil, badParam("dtype", "must be \"bf16\" or \"float32\", got %q", p.DType)
	case p.Cut < 1 || p.Cut > p.Layers:
		return nil, badParam("cut", "must be between 1 and layers (%d), got %d", p.Layers, p.Cut)
	case p.Tensors < 1 || p.Tensors > 64 || p.Tensors > p.Steps:
		return nil, badParam("tensors", "must be between 1 and 64, and at most steps, got %d", p.Tensors)
	case !(p.MinCosine >= -1 && p.MinCosine <= 1):
		return nil, badParam("min_cosine", "must be between -1 and 1, got %v", p.MinCosine)
	case !(p.LossWeight >= 0 && p.LossWeight <= 1000):
		return nil, badParam("loss_weight", "must be between 0 and 1000, got %v", p.LossWeight)
	case !(p.FuelWeight >= 0 && p.FuelWeight <= 1):
		return nil, badParam("fuel_weight", "must be between 0 and 1, got %v", p.FuelWeight)
	}
	if size := p.Batch * p.Context * p.Width * baseline.ElementSize(dtype); size > 1<<26 {
		return nil, badParam("batch", "a tensor at the cut of batch × context × width elements may be at most 64 MiB, got %d bytes", size)
	}
	return &activationCompressionBench{p: p, dtype: dtype}, nil
}

func (b *activationCompressionBench) Kind() string     { return ActivationCompressionKind }
func (b *activationCompressionBench) Version() int     { return activationCompressionVersion }
func (b *activationCompressionBench) ABI() sandbox.ABI { return ActivationCompressionABI }
func (b *activationCompressionBench) Params() any      { return b.p }

// FailedTaskScore: a codec that fails a task earns nothing for it, the
// same as sending the tensors raw.
func (b *activationCompressionBench) FailedTaskScore() float64 { return 0 }

func (b *activationCompressionBench) Workloads() []string { return b.p.Workloads }
func (b *activationCompressionBench) Seeds() []uint64     { return b.p.Seeds }

// tensorBytes is the size of one tensor at the cut.
func (b *activationCompressionBench) tensorBytes() int {
	return b.p.Batch * b.p.Context * b.p.Width * baseline.ElementSize(b.dtype)
}

// captureSteps are the steps whose tensors the lossless track codes:
// Tensors of them, evenly spread inside the run.
func (b *activationCompressionBench) captureSteps() []int {
	s := make([]int, b.p.Tensors)
	for i := range s {
		s[i] = (i + 1) * b.p.Steps / (b.p.Tensors + 1)
	}
	return s
}

// wireCut is the pipeline cut as the host runs it: each tensor that
// crosses is rounded to the wire dtype, handed to code (which returns
// what the other side decoded), checked against the original's cosine
// floor and turned back into float64 in place. step counts training
// steps: one forward and one backward crossing each.
type wireCut struct {
	dtype     int
	raw       []byte    // the tensor in the wire dtype
	orig      []float64 // its values
	step      int
	minCosine float64
	code      func(step, direction, rows, cols int, raw []byte) ([]byte, error)
}

func newWireCut(dtype, size int, minCosine float64, code func(step, direction, rows, cols int, raw []byte) ([]byte, error)) *wireCut {
	return &wireCut{dtype: dtype, raw: make([]byte, size), orig: make([]float64, size/baseline.ElementSize(dtype)), minCosine: minCosine, code: code}
}

func (c *wireCut) Forward(x []float64, rows, width int) error {
	return c.cross(Forward, x, rows, width)
}

func (c *wireCut) Backward(dx []float64, rows, width int) error {
	err := c.cross(Backward, dx, rows, width)
	c.step++
	return err
}

func (c *wireCut) cross(direction int, x []float64, rows, cols int) error {
	raw, orig := c.raw[:len(x)*baseline.ElementSize(c.dtype)], c.orig[:len(x)]
	encodeWire(c.dtype, x, raw)
	decodeWire(c.dtype, raw, orig)
	got, err := c.code(c.step, direction, rows, cols, raw)
	if err != nil {
		return err
	}
	decodeWire(c.dtype, got, x)
	if cos := cosine(orig, x); !(cos >= c.minCosine) {
		return &sandbox.RunError{Func: "ac_decode", Reason: fmt.Sprintf("step %d, %s: the decoded tensor's cosine similarity to the original is %.4f, below the floor of %g", c.step, DirectionName(direction), cos, c.minCosine)}
	}
	return nil
}

// encodeWire rounds x to the wire dtype: to float32, then for bfloat16
// to nearest even, little-endian.
func encodeWire(dtype int, x []float64, out []byte) {
	for i, v := range x {
		f := math.Float32bits(float32(v))
		if dtype == baseline.BFloat16 {
			binary.LittleEndian.PutUint16(out[2*i:], baseline.BF16Bits(f))
		} else {
			binary.LittleEndian.PutUint32(out[4*i:], f)
		}
	}
}

// decodeWire reads len(x) elements of dtype from b into x.
func decodeWire(dtype int, b []byte, x []float64) {
	for i := range x {
		if dtype == baseline.BFloat16 {
			x[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		} else {
			x[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	}
}

// cosine is a·b/(|a||b|) summed in order; 1 when both are zero, 0 when
// one is, NaN when either holds a value that is not finite.
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i, x := range a {
		ab += float64(x * b[i])
		aa += float64(x * x)
		bb += float64(b[i] * b[i])
	}
	switch {
	case aa == 0 && bb == 0:
		return 1
	case aa == 0 || bb == 0:
		return 0
	}
	return ab / float64(math.Sqrt(aa)*math.Sqrt(bb))
}

// train runs the task's LM with code at the cut and returns its held-out
// curve. The held-out loss is the model's own, without the cut.
func (b *activationCompressionBench) train(task Task, cut *wireCut) ([]arena.CurvePoint, bool, error) {
	run, err := newLMRun(b.p.LMParams, b.p.Steps, task.Seed)
	if err != nil {
		return nil, false, err
	}
	if err := run.model.SetCut(b.p.Cut, cut); err != nil {
		return nil, false, err
	}
	// The host's AdamW with warmup and cosine decay, the optimizer kind's
	// baseline: only the codec differs between runs.
	return run.curveRun(nativeStepper(tensoropt.NewAdamW(baseline.AdamWLR), run.model.Config().Table(), b.p.Steps))
}

// baseline is the task's uncompressed run: every tensor crosses the cut
// as it is, in the wire dtype; the lossless track's tensors are captured
// on the way.
func (b *activationCompressionBench) baseline(task Task) cutRun {
	return b.baselines.get(task, func() cutRun { return b.runBaseline(task) })
}

func (b *activationCompressionBench) WarmBaseline(task Task) bool {
	return b.baselines.warm(task, func() cutRun { return b.runBaseline(task) })
}

func (b *activationCompressionBench) BaselineKnown(task Task) bool { return b.baselines.known(task) }

var _ BaselineWarmer = (*activationCompressionBench)(nil)

// runBaseline trains the task's uncompressed run.
func (b *activationCompressionBench) runBaseline(task Task) cutRun {
	var run cutRun
	steps := b.captureSteps()
	cut := newWireCut(b.dtype, b.tensorBytes(), -1, func(step, direction, _, _ int, raw []byte) ([]byte, error) {
		if slices.Contains(steps, step) {
			run.captured = append(run.captured, capturedTensor{step: step, direction: direction, data: slices.Clone(raw)})
		}
		return raw, nil
	})
	curve, diverged, err := b.train(task, cut)
	switch {
	case err != nil:
		run.err = err
	case diverged:
		run.err = errors.New("the uncompressed run diverged")
	}
	run.curve = curve
	return run
}

// stages are a task's two pipeline stages, each an instance of the
// module with an encoder and a decoder: the first encodes activations and
// decodes gradients, the second decodes activations and encodes
// gradients. The first stage allocates its encoder's buffers, then its
// decoder's; the second its decoder's, then its encoder's.
type stages struct {
	encA, encB *GuestActivationEncoder
	decA, decB *GuestActivationDecoder
	rawBytes   int64
	sent       int64
}

func newStages(inst *sandbox.Instance, size int) (*stages, error) {
	second, err := inst.Sibling()
	if err != nil {
		return nil, err
	}
	s := &stages{}
	if s.encA, err = NewGuestActivationEncoder(inst, size); err != nil {
		return nil, err
	}
	if s.decA, err = NewGuestActivationDecoder(inst, size); err != nil {
		return nil, err
	}
	if s.decB, err = NewGuestActivationDecoder(second, size); err != nil {
		return nil, err
	}
	if s.encB, err = NewGuestActivationEncoder(second, size); err != nil {
		return nil, err
	}
	return s, nil
}

// cross sends one tensor across the cut in direction and returns what the
// other side decoded.
func (s *stages) cross(direction, dtype, rows, cols int, raw []byte) ([]byte, error) {
	_, got, err := s.send(direction, dtype, rows, cols, raw)
	return got, err
}

// send is cross, and returns the message too. Both are valid until the
// next call.
func (s *stages) send(direction, dtype, rows, cols int, raw []byte) (msg, got []byte, err error) {
	enc, dec := s.encA, s.decB
	if direction == Backward {
		enc, dec = s.encB, s.decA
	}
	if msg, err = enc.Encode(direction, dtype, rows, cols, raw); err != nil {
		return nil, nil, err
	}
	s.rawBytes += int64(len(raw))
	s.sent += int64(len(msg))
	got, err = dec.Decode(direction, dtype, rows, cols, msg, len(raw))
	return msg, got, err
}

// RunTask trains the task's LM through the module at the cut (the lossy
// track) or codes the uncompressed run's captured tensors (the lossless
// track).
func (b *activationCompressionBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	base := b.baseline(task)
	if base.err != nil {
		return arena.TaskResult{}, fmt.Errorf("baseline of %s seed %d: %w", task.Workload, task.Seed, base.err)
	}
	st, err := newStages(inst, b.tensorBytes())
	if err != nil {
		return arena.TaskResult{}, err
	}
	if b.p.Lossless {
		return b.lossless(inst, task, st, base)
	}
	cut := newWireCut(b.dtype, b.tensorBytes(), b.p.MinCosine, func(_, direction, rows, cols int, raw []byte) ([]byte, error) {
		return st.cross(direction, b.dtype, rows, cols, raw)
	})
	curve, diverged, err := b.train(task, cut)
	if err != nil {
		return arena.TaskResult{}, err
	}
	tr := targetResult(task, b.p.Steps, curve, base.curve, diverged)
	if tr.Error != "" {
		return tr, nil
	}
	tr.Training.RawBytes, tr.Training.SentBytes = st.rawBytes, st.sent
	tr.Score = b.lossyScore(st.rawBytes, st.sent, *tr.Loss, tr.BaselineLoss, inst.FuelUsed())
	return tr, nil
}

// lossyScore is a lossy task's score: the log of the compression ratio,
// less LossWeight per unit of relative excess final held-out loss, less
// FuelWeight per fuel spent per raw byte, within [0, BestTaskScore]
// (sending the tensors raw, the baseline, scores 0).
func (b *activationCompressionBench) lossyScore(raw, sent int64, loss, baselineLoss float64, fuel int64) float64 {
	excess := math.Max(0, (loss-baselineLoss)/baselineLoss)
	s := detmath.Log(float64(raw)/float64(max(sent, 1))) - float64(b.p.LossWeight*excess) - float64(b.p.FuelWeight*(float64(fuel)/float64(raw)))
	return math.Max(0, math.Min(BestTaskScore, s))
}

// lossless codes the captured tensors, each from the stage that sends it
// to the one that receives it, and requires them back byte for byte.
func (b *activationCompressionBench) lossless(inst *sandbox.Instance, task Task, st *stages, base cutRun) (arena.TaskResult, error) {
	rows, cols := b.p.Batch*b.p.Context, b.p.Width
	for i, t := range base.captured {
		got, err := st.cross(t.direction, b.dtype, rows, cols, t.data)
		if err != nil {
			return arena.TaskResult{}, onTensor(i, err)
		}
		if j := firstDifference(got, t.data); j >= 0 {
			return arena.TaskResult{}, &sandbox.RunError{Func: "ac_decode", Reason: fmt.Sprintf("tensor %d (step %d, %s) came back different at byte %d of %d (got %#02x, want %#02x): the lossless track requires it exact", i, t.step, DirectionName(t.direction), j, len(t.data), got[j], t.data[j])}
		}
	}
	frac := float64(st.sent) / float64(st.rawBytes)
	s := detmath.Log(float64(st.rawBytes)/float64(max(st.sent, 1))) - float64(b.p.FuelWeight*(float64(inst.FuelUsed())/float64(st.rawBytes)))
	return arena.TaskResult{Workload: task.Workload, Seed: task.Seed, Loss: &frac, BaselineLoss: 1,
		Score: math.Max(0, math.Min(BestTaskScore, s))}, nil
}

// onTensor says which tensor a guest failed on.
func onTensor(i int, err error) error {
	var re *sandbox.RunError
	if errors.As(err, &re) {
		re.Reason = fmt.Sprintf("on tensor %d: %s", i, re.Reason)
	}
	return err
}

// firstDifference is the first index where a and b differ, or -1.
func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// CheckActivationDeterminism codes every tensor the lossless track
// captures on task (an activation and a gradient at each capture step)
// through wasm twice, each time in fresh instances, and reports the first
// message or decoded tensor that differs: peers that hash messages, as
// IOTA's do, need a codec to give the same bytes for the same input.
func CheckActivationDeterminism(ctx context.Context, eng *sandbox.Engine, b Benchmark, lim arena.Limits, wasm []byte, task Task) error {
	ab, ok := b.(*activationCompressionBench)
	if !ok {
		return fmt.Errorf("determinism is checked on the %s kind", ActivationCompressionKind)
	}
	base := ab.baseline(task)
	if base.err != nil {
		return base.err
	}
	sl := SandboxLimits(lim)
	mod, err := eng.Load(ctx, wasm, ab.ABI(), sl)
	if err != nil {
		return err
	}
	defer mod.Release(ctx)
	rows, cols := ab.p.Batch*ab.p.Context, ab.p.Width
	var first [][]byte
	for pass := range 2 {
		inst, err := mod.Instantiate(ctx, task.Seed, sl)
		if err != nil {
			return err
		}
		defer inst.Close(ctx)
		st, err := newStages(inst, ab.tensorBytes())
		if err != nil {
			return err
		}
		for i, t := range base.captured {
			msg, got, err := st.send(t.direction, ab.dtype, rows, cols, t.data)
			if err != nil {
				return onTensor(i, err)
			}
			if pass == 0 {
				first = append(first, slices.Clone(msg), slices.Clone(got))
				continue
			}
			if !bytes.Equal(msg, first[2*i]) {
				return fmt.Errorf("tensor %d (step %d, %s): the message differs between two fresh instances", i, t.step, DirectionName(t.direction))
			}
			if !bytes.Equal(got, first[2*i+1]) {
				return fmt.Errorf("tensor %d (step %d, %s): the decoded tensor differs between two fresh instances", i, t.step, DirectionName(t.direction))
			}
		}
	}
	return nil
}
