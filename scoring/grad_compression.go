package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/detmath"
	"github.com/arena-dev/arena/guest/gradient"
	"github.com/arena-dev/arena/sandbox"
)

// GradCompressionKind is the data-parallel gradient compression benchmark.
const GradCompressionKind = "grad_compression"

// gradCompressionVersion changes whenever the benchmark's behaviour does.
// v2: the transformer LM, trained data-parallel by K peers and an outer
// AdamW, is the default workload, scored by time to target against the
// Templar-style baseline at the same budget; the tensor table (gc_init2);
// the toy workloads remain as controls. v3: the outer AdamW's peak rate
// is outer_lr, tuned for the dense run (0.015, not the optimizer kind's
// 0.05).
const gradCompressionVersion = 3

// GradCompressionParams configures the benchmark. Workers peers train the
// workload data-parallel: each step every peer computes the gradient of
// Batch/Workers sequences of its own shard of the training stream and
// compresses it to at most Budget bytes; the aggregator decompresses every
// message, the host averages them and steps its outer optimizer: on the
// LM, AdamW with the optimizer kind's baseline settings and
// warmup-cosine schedule (peak OuterLR); on a control, SGD at LR
// with Momentum.
type GradCompressionParams struct {
	OptimizerParams
	Workers int `json:"workers"` // data-parallel peers, 1 to 32
	// Budget is the bytes of each peer's message, each step; 0 (the
	// default) is 1/DefaultCompression of the dense float32 gradient of
	// the LM (4 bytes a parameter), or 32 bytes on the controls alone.
	Budget   int     `json:"budget"`
	LR       float64 `json:"lr"`       // controls: the aggregator's SGD rate
	Momentum float64 `json:"momentum"` // controls: its heavy-ball coefficient
	// OuterLR is the peak rate of the LM's outer AdamW (warmup, then
	// cosine decay), tuned so that the dense run trains best
	// (baseline.GradOuterLR, docs/tuning.md): a rate too high for dense
	// training lets a compressor that shrinks the update beat it.
	OuterLR float64 `json:"outer_lr"`
}

// gradCompressionFuel is the kind's default fuel_per_task: a task runs
// eight peers and an aggregator, and the heaviest shipped example,
// PowerSGD at rank 4 with two iterations, spends about 50 billion on a
// default task (docs/grad_compression.md); this is twice that, which is
// also arena.MaxFuelPerTask.
const gradCompressionFuel = arena.MaxFuelPerTask

// DefaultCompression is the default budget's ratio to the dense float32
// gradient: a peer sends 1/32 of 4n bytes, one bit a parameter, within
// the 32–64× Templar's peers work at.
const DefaultCompression = 32

// maxWorkers bounds the peers: each is an instance of the module.
const maxWorkers = 32

// DefaultGradCompressionParams are the parameters a challenge gets by
// default. The LM is wider and shallower than the optimizer kind's
// (width 32, one block: 21,600 parameters, 32 sequences a step): at width
// 16 every matrix is so small (16×16, 16×64) that a rank-2 factorization
// saves only 4–8×, and 32× budgets would leave PowerSGD no rank; at width
// 32 rank 2 fits a 32× budget, and Templar's 64×64 blocks keep about 5%
// of their values. docs/grad_compression.md says more.
func DefaultGradCompressionParams() GradCompressionParams {
	p := DefaultOptimizerParams()
	p.LMParams = DefaultLMParams() // vocab 128, not the optimizer kind's 512
	p.LMParams.Width, p.LMParams.Layers, p.LMParams.Batch = 32, 1, 32
	return GradCompressionParams{OptimizerParams: p, Workers: 8, LR: 0.1, Momentum: 0, OuterLR: baseline.GradOuterLR}
}

type gradCompressionBench struct {
	p         GradCompressionParams
	baselines memo[Task, baselineRun] // Templar on the LM, top-k on the controls
	dense     memo[Task, float64]     // the LM's final held-out loss, uncompressed
}

