package worker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/store"
)

// logBuffer collects a worker's log, text-formatted, for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// longOutage is the outage ARENA_OUTAGE asks for (say 45s), for the tests
// that stage one: with it they run at full length with arena serve's
// settings throughout, as scripts/outage.sh does to measure recovery;
// without it, for short with short settings, as make test does.
func longOutage(t *testing.T) (time.Duration, bool) {
	t.Helper()
	v := os.Getenv("ARENA_OUTAGE")
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("ARENA_OUTAGE=%q: want a duration such as 45s", v)
	}
	return d, true
}

// fixture is a database with a challenge and a competitor, and the
// receipt key, on st.
func fixture(t *testing.T, st *store.Store, q *queue.Queue) env {
	t.Helper()
	ctx := context.Background()
	ch := arena.Challenge{Slug: "opt", Title: "opt", Kind: "optimizer", BenchmarkVersion: 1,
		Params: json.RawMessage(`{"workloads":["quadratic"],"seeds":[1],"steps":50}`), Limits: arena.DefaultLimits(), Rules: arena.DefaultRules()}
	if err := st.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	who, _, err := st.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := st.Secret(ctx, store.SecretReceiptKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return env{store: st, queue: q, ch: ch, who: who, signer: signer}
}

// signSGD is examples/optimizer/signsgd.wasm with a step size of its own
// (0.05 + i/1000), so that each is new code, not a copy.
func signSGD(t *testing.T, i int) []byte {
	t.Helper()
	mod := module(t, "examples/optimizer/signsgd.wasm")
	lr := binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.05))
	if bytes.Count(mod, lr) != 1 {
		t.Fatal("signsgd.wasm: its step size 0.05 is not where this test looks for it")
	}
	return bytes.Replace(mod, lr, binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.05+float64(i)/1000)), 1)
}

// receipts counts each submission's receipts.
func receipts(t *testing.T, url string) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT submission_id::text, count(*) FROM receipts GROUP BY submission_id`)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		n[id] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func openStore(t *testing.T, url string, opts ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}
