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

// Every hostile module ends rejected or failed with a reason, and the same
// engine goes on to score a good module afterwards.
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
		{"truncated", good[:len(good)/2], arena.StatusRejected, ""},
		{"wrong version", append([]byte{0, 'a', 's', 'm', 2, 0, 0, 0}, good[8:]...), arena.StatusRejected, "version"},
		{"unknown import", fixture(t, "badimport"), arena.StatusRejected, "env.open_socket is not allowed"},
		{"wrong signature", fixture(t, "badsig"), arena.StatusRejected, "opt_step(i32, i32, i32, i32, f32)"},
		{"huge memory", fixture(t, "bigmem"), arena.StatusRejected, "2048 pages"},
		{"infinite loop", fixture(t, "loop"), arena.StatusFailed, "fuel exhausted"},
		{"trap", fixture(t, "trap"), arena.StatusFailed, "unreachable"},
		{"pointer outside memory", fixture(t, "badptr"), arena.StatusFailed, "outside memory"},
	}
	eng := sandbox.NewEngine(4)
	defer eng.Close(context.Background())
	lim := arena.DefaultLimits()
	lim.FuelPerTask = 10_000_000
	b, err := New(OptimizerKind, []byte(`{"steps":20}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		res, err := Evaluate(context.Background(), eng, b, lim, c.module)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.Status != c.status || res.Error == "" || !strings.Contains(res.Error, c.reason) {
			t.Errorf("%s: status %s, error %q; want %s with %q", c.name, res.Status, res.Error, c.status, c.reason)
		}
		t.Logf("%s: %s: %s", c.name, res.Status, res.Error)
		if res.Score != nil {
			t.Errorf("%s: has score %v", c.name, *res.Score)
		}
	}
	res, err := Evaluate(context.Background(), eng, b, lim, good)
	if err != nil || res.Status != arena.StatusScored {
		t.Fatalf("good module after hostile ones: %v %s %s", err, res.Status, res.Error)
	}
}
