package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/api"
	"github.com/arena-dev/arena/internal/faultproxy"
	"github.com/arena-dev/arena/internal/natstest"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/metrics"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/store"
	"github.com/arena-dev/arena/web"
)

// testServer is the whole HTTP surface (API, pages, health, metrics) on
// a real loopback listener, over a real Postgres and an in-process NATS.
// It has no sandbox engine: no test here gets as far as validating a
// module.
type testServer struct {
	url                    string
	api                    *api.Server
	store                  *store.Store
	queue                  *queue.Queue
	proxy                  *faultproxy.Proxy // between the store and Postgres, when asked for
	admin, competitor      string            // API keys
	challenge              arena.Challenge   // "demo", taking modules of at most 1 KiB
	submission             string            // a scored submission's ID
	logs                   *syncWriter
	dbTimeout, bodyTimeout time.Duration
}

type serverOptions struct {
	proxy       bool          // put a faultproxy between the store and Postgres
	dbTimeout   time.Duration // 0: store.DefaultTimeout
	bodyTimeout time.Duration // 0: api.DefaultBodyTimeout
	queuePoll   time.Duration // 0: api.DefaultQueuePoll
}

func newTestServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	ts := &testServer{logs: &syncWriter{w: &bytes.Buffer{}}, dbTimeout: o.dbTimeout, bodyTimeout: o.bodyTimeout}
	if o.proxy {
		ts.proxy, url = faultproxy.ForURL(t, url)
	}
	var opts []store.Option
	if o.dbTimeout > 0 {
		opts = append(opts, store.WithTimeout(o.dbTimeout))
	}
	st, err := store.Open(ctx, url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ts.store = st
	ts.queue = natstest.NewQueue(t, queue.DefaultConfig())
	signer, err := receipt.NewSigner(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(ts.logs, nil))
	ts.api = &api.Server{Store: st, Queue: ts.queue, Signer: signer, Metrics: metrics.New(st.PendingCounts),
		BodyTimeout: o.bodyTimeout, HealthTimeout: o.dbTimeout, Logger: logger, Workers: 1, QueuePoll: o.queuePoll}
	pages, err := web.New(st, logger, web.Options{Actions: ts.api, SessionSecret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts.api.Router(pages))
	t.Cleanup(srv.Close)
	ts.url = srv.URL

	if ts.admin, err = st.CreateKey(ctx, arena.RoleAdmin, "admin"); err != nil {
		t.Fatal(err)
	}
	alice, key, err := st.CreateCompetitor(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ts.competitor = key
	ts.challenge, err = api.NewChallenge(arena.ChallengeSpec{Slug: "demo", Kind: "optimizer", Limits: json.RawMessage(`{"max_module_bytes":1024}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateChallenge(ctx, &ts.challenge); err != nil {
		t.Fatal(err)
	}
	sub, err := st.CreateSubmission(ctx, ts.challenge, alice.ID, []byte("\x00asm\x01\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	score := 0.5
	if _, err := st.Finish(ctx, sub.ID, arena.Evaluation{Status: arena.StatusScored, Score: &score, PublicScore: &score, Round: 1}, nil); err != nil {
		t.Fatal(err)
	}
	ts.submission = sub.ID
	return ts
}

// syncWriter lets the server's goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// answer is what a request got.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
	err    apiError
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// do sends a request with the given key (none when "") and reads the
// whole answer. path is sent as it is, escapes and all.
func (ts *testServer) do(t *testing.T, method, path, key, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	begin := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: data, took: time.Since(begin)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(data, &a.err)
	}
	return a
}
