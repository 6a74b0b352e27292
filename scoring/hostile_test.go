package scoring

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../sandbox/testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every hostile module ends rejected or failed with a reason, stopped by
// fuel rather than the wall clock, and the same engine goes on to score a
// good module afterwards.
func TestHostileModulesEndWithAReason(t *testing.T) {
	t.Parallel()
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	good := exampleModules["optimizer/signsgd"]
	cases := []struct {
		name   string
		module []byte
		status arena.Status
		reason string
	}{
		{"random bytes", random, arena.StatusRejected, "not a WebAssembly module"},
		{"empty", nil, arena.StatusRejected, "not a WebAssembly module"},
		{"truncated", good[:len(good)/2], arena.StatusRejected, "malformed module"},
		{"wrong version", append([]byte{0, 'a', 's', 'm', 2, 0, 0, 0}, good[8:]...), arena.StatusRejected, "version"},
		// 30 bytes claiming ~800 million exports: wazero's decoder would
		// allocate 32 GB for them; the meter's structural pass refuses first.
		{"allocation bomb", []byte("\x00asm\x01\x00\x00\x00\as\xfc\xfc\xfc\xfc\x02\n\r\x03\x05\x00A\x80\b\v\x02\x00\v\x02\x00c"), arena.StatusRejected, "malformed"},
		{"unknown import", fixture(t, "badimport"), arena.StatusRejected, "env.open_socket is not allowed"},
		{"wrong signature", fixture(t, "badsig"), arena.StatusRejected, "opt_step(i32, i32, i32, i32, f32)"},
		{"huge initial memory", fixture(t, "bigmem"), arena.StatusRejected, "2048 pages"},
		{"memory may grow to 4 GiB", fixture(t, "growmax"), arena.StatusRejected, "may grow to 65536 pages"},
		{"huge table", fixture(t, "hugetable"), arena.StatusRejected, "10000000 elements"},
		{"unbounded table growth", fixture(t, "tablebomb"), arena.StatusRejected, "no maximum and the module uses table.grow"},
		{"reserved export", fixture(t, "reserved"), arena.StatusRejected, "reserved"},
		{"threads", fixture(t, "atomics"), arena.StatusRejected, "threads"},
		{"infinite loop", fixture(t, "loop"), arena.StatusFailed, "fuel exhausted"},
		{"counted loop of 2^32 passes", fixture(t, "countedbomb"), arena.StatusFailed, "fuel exhausted"},
		{"recursion without loops", fixture(t, "recurse"), arena.StatusFailed, "opt_step"},
		{"mutual recursion with loops", fixture(t, "pingpong"), arena.StatusFailed, "opt_step"},
		{"memory growth bomb", fixture(t, "membomb"), arena.StatusFailed, "fuel exhausted"},
		{"bulk memory bomb", fixture(t, "bulkbomb"), arena.StatusFailed, "fuel exhausted"},
		{"trap in arena_alloc", fixture(t, "trapalloc"), arena.StatusFailed, "arena_alloc: wasm error: unreachable"},
		{"trap in opt_init", fixture(t, "trapinit"), arena.StatusFailed, "opt_init: wasm error: integer divide by zero"},
		{"trap in opt_step", fixture(t, "trap"), arena.StatusFailed, "opt_step: wasm error: unreachable"},
		{"trap in the start function", fixture(t, "trapstart"), arena.StatusFailed, "instantiation (arena_start): wasm error: unreachable"},
		{"trap in _initialize", fixture(t, "trapinitialize"), arena.StatusFailed, "instantiation (_initialize): wasm error: out of bounds memory access"},
		{"pointer outside memory", fixture(t, "badptr"), arena.StatusFailed, "outside memory"},
		{"unaligned pointer", fixture(t, "unaligned"), arena.StatusFailed, "not 8-aligned"},
		{"NaN parameters", fixture(t, "nan"), arena.StatusFailed, "diverged: the loss became NaN"},
		{"infinite parameters", fixture(t, "inf"), arena.StatusFailed, "diverged"},
		{"proc_exit", fixture(t, "procexit"), arena.StatusFailed, "module exited with code 3"},
	}
	eng := sandbox.NewEngine(4)
	defer eng.Close(context.Background())
	lim := arena.DefaultLimits()
	lim.FuelPerTask = 10_000_000
	b, err := New(OptimizerKind, []byte(`{"workloads":["quadratic"],"steps":20}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		res, err := Evaluate(context.Background(), eng, b, lim, c.module, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.Status != c.status || res.Error == "" || !strings.Contains(res.Error, c.reason) {
			t.Errorf("%s: status %s, error %q; want %s with %q", c.name, res.Status, res.Error, c.status, c.reason)
		}
		t.Logf("%-28s %-8s %s", c.name, res.Status, res.Error)
		if strings.Contains(res.Error, "time limit") {
			t.Errorf("%s: stopped by the clock, not by fuel: %s", c.name, res.Error)
		}
		if res.Score != nil {
			t.Errorf("%s: has score %v", c.name, *res.Score)
		}
	}

	// A log flood is cut to its tail and the module is still scored.
	res, err := Evaluate(context.Background(), eng, b, lim, fixture(t, "logflood"), nil)
	if err != nil || res.Status != arena.StatusScored {
		t.Fatalf("log flood: %v %s %s", err, res.Status, res.Error)
	}
	for _, task := range res.Tasks {
		if len(task.Log) > lim.MaxLogBytes+100 || !strings.Contains(task.Log, "earlier bytes dropped") {
			t.Errorf("log flood: task log of %d bytes: %.80q", len(task.Log), task.Log)
		}
	}

	res, err = Evaluate(context.Background(), eng, b, lim, good, nil)
	if err != nil || res.Status != arena.StatusScored || res.TimedOut {
		t.Fatalf("good module after hostile ones: %v %s %s", err, res.Status, res.Error)
	}
}

// When the wall-clock safety net stops a task, the remaining tasks are
// skipped rather than run into the same wall. Not parallel: a spinning
// guest cannot be preempted, and the timer that stops it needs a core.
func TestTimeOutSkipsTheRemainingTasks(t *testing.T) {
	eng := sandbox.NewEngine(1)
	defer eng.Close(context.Background())
	lim := arena.DefaultLimits()
	lim.FuelPerTask = arena.MaxFuelPerTask // too much to run out in time
	lim.TaskTimeoutMS = 50
	b, err := New(OptimizerKind, []byte(`{"workloads":["quadratic"],"steps":5}`))
	if err != nil {
		t.Fatal(err)
	}
	// One task at a time, so the first task's time-out is seen before
	// any other starts (tasks already running when one times out finish
	// on their own limits).
	res, err := EvaluateWith(context.Background(), eng, b, lim, fixture(t, "loop"), nil, Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != arena.StatusFailed || res.FailedTasks != len(res.Tasks) || !strings.Contains(res.Error, "exceeded the time limit") || !res.TimedOut {
		t.Fatalf("status %s, %d of %d failed, error %q", res.Status, res.FailedTasks, len(res.Tasks), res.Error)
	}
	for _, task := range res.Tasks[1:] {
		if task.Error != "not run: an earlier task exceeded the time limit" || task.FuelUsed != nil {
			t.Errorf("%s seed %d: %+v, want skipped", task.Workload, task.Seed, task)
		}
	}
}
