package scoring

import (
	"encoding/json"
	"math"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/sandbox"
)

// GradCompressionKind is the data-parallel gradient compression benchmark.
const GradCompressionKind = "grad_compression"

// gradCompressionVersion changes whenever the benchmark's behaviour does.
const gradCompressionVersion = 1

// GradCompressionParams configures the benchmark: the optimizer
// benchmark's workloads, trained data-parallel by Workers simulated workers
// whose gradients reach the aggregator only through messages of at most
// Budget bytes; the aggregator averages them and steps SGD with momentum.
type GradCompressionParams struct {
	ControlParams
	Workers  int     `json:"workers"`  // simulated data-parallel workers
	Budget   int     `json:"budget"`   // bytes per worker message, each step
	LR       float64 `json:"lr"`       // learning rate of the aggregator's SGD
	Momentum float64 `json:"momentum"` // its heavy-ball coefficient
}

type gradCompressionBench struct {
	p         GradCompressionParams
	baselines baselineMemo
}

func parseGradCompression(raw json.RawMessage) (Benchmark, error) {
	p := GradCompressionParams{ControlParams: DefaultControlParams(), Workers: 4, Budget: 32, LR: 0.1, Momentum: 0}
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if err := p.ControlParams.validate(); err != nil {
		return nil, err
	}
	switch {
	case p.Workers < 1 || p.Workers > 16:
		return nil, badParam("workers", "must be between 1 and 16, got %d", p.Workers)
	case p.Budget < 1 || p.Budget > 1<<20:
		return nil, badParam("budget", "must be between 1 and 1048576 bytes, got %d", p.Budget)
	case !(p.LR > 0 && p.LR <= 10):
		return nil, badParam("lr", "must be in (0, 10], got %v", p.LR)
	case !(p.Momentum >= 0 && p.Momentum < 1):
		return nil, badParam("momentum", "must be in [0, 1), got %v", p.Momentum)
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
// instances, or the native baseline.
type gradCodec interface {
	init(n int) error
	// compress returns worker's message for step t, within the budget; it
	// may reuse the storage of the worker's previous message.
	compress(worker, t int, grad []float64) ([]byte, error)
	decompress(worker, t int, msg []byte, out []float64) error
}

// train runs data-parallel training: each step every worker draws a
// minibatch from its own shard of the training data (workloads with data:
// the k-th of K disjoint shards) and compresses its gradient, the aggregator decompresses and
// averages the messages and steps. It returns the held-out loss.
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
	if err := codec.init(n); err != nil {
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

// nativeCodec runs a baseline compressor on the host, one copy per worker
// and one for the aggregator, as the guest's instances would.
type nativeCodec struct {
	workers []*baseline.TopK
	agg     *baseline.TopK
	budget  int
	buf     []byte
}

func (c *nativeCodec) init(n int) error {
	for k, w := range c.workers {
		w.Init(k, len(c.workers), n, c.budget)
	}
	c.agg.Init(-1, len(c.workers), n, c.budget)
	c.buf = make([]byte, c.budget)
	return nil
}

func (c *nativeCodec) compress(worker, t int, grad []float64) ([]byte, error) {
	size := c.workers[worker].Compress(t, grad, c.buf)
	return append([]byte(nil), c.buf[:size]...), nil
}

func (c *nativeCodec) decompress(worker, t int, msg []byte, out []float64) error {
	c.agg.Decompress(worker, t, msg, out)
	return nil
}

// BaselineLoss is the held-out loss with the built-in plain top-k.
func (b *gradCompressionBench) BaselineLoss(task Task) float64 {
	return b.baselines.get(task, func() float64 {
		c := &nativeCodec{agg: &baseline.TopK{}, budget: b.p.Budget}
		for range b.p.Workers {
			c.workers = append(c.workers, &baseline.TopK{})
		}
		loss, _ := b.train(task, c)
		return loss
	})
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

func (c *guestCodec) init(n int) error {
	for k := range c.workers {
		sibling, err := c.inst.Sibling()
		if err != nil {
			return err
		}
		if c.workers[k], err = NewGuestGradWorker(sibling, k, len(c.workers), n, c.budget); err != nil {
			return err
		}
	}
	var err error
	c.agg, err = NewGuestGradAggregator(c.inst, len(c.workers), n, c.budget)
	return err
}

func (c *guestCodec) compress(worker, t int, grad []float64) ([]byte, error) {
	return c.workers[worker].Compress(t, grad)
}

func (c *guestCodec) decompress(worker, t int, msg []byte, out []float64) error {
	return c.agg.Decompress(worker, t, msg, out)
}

func (b *gradCompressionBench) RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error) {
	c := &guestCodec{inst: inst, budget: b.p.Budget, workers: make([]*GuestGradWorker, b.p.Workers)}
	loss, err := b.train(task, c)
	if err != nil {
		return arena.TaskResult{}, err
	}
	return lossResult(task, loss, b.BaselineLoss(task)), nil
}
