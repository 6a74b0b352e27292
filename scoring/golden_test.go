package scoring

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden is what a benchmark run is pinned by: scores and losses as exact
// bit patterns, fuel as counts.
type golden struct {
	Example     string       `json:"example"`
	Status      arena.Status `json:"status"`
	Score       string       `json:"score"`
	FuelUsed    int64        `json:"fuel_used"`
	FailedTasks int          `json:"failed_tasks"`
	Tasks       []goldenTask `json:"tasks"`
}

type goldenTask struct {
	Workload string `json:"workload"`
	Seed     uint64 `json:"seed"`
	Loss     string `json:"loss"`
	Baseline string `json:"baseline"`
	FuelUsed int64  `json:"fuel_used"`
}

func bits(f float64) string { return fmt.Sprintf("%v (%#016x)", f, math.Float64bits(f)) }

// TestGoldenScores pins every example's score, losses and fuel with its
// kind's default parameters, one file per kind. A change to a workload, to the
// scoring or to the metering shows up here as a diff; if it is intended,
// bump the kind's or the meter's version and run
// go test ./scoring -run Golden -update. The Go examples' fuel also depends
// on the Go toolchain that builds them (go.mod's go line; the examples are
// built with -trimpath, so builds are reproducible).
func TestGoldenScores(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			checkGolden(t, kind)
		})
	}
}

func checkGolden(t *testing.T, kind string) {
	eng := sandbox.NewEngine(8)
	defer eng.Close(context.Background())
	var params []byte
	switch kind {
	case OptimizerKind, LRScheduleKind:
		params = []byte(tiny(""))
	case ActivationCompressionKind:
		params = []byte(tinyCut(`"min_cosine":0`)) // every example scored, none failed by the spot check
	}
	b, err := New(kind, params)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range exampleModules {
		if strings.HasPrefix(name, kind+"/") {
			names = append(names, name)
		}
	}
	if len(names) < 2 {
		t.Fatalf("kind %s ships %d examples, want at least 2", kind, len(names))
	}
	sort.Strings(names)
	var got []golden
	for _, name := range names {
		ev, err := Evaluate(context.Background(), eng, b, arena.DefaultLimits(), exampleModules[name], nil)
		if err != nil {
			t.Fatal(err)
		}
		g := golden{Example: name, Status: ev.Status, FailedTasks: ev.FailedTasks}
		if ev.Score != nil {
			g.Score = bits(*ev.Score)
		}
		if ev.FuelUsed != nil {
			g.FuelUsed = *ev.FuelUsed
		}
		for _, task := range ev.Tasks {
			gt := goldenTask{Workload: task.Workload, Seed: task.Seed, Baseline: bits(task.BaselineLoss)}
			if task.Loss != nil {
				gt.Loss = bits(*task.Loss)
			}
			if task.FuelUsed != nil {
				gt.FuelUsed = *task.FuelUsed
			}
			g.Tasks = append(g.Tasks, gt)
		}
		got = append(got, g)
	}
	data, _ := json.MarshalIndent(got, "", "  ")
	data = append(data, '\n')
	path := "testdata/golden/" + kind + ".json"
	if *update {
		if err := os.MkdirAll("testdata/golden", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(data) {
		t.Errorf("%s results differ from %s; if intended, bump the version and run with -update.\ngot:\n%s", kind, path, data)
	}
}