func parseGradCompression(raw json.RawMessage) (Benchmark, error) {
	p := DefaultGradCompressionParams()
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if err := p.OptimizerParams.validate(); err != nil {
		return nil, err
	}
	lm := slices.Contains(p.Workloads, LMWorkload)
	if p.Budget == 0 {
		p.Budget = 32
		if lm {
			p.Budget = (4*p.LMParams.config().NumParams() + DefaultCompression - 1) / DefaultCompression
		}
	}
	switch {
	case p.Workers < 1 || p.Workers > maxWorkers:
		return nil, badParam("workers", "must be between 1 and %d, got %d", maxWorkers, p.Workers)
	case lm && p.Batch%p.Workers != 0:
		return nil, badParam("batch", "the %d peers share a step's batch: it must be a multiple of workers, got %d", p.Workers, p.Batch)
	case p.Budget < 1 || p.Budget > 1<<24:
		return nil, badParam("budget", "must be between 1 and 16777216 bytes, got %d", p.Budget)
	case !(p.LR > 0 && p.LR <= 10):
		return nil, badParam("lr", "must be in (0, 10], got %v", p.LR)
	case !(p.Momentum >= 0 && p.Momentum < 1):
		return nil, badParam("momentum", "must be in [0, 1), got %v", p.Momentum)
	case !(p.OuterLR > 0 && p.OuterLR <= 1):
		return nil, badParam("outer_lr", "must be in (0, 1], got %v", p.OuterLR)
	}
	return &gradCompressionBench{p: p}, nil
}

func (b *gradCompressionBench) Kind() string        { return GradCompressionKind }
func (b *gradCompressionBench) Version() int        { return gradCompressionVersion }
func (b *gradCompressionBench) ABI() sandbox.ABI    { return GradCompressionABI }
func (b *gradCompressionBench) Params() any         { return b.p }
func (b *gradCompressionBench) Workloads() []string { return b.p.Workloads }
func (b *gradCompressionBench) Seeds() []uint64     { return b.p.Seeds }

func (b *gradCompressionBench) FailedTaskScore() float64 { return WorstTaskScore }

// gradCodec is a compressor seen from the training loop: the guest's
// instances, or native ones.
type gradCodec interface {
	init(table []arena.Tensor, steps int) error
	// compress returns worker's message for step t, within the budget; it
	// may reuse the storage of the worker's previous message.
	compress(worker, t int, grad []float64) ([]byte, error)
	decompress(worker, t int, msg []byte, out []float64) error
}

// peers is the data-parallel side of an LM run: each peer's shard of the
// training stream, its batches and its gradient.
type peers struct {
	run    *lmRun
	shards [][]uint16
	rngs   []*detmath.RNG
	grads  [][]float64
	seqs   int // sequences a peer's batch
	losses []float64
}

// newPeers cuts run's training stream into k contiguous shards, one a
// peer; a peer draws its sequences from its own shard alone, with a
// generator of its own.
func newPeers(run *lmRun, k int, seed uint64) (*peers, error) {
	seqLen := run.p.Context + 1
	ps := &peers{run: run, seqs: run.p.Batch / k, losses: make([]float64, k)}
	for i := range k {
		shard := run.train[i*len(run.train)/k : (i+1)*len(run.train)/k]
		if len(shard) < seqLen {
			return nil, fmt.Errorf("lm data: a shard of %d tokens for each of %d peers is shorter than a sequence of %d", len(shard), k, seqLen)
		}
		ps.shards = append(ps.shards, shard)
		ps.rngs = append(ps.rngs, detmath.NewRNG(seed, fmt.Sprintf("grad_compression/peer/%d", i)))
		ps.grads = append(ps.grads, make([]float64, len(run.params)))
	}
	return ps, nil
}

// gradient computes peer k's gradient on its next batch and returns the
// batch's loss.
func (ps *peers) gradient(k int) (float64, error) {
	r, seqLen := ps.run, ps.run.p.Context+1
	shard := ps.shards[k]
	for s := range ps.seqs {
		start := ps.rngs[k].Intn(len(shard) - seqLen + 1)
		copy(r.batch[s*seqLen:(s+1)*seqLen], shard[start:start+seqLen])
	}
	return r.model.LossGrad(r.params, ps.grads[k], r.batch[:ps.seqs*seqLen])
}

