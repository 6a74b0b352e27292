package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/strategy"
)

// The library's functions in Go terms; main.go exports them to C. Every
// one of them drives package strategy, which drives the workers' own
// sandbox and ABI adapters: nothing here speaks a module's ABI itself.

// kinds maps a kind's name to the exports its modules must have.
var kinds = map[string]sandbox.ABI{
	scoring.OptimizerKind:             scoring.OptimizerABI,
	scoring.LRScheduleKind:            scoring.LRScheduleABI,
	scoring.GradCompressionKind:       scoring.GradCompressionABI,
	scoring.ActivationCompressionKind: scoring.ActivationCompressionABI,
}

// maxInt32 bounds what reaches a module as an i32 (steps, sizes, indices).
const maxInt32 = 1<<31 - 1

func newEngine(capacity int64, dir string) (uint64, error) {
	if capacity < 1 || capacity > 1<<16 {
		return 0, badInput("an engine keeps 1 to %d compiled modules, not %d", 1<<16, capacity)
	}
	var eng *sandbox.Engine
	if dir == "" {
		eng = sandbox.NewEngine(int(capacity))
	} else {
		var err error
		if eng, err = sandbox.NewEngineWithDiskCache(int(capacity), dir); err != nil {
			return 0, badInput("%v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &engine{eng: eng, ctx: ctx, cancel: cancel, children: map[uint64]closer{}}
	e.handle = register(e)
	return e.handle, nil
}

// parseLimits reads a challenge's limits over Arena's defaults, as the
// server fills in a challenge's, and checks them.
func parseLimits(js string) (arena.Limits, error) {
	lim := arena.DefaultLimits()
	if js != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(js)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&lim); err != nil {
			return lim, badInput("limits: %v", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return lim, badInput("limits: trailing data after the JSON object")
		}
	}
	if err := lim.Validate(); err != nil {
		return lim, badInput("%s", message(err))
	}
	return lim, nil
}

func loadModule(eh uint64, kind string, wasm []byte, limitsJSON string) (uint64, error) {
	e, err := lookup[*engine](eh, "an engine")
	if err != nil {
		return 0, err
	}
	abi, ok := kinds[kind]
	if !ok {
		return 0, badInput("unknown kind %q: optimizer, lr_schedule, grad_compression or activation_compression", kind)
	}
	lim, err := parseLimits(limitsJSON)
	if err != nil {
		return 0, err
	}
	// Loading validates, meters and compiles now, so a bad module is
	// refused when it is loaded rather than at its first use.
	pinned, err := e.eng.Load(e.ctx, wasm, abi, scoring.SandboxLimits(lim))
	if err != nil {
		if e.ctx.Err() != nil {
			return 0, badInput("engine %d was closed", e.handle)
		}
		return 0, err
	}
	m := &module{engine: e, kind: kind, abi: abi, wasm: wasm, limits: lim, pinned: pinned}
	if m.handle, err = e.adopt(m); err != nil {
		return 0, err
	}
	return m.handle, nil
}

// moduleOf returns module h, which must be of kind.
func moduleOf(h uint64, kind string) (*module, error) {
	m, err := lookup[*module](h, "a module")
	if err != nil {
		return nil, err
	}
	if m.kind != kind {
		return nil, badInput("module %d was loaded as %s, not %s", h, m.kind, kind)
	}
	return m, nil
}

type moduleInfo struct {
	Kind   string       `json:"kind"`
	SHA256 string       `json:"sha256"`
	Bytes  int          `json:"bytes"`
	Limits arena.Limits `json:"limits"`
}

func infoOf(h uint64) (string, error) {
	m, err := lookup[*module](h, "a module")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(m.wasm)
	b, err := json.Marshal(moduleInfo{Kind: m.kind, SHA256: hex.EncodeToString(sum[:]), Bytes: len(m.wasm), Limits: m.limits})
	return string(b), err
}

// newObject makes a strategy object from module h with start and hands it
// to the module's engine.
func newObject(h uint64, kind, what string, start func(m *module) (*object, error)) (uint64, error) {
	m, err := moduleOf(h, kind)
	if err != nil {
		return 0, err
	}
	o, err := start(m)
	if err != nil {
		if m.engine.ctx.Err() != nil {
			return 0, badInput("engine %d was closed", m.engine.handle)
		}
		return 0, err
	}
	o.what, o.engine = what, m.engine
	if o.handle, err = m.engine.adopt(o); err != nil {
		return 0, err
	}
	return o.handle, nil
}

// parseTable reads a tensor table: role names as arena.TensorRole writes
// them, every field required.
func parseTable(js string) ([]arena.Tensor, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		return nil, badInput("tensor table: %v", err)
	}
	table := make([]arena.Tensor, len(raw))
	for i, entry := range raw {
		for _, field := range []string{"name", "role", "rows", "cols", "offset"} {
			if _, ok := entry[field]; !ok {
				return nil, badInput("tensor table: entry %d has no %q", i, field)
			}
		}
		if len(entry) != 5 {
			return nil, badInput("tensor table: entry %d has fields other than name, role, rows, cols and offset", i)
		}
		b, _ := json.Marshal(entry)
		if err := json.Unmarshal(b, &table[i]); err != nil {
			return nil, badInput("tensor table: entry %d: %s", i, message(err))
		}
	}
	return table, nil
}

func newOptimizer(h uint64, n int64, tableJSON string, steps int64) (uint64, error) {
	return newObject(h, scoring.OptimizerKind, "an optimizer", func(m *module) (*object, error) {
		var (
			opt *strategy.Optimizer
			err error
		)
		if tableJSON == "" {
			if steps != 0 {
				return nil, badInput("a run length (%d steps) goes with a tensor table; a flat optimizer is given none", steps)
			}
			if n < 1 || n > maxInt32 {
				return nil, badInput("an optimizer takes 1 or more parameters, not %d", n)
			}
			opt, err = strategy.NewOptimizer(m.engine.ctx, m.engine.eng, m.wasm, int(n), m.limits)
		} else {
			table, perr := parseTable(tableJSON)
			if perr != nil {
				return nil, perr
			}
			total, cerr := scoring.CheckTensorTable(table)
			if cerr != nil {
				return nil, badInput("%v", cerr)
			}
			if n != 0 && n != int64(total) {
				return nil, badInput("n is %d but the tensor table describes %d parameters", n, total)
			}
			if steps < 0 || steps > maxInt32 {
				return nil, badInput("a run of 0 (unknown) to %d steps, not %d", maxInt32, steps)
			}
			n = int64(total)
			opt, err = strategy.NewTensorOptimizer(m.engine.ctx, m.engine.eng, m.wasm, table, int(steps), m.limits)
		}
		if err != nil {
			return nil, err
		}
		return &object{s: opt, state: opt, n: int(n)}, nil
	})
}

func optimizerTensors(h uint64) (bool, error) {
	var v2 bool
	err := use(h, "an optimizer", func(_ *object, opt *strategy.Optimizer) error {
		v2 = opt.Tensors()
		return nil
	})
	return v2, err
}

func checkStep(t int64) error {
	if t < 0 || t > maxInt32 {
		return badInput("step %d: steps count from 0 to %d", t, maxInt32)
	}
	return nil
}

func optimizerStep(h uint64, t int64, params, grads []float64, loss float64) error {
	if err := checkStep(t); err != nil {
		return err
	}
	return use(h, "an optimizer", func(_ *object, opt *strategy.Optimizer) error {
		return opt.Step(int(t), params, grads, loss)
	})
}

func newSchedule(h uint64, total int64) (uint64, error) {
	return newObject(h, scoring.LRScheduleKind, "a schedule", func(m *module) (*object, error) {
		if total < 1 || total > maxInt32 {
			return nil, badInput("a schedule runs 1 to %d steps, not %d", maxInt32, total)
		}
		s, err := strategy.NewSchedule(m.engine.ctx, m.engine.eng, m.wasm, int(total), m.limits)
		if err != nil {
			return nil, err
		}
		return &object{s: s, state: s}, nil
	})
}

func scheduleLR(h uint64, t int64, loss float64) (float64, error) {
	if err := checkStep(t); err != nil {
		return 0, err
	}
	var rate float64
	err := use(h, "a schedule", func(_ *object, s *strategy.Schedule) (err error) {
		rate, err = s.LR(int(t), loss)
		return err
	})
	return rate, err
}

// checkGradShape refuses what the gradient ABI cannot carry before a
// module is instantiated for it.
func checkGradShape(workers, n, budget int64) error {
	switch {
	case workers < 1 || workers > 1<<16:
		return badInput("1 to %d workers, not %d", 1<<16, workers)
	case n < 1 || n > maxInt32:
		return badInput("gradients of 1 or more values, not %d", n)
	case budget < 1 || budget > 1<<30:
		return badInput("a budget of 1 to %d bytes, not %d", 1<<30, budget)
	}
	return nil
}

// gradTable is a gradient codec's table: the flat table of n values when
// tableJSON is empty (and steps 0), else the table given, whose size n
// must match unless n is 0.
func gradTable(n int64, tableJSON string, steps int64) ([]arena.Tensor, int64, error) {
	if tableJSON == "" {
		if steps != 0 {
			return nil, 0, badInput("a run length (%d steps) goes with a tensor table; a flat codec is given none", steps)
		}
		if n < 1 || n > maxInt32 {
			return nil, 0, badInput("gradients of 1 or more values, not %d", n)
		}
		return scoring.FlatTable(int(n)), n, nil
	}
	table, err := parseTable(tableJSON)
	if err != nil {
		return nil, 0, err
	}
	total, err := scoring.CheckTensorTable(table)
	if err != nil {
		return nil, 0, badInput("%v", err)
	}
	if n != 0 && n != int64(total) {
		return nil, 0, badInput("n is %d but the tensor table describes %d values", n, total)
	}
	if steps < 0 || steps > maxInt32 {
		return nil, 0, badInput("a run of 0 (unknown) to %d steps, not %d", maxInt32, steps)
	}
	return table, int64(total), nil
}

func newGradWorker(h uint64, worker, workers, n int64, tableJSON string, budget, steps int64) (uint64, error) {
	return newObject(h, scoring.GradCompressionKind, "a gradient worker", func(m *module) (*object, error) {
		table, n, err := gradTable(n, tableJSON, steps)
		if err != nil {
			return nil, err
		}
		if err := checkGradShape(workers, n, budget); err != nil {
			return nil, err
		}
		if worker < 0 || worker >= workers {
			return nil, badInput("worker %d of %d: workers count from 0", worker, workers)
		}
		w, err := strategy.NewTensorGradientWorker(m.engine.ctx, m.engine.eng, m.wasm, int(worker), int(workers), table, int(budget), int(steps), m.limits)
		if err != nil {
			return nil, err
		}
		return &object{s: w, state: w, n: int(n), workers: int(workers), budget: int(budget)}, nil
	})
}

// gradCompress compresses into msg and returns the message's length.
func gradCompress(h uint64, t int64, grad []float64, msg []byte) (int, error) {
	if err := checkStep(t); err != nil {
		return 0, err
	}
	var size int
	err := use(h, "a gradient worker", func(o *object, w *strategy.GradientWorker) error {
		if len(grad) != o.n {
			return badInput("step %d: a gradient of %d values for a worker of %d", t, len(grad), o.n)
		}
		if len(msg) < o.budget {
			return badInput("a message buffer of %d bytes, under the budget of %d", len(msg), o.budget)
		}
		b, err := w.Compress(int(t), grad)
		if err != nil {
			return err
		}
		size = copy(msg, b)
		return nil
	})
	return size, err
}

func newGradAggregator(h uint64, workers, n int64, tableJSON string, budget, steps int64) (uint64, error) {
	return newObject(h, scoring.GradCompressionKind, "a gradient aggregator", func(m *module) (*object, error) {
		table, n, err := gradTable(n, tableJSON, steps)
		if err != nil {
			return nil, err
		}
		if err := checkGradShape(workers, n, budget); err != nil {
			return nil, err
		}
		a, err := strategy.NewTensorGradientAggregator(m.engine.ctx, m.engine.eng, m.wasm, int(workers), table, int(budget), int(steps), m.limits)
		if err != nil {
			return nil, err
		}
		return &object{s: a, state: a, n: int(n), workers: int(workers), budget: int(budget)}, nil
	})
}

func gradDecompress(h uint64, worker, t int64, msg []byte, out []float64) error {
	if err := checkStep(t); err != nil {
		return err
	}
	return use(h, "a gradient aggregator", func(o *object, a *strategy.GradientAggregator) error {
		switch {
		case worker < 0 || worker >= int64(o.workers):
			return badInput("worker %d of %d: workers count from 0", worker, o.workers)
		case len(out) != o.n:
			return badInput("step %d: room for %d values for an aggregator of %d", t, len(out), o.n)
		}
		return a.Decompress(int(worker), int(t), msg, out)
	})
}

// activationCapacity is scoring.ActivationCapacity for a valid size, -1
// otherwise.
func activationCapacity(size int64) int64 {
	if size < 1 || size > 1<<30 {
		return -1
	}
	return int64(scoring.ActivationCapacity(int(size)))
}

func checkTensorSize(size int64) error {
	if size < 1 || size > 1<<30 {
		return badInput("tensors of 1 to %d bytes, not %d", 1<<30, size)
	}
	return nil
}

// checkActivation refuses a tensor whose bytes do not match its dtype and
// shape, or one larger than the codec's: modules may rely on both.
func checkActivation(o *object, dtype int, rows, cols int64, n int) error {
	switch {
	case dtype != baseline.BFloat16 && dtype != baseline.Float32:
		return badInput("dtype %d: 0 (bfloat16) or 1 (float32)", dtype)
	case rows < 1 || cols < 1 || rows > maxInt32 || cols > maxInt32:
		return badInput("a tensor of %d×%d: rows and cols must be at least 1", rows, cols)
	case rows*cols > math.MaxInt32 || rows*cols*int64(baseline.ElementSize(dtype)) != int64(n):
		return badInput("a %d×%d tensor of dtype %d is %d bytes, not %d", rows, cols, dtype, rows*cols*int64(baseline.ElementSize(dtype)), n)
	case n > o.size:
		return badInput("a tensor of %d bytes, over the codec's %d", n, o.size)
	}
	return nil
}

func newActivationEncoder(h uint64, size int64) (uint64, error) {
	return newObject(h, scoring.ActivationCompressionKind, "an activation encoder", func(m *module) (*object, error) {
		if err := checkTensorSize(size); err != nil {
			return nil, err
		}
		e, err := strategy.NewActivationEncoder(m.engine.ctx, m.engine.eng, m.wasm, int(size), m.limits)
		if err != nil {
			return nil, err
		}
		return &object{s: e, state: e, size: int(size)}, nil
	})
}

// checkDirection refuses a direction other than forward and backward.
func checkDirection(direction int) error {
	if direction != scoring.Forward && direction != scoring.Backward {
		return badInput("direction %d: 0 (forward, an activation) or 1 (backward, its gradient)", direction)
	}
	return nil
}

// encodeFunc and decodeFunc are the Encode and Decode methods of
// package strategy's activation encoders, decoders and stages.
type (
	encodeFunc func(direction, dtype, rows, cols int, data []byte) ([]byte, error)
	decodeFunc func(direction, dtype, rows, cols int, msg []byte, n int) ([]byte, error)
)

// encodeActivation checks an encoding call's input against codec o, so
// the module never sees a bad direction, tensor or buffer, then encodes
// data into msg and returns the message's length. An encoder and a stage
// share it, so their checks cannot drift apart.
func encodeActivation(o *object, encode encodeFunc, direction, dtype int, rows, cols int64, data, msg []byte) (int, error) {
	if err := checkDirection(direction); err != nil {
		return 0, err
	}
	if err := checkActivation(o, dtype, rows, cols, len(data)); err != nil {
		return 0, err
	}
	if capacity := scoring.ActivationCapacity(o.size); len(msg) < capacity {
		return 0, badInput("a message buffer of %d bytes, under the codec's capacity of %d", len(msg), capacity)
	}
	b, err := encode(direction, dtype, int(rows), int(cols), data)
	if err != nil {
		return 0, err
	}
	return copy(msg, b), nil
}

// decodeActivation is encodeActivation's counterpart: it checks, then
// decodes msg into out.
func decodeActivation(o *object, decode decodeFunc, direction, dtype int, rows, cols int64, msg, out []byte) error {
	if err := checkDirection(direction); err != nil {
		return err
	}
	if err := checkActivation(o, dtype, rows, cols, len(out)); err != nil {
		return err
	}
	if capacity := scoring.ActivationCapacity(o.size); len(msg) > capacity {
		return badInput("a message of %d bytes, over the codec's capacity of %d", len(msg), capacity)
	}
	b, err := decode(direction, dtype, int(rows), int(cols), msg, len(out))
	if err != nil {
		return err
	}
	copy(out, b)
	return nil
}

func activationCompress(h uint64, direction, dtype int, rows, cols int64, data, msg []byte) (int, error) {
	var size int
	err := use(h, "an activation encoder", func(o *object, e *strategy.ActivationEncoder) (err error) {
		size, err = encodeActivation(o, e.Encode, direction, dtype, rows, cols, data, msg)
		return err
	})
	return size, err
}

func newActivationDecoder(h uint64, size int64) (uint64, error) {
	return newObject(h, scoring.ActivationCompressionKind, "an activation decoder", func(m *module) (*object, error) {
		if err := checkTensorSize(size); err != nil {
			return nil, err
		}
		d, err := strategy.NewActivationDecoder(m.engine.ctx, m.engine.eng, m.wasm, int(size), m.limits)
		if err != nil {
			return nil, err
		}
		return &object{s: d, state: d, size: int(size)}, nil
	})
}

func activationDecompress(h uint64, direction, dtype int, rows, cols int64, msg, out []byte) error {
	return use(h, "an activation decoder", func(o *object, d *strategy.ActivationDecoder) error {
		return decodeActivation(o, d.Decode, direction, dtype, rows, cols, msg, out)
	})
}

// newActivationStage makes one pipeline stage of a cut, its encoder and
// decoder in one instance as the benchmark holds them, so a codec that
// keeps state across the directions behaves as it was scored.
// first is 1 for the stage before the cut, 0 for the one after it.
func newActivationStage(h uint64, size int64, first int) (uint64, error) {
	return newObject(h, scoring.ActivationCompressionKind, "an activation stage", func(m *module) (*object, error) {
		if err := checkTensorSize(size); err != nil {
			return nil, err
		}
		if first != 0 && first != 1 {
			return nil, badInput("first %d: 1 (the stage before the cut) or 0 (the stage after it)", first)
		}
		st, err := strategy.NewActivationStage(m.engine.ctx, m.engine.eng, m.wasm, int(size), first == 1, m.limits)
		if err != nil {
			return nil, err
		}
		return &object{s: st, state: st, size: int(size)}, nil
	})
}

func activationStageEncode(h uint64, direction, dtype int, rows, cols int64, data, msg []byte) (int, error) {
	var size int
	err := use(h, "an activation stage", func(o *object, st *strategy.ActivationStage) (err error) {
		size, err = encodeActivation(o, st.Encode, direction, dtype, rows, cols, data, msg)
		return err
	})
	return size, err
}

func activationStageDecode(h uint64, direction, dtype int, rows, cols int64, msg, out []byte) error {
	return use(h, "an activation stage", func(o *object, st *strategy.ActivationStage) error {
		return decodeActivation(o, st.Decode, direction, dtype, rows, cols, msg, out)
	})
}

// anyObject runs fn on object h of any kind.
func anyObject(h uint64, fn func(o *object) error) error {
	o, err := lookup[*object](h, "a strategy object")
	if err != nil {
		return err
	}
	return o.run(h, func() error { return fn(o) })
}

func fuelUsed(h uint64) (int64, error) {
	var fuel int64
	err := anyObject(h, func(o *object) error { fuel = o.s.FuelUsed(); return nil })
	return fuel, err
}

func logOf(h uint64) (string, error) {
	var log string
	err := anyObject(h, func(o *object) error { log = o.s.Log(); return nil })
	return log, err
}
