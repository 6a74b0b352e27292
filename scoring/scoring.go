// Package scoring holds Arena's benchmark kinds. A kind is a host-driven
// simulation: it owns the data, the model and the loss, and calls the guest
// only for the decision being competed on. Evaluate is the one code path
// that both the workers and `arena eval` run.
package scoring

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/arena-dev/arena/detmath"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// Task scores: a task's score is bounded to [WorstTaskScore, BestTaskScore];
// a task that fails (trap, time-out, bad pointer) or ends with a loss that
// is not finite scores WorstTaskScore.
const (
	WorstTaskScore = -10.0
	BestTaskScore  = 10.0
)

// Task is one (workload, seed) pair of an evaluation.
type Task struct {
	Workload string
	Seed     uint64
}

// Benchmark is one benchmark kind configured with validated parameters.
// It is safe for concurrent use, and worth reusing across evaluations of
// the same challenge: it remembers its baselines.
type Benchmark interface {
	Kind() string
	Version() int
	ABI() sandbox.ABI
	// Params returns the normalized parameters, defaults filled in.
	Params() any
	// Workloads and Seeds are the parameters' workloads and public seeds:
	// an evaluation runs one task per workload and seed.
	Workloads() []string
	Seeds() []uint64
	// FailedTaskScore is the score of a task the guest failed: the
	// kind's worst.
	FailedTaskScore() float64
	// RunTask drives the guest through one task. It returns the result
	// with loss, baseline and score set, or an error when the guest failed.
	RunTask(inst *sandbox.Instance, task Task) (arena.TaskResult, error)
}

type kind struct {
	version int
	parse   func(raw json.RawMessage) (Benchmark, error)
	fuel    int64 // the default fuel_per_task, when not arena.DefaultFuelPerTask
}

var kinds = map[string]kind{
	OptimizerKind:             {version: optimizerVersion, parse: parseOptimizer},
	LRScheduleKind:            {version: lrScheduleVersion, parse: parseLRSchedule},
	GradCompressionKind:       {version: gradCompressionVersion, parse: parseGradCompression, fuel: gradCompressionFuel},
	ActivationCompressionKind: {version: activationCompressionVersion, parse: parseActivationCompression},
}

// Kinds lists the benchmark kinds by name.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// DefaultLimits are the limits a challenge of kind gets when it names
// none: arena.DefaultLimits, with the kind's own default fuel budget
// where its tasks need more (grad_compression runs nine instances a
// task).
func DefaultLimits(kindName string) arena.Limits {
	l := arena.DefaultLimits()
	if k, ok := kinds[kindName]; ok && k.fuel > 0 {
		l.FuelPerTask = k.fuel
	}
	return l
}

// New validates params for kind and returns the configured benchmark.
// Errors are *arena.Error with code EINVALID, naming the offending field.
func New(kindName string, params json.RawMessage) (Benchmark, error) {
	k, ok := kinds[kindName]
	if !ok {
		return nil, arena.Errorf(arena.EINVALID, "kind: unknown kind %q (known: %s)", kindName, strings.Join(Kinds(), ", "))
	}
	return k.parse(params)
}

// Tasks lists an evaluation's tasks in the order EvaluateWith runs them:
// one per workload and public seed, then one per workload and hidden seed.
func Tasks(b Benchmark, hidden []uint64) []Task {
	return append(crossTasks(b.Workloads(), b.Seeds()), crossTasks(b.Workloads(), hidden)...)
}

// BaselineWarmer is a Benchmark whose baselines can be computed ahead of
// the submissions that need them (the LM kinds', which cost as much as a
// submission's run): WarmBaseline computes into the very memo RunTask
// reads, with the same code, so a warmed task's baseline is simply there
// when an evaluation asks for it.
type BaselineWarmer interface {
	Benchmark
	// WarmBaseline computes task's baseline unless it is remembered or
	// being computed (then it waits for that), and reports whether this
	// call computed it. A baseline once begun runs to its end: half of one
	// would poison the memo.
	WarmBaseline(task Task) (computed bool)
	// BaselineKnown reports whether task's baseline is remembered or
	// being computed.
	BaselineKnown(task Task) bool
}