// lmCurve trains the task's LM data-parallel through codec (nil: dense,
// the peers' gradients averaged as they are) with the outer AdamW, and
// returns the held-out curve as curveRun does.
func (b *gradCompressionBench) lmCurve(task Task, codec gradCodec) (curve []arena.CurvePoint, diverged bool, err error) {
	run, err := newLMRun(b.p.LMParams, b.p.Steps, task.Seed)
	if err != nil {
		return nil, false, err
	}
	ps, err := newPeers(run, b.p.Workers, task.Seed)
	if err != nil {
		return nil, false, err
	}
	table := run.model.Config().Table()
	step := nativeStepper(tensoropt.NewAdamW(b.p.OuterLR), table, b.p.Steps)
	if codec != nil {
		if err := codec.init(table, b.p.Steps); err != nil {
			return nil, false, err
		}
	}
	avg, decoded := make([]float64, len(run.params)), make([]float64, len(run.params))
	msgs := make([][]byte, b.p.Workers)
	inv := 1 / float64(b.p.Workers)
	point := func(t int) (ok bool) { curve, ok = run.evalPoint(curve, t); return ok }
	if !point(0) {
		return curve, true, nil
	}
	for t := range b.p.Steps {
		var loss float64
		for k := range b.p.Workers {
			l, err := ps.gradient(k)
			if err != nil {
				return nil, false, err
			}
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return curve, true, nil
			}
			loss += l
			if codec != nil {
				if msgs[k], err = codec.compress(k, t, ps.grads[k]); err != nil {
					return nil, false, err
				}
			}
		}
		clear(avg)
		for k := range b.p.Workers {
			v := ps.grads[k]
			if codec != nil {
				if err := codec.decompress(k, t, msgs[k], decoded); err != nil {
					return nil, false, err
				}
				v = decoded
			}
			for j, x := range v {
				avg[j] += x
			}
		}
		for j := range avg {
			avg[j] = float64(avg[j] * inv)
		}
		if err := step(t, run.params, avg, float64(loss*inv)); err != nil {
			return nil, false, err
		}
		if done := t + 1; done%run.p.EvalEvery == 0 || done == b.p.Steps {
			if !point(done) {
				return curve, true, nil
			}
		}
	}
	return curve, false, nil
}

// train runs a control workload data-parallel: each step every worker
// draws a minibatch from its own shard of the training data (workloads
// with data: the k-th of K disjoint shards) and compresses its gradient,
// the aggregator decompresses and averages the messages and steps SGD
// with momentum. It returns the held-out loss.
func (b *gradCompressionBench) train(task Task, codec gradCodec) (float64, error) {
	w, err := newWorkload(task.Workload, task.Seed, b.p.config())
	if err != nil {
		return 0, err
	}
	n, workers := w.dim(), b.p.Workers
	params, avg, decoded := make([]float64, n), make([]float64, n), make([]float64, n)
	grads := make([][]float64, workers)
	for k := range grads {
		grads[k] = make([]float64, n)
	}
	msgs := make([][]byte, workers)
	w.init(params)
	opt := &baseline.Momentum{LR: b.p.LR, Beta: b.p.Momentum}
	opt.Init(n)
	if err := codec.init(FlatTable(n), b.p.Steps); err != nil {
		return 0, err
	}
	shards, _ := w.(sharded)
	for t := range b.p.Steps {
		var loss float64
		for k := range workers {
			if shards != nil {
				shards.setShard(k, workers)
			}
			l := w.grad(t, params, grads[k])
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return l, nil
			}
			loss += l
			if msgs[k], err = codec.compress(k, t, grads[k]); err != nil {
				return 0, err
			}
		}
		clear(avg)
		for k, msg := range msgs {
			if err := codec.decompress(k, t, msg, decoded); err != nil {
				return 0, err
			}
			for j, v := range decoded {
				avg[j] += v
			}
		}
		inv := 1 / float64(workers)
		for j := range avg {
			avg[j] = float64(avg[j] * inv)
		}
		opt.Step(t, params, avg, float64(loss*inv))
	}
	return w.heldOut(params), nil
}

