package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/arena-dev/arena/detmath"
	"math"
	"slices"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// ActivationCompressionKind is the lossless activation compression benchmark.
const ActivationCompressionKind = "activation_compression"

// activationCompressionVersion changes whenever the benchmark's behaviour does.
const activationCompressionVersion = 1

// ActivationCompressionParams configures the benchmark.
type ActivationCompressionParams struct {
	Workloads []string `json:"workloads"` // tensor families; default all
	Seeds     []uint64 `json:"seeds"`     // one task per family and seed
	Tensors   int      `json:"tensors"`   // tensors per task
	Rows      int      `json:"rows"`      // tokens per tensor
	Cols      int      `json:"cols"`      // channels per tensor
	// FuelWeight prices the coder's work: each fuel spent per input byte
	// costs FuelWeight of score, which is a natural log of the ratio.
	FuelWeight float64 `json:"fuel_weight"`
}

type activationCompressionBench struct{ p ActivationCompressionParams }

func parseActivationCompression(raw json.RawMessage) (Benchmark, error) {
	p := ActivationCompressionParams{Workloads: slices.Clone(tensorNames), Seeds: []uint64{1, 2, 3},
		Tensors: 4, Rows: 32, Cols: 256, FuelWeight: 1e-4}
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if err := validateNames("workloads", p.Workloads, tensorNames); err != nil {
		return nil, err
	}
	if err := validateSeeds(p.Seeds); err != nil {
		return nil, err
	}
	switch {
	case p.Tensors < 1 || p.Tensors > 64:
		return nil, badParam("tensors", "must be between 1 and 64, got %d", p.Tensors)
	case p.Rows < 1 || p.Rows > 4096:
		return nil, badParam("rows", "must be between 1 and 4096, got %d", p.Rows)
	case p.Cols < 1 || p.Cols > 4096:
		return nil, badParam("cols", "must be between 1 and 4096, got %d", p.Cols)
	case p.Rows*p.Cols > 1<<20:
		return nil, badParam("rows", "rows × cols must be at most 1048576 elements, got %d", p.Rows*p.Cols)
	case !(p.FuelWeight >= 0 && p.FuelWeight <= 1):
		return nil, badParam("fuel_weight", "must be between 0 and 1, got %v", p.FuelWeight)
	}
	return &activationCompressionBench{p: p}, nil
}

func (b *activationCompressionBench) Kind() string     { return ActivationCompressionKind }
func (b *activationCompressionBench) Version() int     { return activationCompressionVersion }
func (b *activationCompressionBench) ABI() sandbox.ABI { return ActivationCompressionABI }
func (b *activationCompressionBench) Params() any      { return b.p }

// FailedTaskScore: a coder that cannot reproduce its input earns nothing
// for the task, the same as sending the tensor raw.
func (b *activationCompressionBench) FailedTaskScore() float64 { return 0 }

func (b *activationCompressionBench) Workloads() []string { return b.p.Workloads }
func (b *activationCompressionBench) Seeds() []uint64     { return b.p.Seeds }

// compressionScore is a task's score: the log of the compression ratio,
// less FuelWeight per fuel spent per input byte, floored at 0 (storing the
// tensors raw, the baseline, costs nothing and scores 0).
func (b *activationCompressionBench) compressionScore(original, compressed int, fuel int64) float64 {
	s := detmath.Log(float64(original)/float64(compressed)) - float64(b.p.FuelWeight*(float64(fuel)/float64(original)))
	return math.Max(0, math.Min(BestTaskScore, s))
}

// RunTask compresses each of the task's tensors in inst and decompresses
// the message in a sibling instance, which never sees the original.
func (b *activationCompressionBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	dec, err := inst.Sibling()
	if err != nil {
		return arena.TaskResult{}, err
	}
	size := b.p.Rows * b.p.Cols * 4 // room for the widest element type
	encoder, err := NewGuestActivationEncoder(inst, size)
	if err != nil {
		return arena.TaskResult{}, err
	}
	decoder, err := NewGuestActivationDecoder(dec, size)
	if err != nil {
		return arena.TaskResult{}, err
	}
	var original, compressed int
	for i := range b.p.Tensors {
		t, err := newTensor(task.Workload, task.Seed, i, b.p.Rows, b.p.Cols)
		if err != nil {
			return arena.TaskResult{}, err
		}
		msg, err := encoder.Compress(t.dtype, t.rows, t.cols, t.data)
		if err != nil {
			return arena.TaskResult{}, onTensor(i, err)
		}
		m := len(msg)
		got, err := decoder.Decompress(t.dtype, t.rows, t.cols, msg, len(t.data))
		if err != nil {
			return arena.TaskResult{}, onTensor(i, err)
		}
		n := len(t.data)
		if j := firstDifference(got, t.data); j >= 0 {
			return arena.TaskResult{}, &sandbox.RunError{Func: "ac_decompress", Reason: fmt.Sprintf("tensor %d came back different at byte %d of %d (got %#02x, want %#02x): compression must be lossless", i, j, n, got[j], t.data[j])}
		}
		original += n
		compressed += m
	}
	// The loss is the size left after compression, as a fraction.
	frac := float64(compressed) / float64(original)
	tr := arena.TaskResult{Workload: task.Workload, Seed: task.Seed, Loss: &frac, BaselineLoss: 1,
		Score: b.compressionScore(original, max(compressed, 1), inst.FuelUsed())}
	return tr, nil
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