// crossTasks is one task per workload and seed.
func crossTasks(workloads []string, seeds []uint64) []Task {
	var ts []Task
	for _, w := range workloads {
		for _, s := range seeds {
			ts = append(ts, Task{Workload: w, Seed: s})
		}
	}
	return ts
}

// badParam is the error for an invalid parameter: it names the field.
func badParam(field, format string, args ...any) error {
	return arena.Errorf(arena.EINVALID, "params.%s: %s", field, fmt.Sprintf(format, args...))
}

// validateNames checks that names lists known ones, each at most once.
func validateNames(field string, names, known []string) error {
	if len(names) == 0 {
		return badParam(field, "name at least one of %v", known)
	}
	for i, w := range names {
		if !slices.Contains(known, w) {
			return badParam(field, "unknown workload %q (known: %v)", w, known)
		}
		if slices.Contains(names[:i], w) {
			return badParam(field, "%q is listed twice", w)
		}
	}
	return nil
}

// validateSeeds checks a task seed list: 1 to 64 distinct seeds below 2^63.
func validateSeeds(seeds []uint64) error {
	if len(seeds) == 0 || len(seeds) > 64 {
		return badParam("seeds", "give between 1 and 64 seeds")
	}
	for i, s := range seeds {
		if s > math.MaxInt64 {
			return badParam("seeds", "seed %d is above 2^63-1", s)
		}
		if slices.Contains(seeds[:i], s) {
			return badParam("seeds", "seed %d is listed twice", s)
		}
	}
	return nil
}

// decodeParams decodes raw into dst strictly: unknown fields are errors.
func decodeParams(raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return arena.Errorf(arena.EINVALID, "params: %v", err)
	}
	return nil
}

// SandboxLimits converts a challenge's limits to the sandbox's.
func SandboxLimits(l arena.Limits) sandbox.Limits {
	return sandbox.Limits{
		MaxModuleBytes: l.MaxModuleBytes,
		MemoryPages:    l.MemoryPages,
		Fuel:           l.FuelPerTask,
		TaskTimeout:    time.Duration(l.TaskTimeoutMS) * time.Millisecond,
		MaxLogBytes:    l.MaxLogBytes,
	}
}

// Options tune how an evaluation runs, never what it computes: results
// are the same bits with any options.
type Options struct {
	// Parallel is how many tasks run at once (at least 1; 0 means one per
	// CPU, runtime.GOMAXPROCS). Each task is single-threaded.
	Parallel int
	// Progress, when set, is called after each task finishes, from the
	// goroutine that ran it, with the number done and the total.
	Progress func(done, total int, task arena.TaskResult)
}

// Evaluate is EvaluateWith with default options.
func Evaluate(ctx context.Context, eng *sandbox.Engine, b Benchmark, lim arena.Limits, wasm []byte, hidden []uint64) (arena.Evaluation, error) {
	return EvaluateWith(ctx, eng, b, lim, wasm, hidden, Options{})
}