// FlatCompressor is a flat Compressor (ABI v1) seen as a
// TensorCompressor, as the guest SDK runs one given gc_init2: it is told
// the gradient's length, the tensors' sizes summed, and nothing of their
// shapes. It lives here, not in the SDK, so that modules built with the
// SDK carry none of it.
type FlatCompressor struct{ gradient.Compressor }

func (c FlatCompressor) Init(worker, workers int, tensors []gradient.Tensor, budget, _ int) {
	n := 0
	for _, t := range tensors {
		n += t.Size()
	}
	c.Compressor.Init(worker, workers, n, budget)
}

// nativeCodec runs a compressor on the host, one copy per worker and one
// for the aggregator, as the guest's instances would.
type nativeCodec struct {
	workers []gradient.TensorCompressor
	agg     gradient.TensorCompressor
	budget  int
	buf     []byte
}

// newNativeCodec makes workers+1 copies with newCompressor.
func newNativeCodec(workers, budget int, newCompressor func() gradient.TensorCompressor) *nativeCodec {
	c := &nativeCodec{agg: newCompressor(), budget: budget}
	for range workers {
		c.workers = append(c.workers, newCompressor())
	}
	return c
}

func (c *nativeCodec) init(table []arena.Tensor, steps int) error {
	ts := make([]gradient.Tensor, len(table))
	for i, t := range table {
		ts[i] = gradient.Tensor{Name: t.Name, Role: gradient.Role(t.Role), Rows: t.Rows, Cols: t.Cols, Offset: t.Offset}
	}
	for k, w := range c.workers {
		w.Init(k, len(c.workers), slices.Clone(ts), c.budget, steps)
	}
	c.agg.Init(-1, len(c.workers), slices.Clone(ts), c.budget, steps)
	c.buf = make([]byte, c.budget)
	return nil
}

func (c *nativeCodec) compress(worker, t int, grad []float64) ([]byte, error) {
	size := c.workers[worker].Compress(t, grad, c.buf)
	if size < 0 || size > c.budget {
		return nil, fmt.Errorf("worker %d's message of %d bytes at step %d; the budget is %d", worker, size, t, c.budget)
	}
	return append([]byte(nil), c.buf[:size]...), nil
}

func (c *nativeCodec) decompress(worker, t int, msg []byte, out []float64) error {
	c.agg.Decompress(worker, t, msg, out)
	return nil
}

// baseline is what a task's built-in baseline measured: on the LM, the
// held-out curve with gradcodec.Templar at the budget; on a control, the
// held-out loss with plain top-k.
func (b *gradCompressionBench) baseline(task Task) baselineRun {
	return b.baselines.get(task, func() baselineRun { return b.runBaseline(task) })
}

func (b *gradCompressionBench) runBaseline(task Task) baselineRun {
	if task.Workload == LMWorkload {
		curve, _, _ := b.lmCurve(task, newNativeCodec(b.p.Workers, b.p.Budget, func() gradient.TensorCompressor { return gradcodec.NewTemplar() }))
		return baselineRun{curve: curve}
	}
	loss, _ := b.train(task, newNativeCodec(b.p.Workers, b.p.Budget, func() gradient.TensorCompressor { return FlatCompressor{&baseline.TopK{}} }))
	return baselineRun{loss: loss}
}

// denseLoss is the LM's final held-out loss trained the same way without
// compression: how far the baseline and a submission end from it is
// what compression costs.
func (b *gradCompressionBench) denseLoss(task Task) float64 {
	return b.dense.get(task, func() float64 { return b.runDense(task) })
}

func (b *gradCompressionBench) runDense(task Task) float64 {
	curve, _, _ := b.lmCurve(task, nil)
	if len(curve) == 0 {
		return math.NaN()
	}
	return curve[len(curve)-1].Loss
}

// WarmBaseline computes task's baseline and, on the LM, its dense run:
// a task needs both.
func (b *gradCompressionBench) WarmBaseline(task Task) bool {
	computed := b.baselines.warm(task, func() baselineRun { return b.runBaseline(task) })
	if task.Workload == LMWorkload && b.dense.warm(task, func() float64 { return b.runDense(task) }) {
		computed = true
	}
	return computed
}

func (b *gradCompressionBench) BaselineKnown(task Task) bool {
	return b.baselines.known(task) && (task.Workload != LMWorkload || b.dense.known(task))
}

var _ BaselineWarmer = (*gradCompressionBench)(nil)

// BaselineLoss is the built-in baseline's final held-out loss.
func (b *gradCompressionBench) BaselineLoss(task Task) float64 {
	base := b.baseline(task)
	if task.Workload == LMWorkload && len(base.curve) > 0 {
		return base.curve[len(base.curve)-1].Loss
	}
	return base.loss
}

// guestCodec runs the module: the task's first instance is the aggregator
// and each worker has a sibling of its own, so no instance sees another's
// state and the aggregator learns nothing but the messages.
type guestCodec struct {
	inst    *sandbox.Instance
	budget  int
	workers []*GuestGradWorker
	agg     *GuestGradAggregator
}

func (c *guestCodec) init(table []arena.Tensor, steps int) error {
	for k := range c.workers {
		sibling, err := c.inst.Sibling()
		if err != nil {
			return err
		}
		if c.workers[k], err = NewGuestTensorGradWorker(sibling, k, len(c.workers), table, c.budget, steps); err != nil {
			return err
		}
	}
	var err error
	c.agg, err = NewGuestTensorGradAggregator(c.inst, len(c.workers), table, c.budget, steps)
	return err
}

func (c *guestCodec) compress(worker, t int, grad []float64) ([]byte, error) {
	return c.workers[worker].Compress(t, grad)
}

func (c *guestCodec) decompress(worker, t int, msg []byte, out []float64) error {
	return c.agg.Decompress(worker, t, msg, out)
}

// result scores a run: the LM's curve by time to target against the
// baseline's, with the dense run's final loss beside it; a control's
// final loss against the baseline's.
func (b *gradCompressionBench) result(task Task, run func(gradCodec) ([]arena.CurvePoint, bool, float64, error), codec gradCodec) (arena.TaskResult, error) {
	curve, diverged, loss, err := run(codec)
	if err != nil {
		return arena.TaskResult{}, err
	}
	if task.Workload != LMWorkload {
		return lossResult(task, loss, b.baseline(task).loss), nil
	}
	tr := targetResult(task, b.p.Steps, curve, b.baseline(task).curve, diverged)
	tr.Training.DenseLoss = finite(b.denseLoss(task))
	return tr, nil
}

// runner trains task through a codec: the LM's curve, or a control's
// final loss.
func (b *gradCompressionBench) runner(task Task) func(gradCodec) ([]arena.CurvePoint, bool, float64, error) {
	return func(codec gradCodec) ([]arena.CurvePoint, bool, float64, error) {
		if task.Workload == LMWorkload {
			curve, diverged, err := b.lmCurve(task, codec)
			return curve, diverged, 0, err
		}
		loss, err := b.train(task, codec)
		return nil, false, loss, err
	}
}

func (b *gradCompressionBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	c := &guestCodec{inst: inst, budget: b.p.Budget, workers: make([]*GuestGradWorker, b.p.Workers)}
	return b.result(task, b.runner(task), c)
}

// NativeGradCompressor scores a Go compressor on one task of a
// grad_compression benchmark without a sandbox: newCompressor makes each
// peer's copy and the aggregator's. The validity suite tunes with it; the
// example built from the same code scores the same, bit for bit.
func NativeGradCompressor(b Benchmark, task Task, newCompressor func() gradient.TensorCompressor) (arena.TaskResult, error) {
	gb, ok := b.(*gradCompressionBench)
	if !ok {
		return arena.TaskResult{}, fmt.Errorf("native gradient compressors run on the %s kind", GradCompressionKind)
	}
	return gb.result(task, gb.runner(task), newNativeCodec(gb.p.Workers, gb.p.Budget, newCompressor))
}

// NativeDenseLoss is the final held-out loss of task's uncompressed run.
func NativeDenseLoss(b Benchmark, task Task) (float64, error) {
	gb, ok := b.(*gradCompressionBench)
	if !ok || task.Workload != LMWorkload {
		return 0, fmt.Errorf("the dense run is the %s workload's of the %s kind", LMWorkload, GradCompressionKind)
	}
	return gb.denseLoss(task), nil
}