// EvaluateWith validates wasm, runs every task of b in a fresh instance
// and aggregates the score: one task per workload and public seed, then,
// when hidden is not empty, one per workload and hidden seed. Tasks run in
// parallel, up to opt.Parallel at once, and are reported in that order.
// The official Score is the mean over the hidden tasks when there are
// any, else over the public ones; PublicScore is the mean over the public
// tasks, which is what `arena eval` computes without the hidden seeds. A
// module that fails validation is rejected; one whose every task fails is
// failed. An error return means the evaluation itself could not finish
// (the host is shutting down): nothing is decided.
func EvaluateWith(ctx context.Context, eng *sandbox.Engine, b Benchmark, lim arena.Limits, wasm []byte, hidden []uint64, opt Options) (arena.Evaluation, error) {
	res := arena.Evaluation{BenchmarkVersion: b.Version()}
	sl := SandboxLimits(lim)
	mod, err := eng.Load(ctx, wasm, b.ABI(), sl)
	if err != nil {
		var rej *sandbox.RejectError
		if errors.As(err, &rej) {
			res.Status = arena.StatusRejected
			res.Error = rej.Reason
			return res, nil
		}
		return res, fmt.Errorf("load module: %w", err)
	}
	defer mod.Release(ctx)

	tasks := Tasks(b, hidden)
	public := len(b.Workloads()) * len(b.Seeds())
	runs, err := runTasks(ctx, mod, b, tasks, sl, opt)
	if err != nil {
		return res, err
	}
	var sums [2]float64 // public, hidden
	for i, run := range runs {
		task, tr := tasks[i], run.result
		res.TimedOut = res.TimedOut || run.timedOut
		res.GuestTime += run.guest
		tr.Hidden = i >= public
		if tr.Error != "" {
			tr.Score = b.FailedTaskScore()
			tr.Loss = nil
			res.FailedTasks++
			if res.Error == "" {
				name := fmt.Sprintf("%s seed %d", task.Workload, task.Seed)
				if tr.Hidden {
					name = fmt.Sprintf("%s hidden seed #%d", task.Workload, (i-public)%len(hidden)+1)
				}
				res.Error = fmt.Sprintf("%s: %s", name, tr.Error)
			}
		}
		if tr.Hidden {
			sums[1] += tr.Score
		} else {
			sums[0] += tr.Score
		}
		if tr.FuelUsed != nil {
			total := *tr.FuelUsed
			if res.FuelUsed != nil {
				total += *res.FuelUsed
			}
			res.FuelUsed = &total
		}
		res.Tasks = append(res.Tasks, tr)
	}
	if res.FailedTasks == len(res.Tasks) {
		res.Status = arena.StatusFailed
		return res, nil
	}
	publicScore := sums[0] / float64(public)
	res.Status, res.PublicScore, res.Score = arena.StatusScored, &publicScore, &publicScore
	if hiddenTasks := len(tasks) - public; hiddenTasks > 0 {
		official := sums[1] / float64(hiddenTasks)
		res.Score = &official
	}
	if res.FailedTasks == 0 {
		res.Error = ""
	}
	return res, nil
}

// runTasks runs tasks on up to opt.Parallel goroutines and returns their
// runs in task order. Once a task exceeds the wall-clock limit, tasks not
// yet started are not run: they would burn the worker's time the same way.
func runTasks(ctx context.Context, mod *sandbox.Module, b Benchmark, tasks []Task, sl sandbox.Limits, opt Options) ([]taskRun, error) {
	parallel := opt.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	parallel = min(parallel, len(tasks))
	runs := make([]taskRun, len(tasks))
	var (
		mu       sync.Mutex
		next     int
		done     int
		timedOut bool
		firstErr error
		wg       sync.WaitGroup
	)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next == len(tasks) || firstErr != nil {
					mu.Unlock()
					return
				}
				i, skip := next, timedOut
				next++
				mu.Unlock()
				task := tasks[i]
				run := taskRun{result: arena.TaskResult{Workload: task.Workload, Seed: task.Seed,
					Error: "not run: an earlier task exceeded the time limit"}}
				if !skip {
					var err error
					if run, err = runTask(ctx, mod, b, task, sl); err != nil {
						mu.Lock()
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				runs[i] = run
				timedOut = timedOut || run.timedOut
				done++
				n := done
				mu.Unlock()
				if opt.Progress != nil {
					opt.Progress(n, len(tasks), run.result)
				}
			}
		}()
	}
	wg.Wait()
	return runs, firstErr
}

// taskRun is one task's outcome and what it cost.
type taskRun struct {
	result   arena.TaskResult
	guest    time.Duration // wall time inside the module
	timedOut bool          // the wall-clock safety net stopped it
}

// runTask runs one task in a fresh instance. An error means the host could
// not finish it; the module's own failures are in the result.
func runTask(ctx context.Context, mod *sandbox.Module, b Benchmark, task Task, lim sandbox.Limits) (taskRun, error) {
	run := taskRun{result: arena.TaskResult{Workload: task.Workload, Seed: task.Seed}}
	inst, err := mod.Instantiate(ctx, task.Seed, lim)
	if err == nil {
		defer inst.Close(ctx)
		run.result, err = b.RunTask(inst, task)
		run.result.Log = storable(inst.Log())
		fuel := inst.FuelUsed()
		run.result.FuelUsed = &fuel
		run.guest = inst.GuestTime()
	}
	if err == nil {
		return run, nil
	}
	if ctx.Err() != nil {
		return run, fmt.Errorf("evaluation interrupted: %w", context.Cause(ctx))
	}
	var re *sandbox.RunError
	if !errors.As(err, &re) {
		return run, err
	}
	run.result.Workload, run.result.Seed = task.Workload, task.Seed
	run.result.Error = storable(re.Error())
	if re.Detail != "" {
		run.result.Log += storable(re.Detail) + "\n"
	}
	run.timedOut = re.TimedOut
	return run, nil
}

// storable makes text a module controls (its log, the messages it traps
// with) valid UTF-8 without NUL bytes, which Postgres text and jsonb
// refuse: a module must not be able to make its own result unrecordable.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// lossScore compares a final loss with the baseline's on a log scale:
// ln(baseline/loss), so 0 matches the baseline and 0.01 is about 1% lower
// loss. Losses are floored at lossFloor and the result is clamped; a loss
// that is not finite scores WorstTaskScore.
func lossScore(loss, baseline float64) float64 {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return WorstTaskScore
	}
	const lossFloor = 1e-12
	s := detmath.Log(math.Max(baseline, lossFloor)) - detmath.Log(math.Max(loss, lossFloor))
	return math.Max(WorstTaskScore, math.Min(BestTaskScore, s))
}

// memo remembers a value per key, computed once: a task's baseline
// depends only on the benchmark's parameters and the task and costs as
// much as a submission's run, so a benchmark reused across submissions
// computes it once. Concurrent first uses of a key wait for one
// computation.
type memo[K comparable, V any] struct {
	mu     sync.Mutex
	values map[K]*memoEntry[V]
}

type memoEntry[V any] struct {
	once  sync.Once
	value V
}

func (m *memo[K, V]) get(key K, compute func() V) V {
	m.mu.Lock()
	if m.values == nil {
		m.values = map[K]*memoEntry[V]{}
	}
	e, ok := m.values[key]
	if !ok {
		e = &memoEntry[V]{}
		m.values[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.value = compute() })
	return e.value
}

// known reports whether key's value is computed or being computed.
func (m *memo[K, V]) known(key K) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.values[key]
	return ok
}

// warm is get for its side effect: it reports whether this call computed
// key's value.
func (m *memo[K, V]) warm(key K, compute func() V) (computed bool) {
	m.get(key, func() V { computed = true; return compute() })
	return computed
}

// baselineMemo remembers the baseline's final loss per task.
type baselineMemo = memo[Task, float64]

// lossResult is a task's result for kinds scored by final loss against
// the baseline's: a loss that stops being finite fails the task.
func lossResult(task Task, loss, baselineLoss float64) arena.TaskResult {
	tr := arena.TaskResult{Workload: task.Workload, Seed: task.Seed, BaselineLoss: baselineLoss,
		Loss: finite(loss), Score: lossScore(loss, baselineLoss)}
	if tr.Loss == nil {
		tr.Error = fmt.Sprintf("diverged: the loss became %v", loss)
	}
	return tr
}

// finite returns &v when v is finite, else nil, so JSON never sees NaN.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Prepare validates a challenge's kind, params, limits and rules and
// normalizes its params (defaults filled in) and benchmark version.
func Prepare(c *arena.Challenge) error {
	b, err := New(c.Kind, c.Params)
	if err != nil {
		return err
	}
	if err := c.Limits.Validate(); err != nil {
		return err
	}
	if err := c.Rules.Validate(); err != nil {
		return err
	}
	params, err := json.Marshal(b.Params())
	if err != nil {
		return fmt.Errorf("encode params: %w", err)
	}
	c.Params = params
	c.BenchmarkVersion = b.Version()
	return nil
}
