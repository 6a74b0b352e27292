package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/examples"
	"github.com/arena-dev/arena/internal/pgtest"
)

// The end-to-end suite's harness: a real `arena serve` in this process,
// on its own database and NATS, and helpers to drive it. Each subject's
// tests are in a file of their own (loop, kinds, rounds, admin, limits,
// events).

// server is a real `arena serve` running in this process.
type server struct {
	url, adminKey string
	env           map[string]string
	out           *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServer(t *testing.T) *server {
	t.Helper()
	return startServerEnv(t, nil)
}

// startServerEnv starts a server with extra ARENA_* settings.
func startServerEnv(t *testing.T, extra map[string]string) *server {
	t.Helper()
	// No baseline warming: every server seeds the default demo challenge,
	// whose five baselines would cost each test half a minute of CPU
	// (worker/warm_test.go covers warming).
	s := &server{env: map[string]string{"ARENA_DATABASE_URL": pgtest.NewDatabase(t), "ARENA_CACHE_DIR": t.TempDir(), "ARENA_WORKERS": "2",
		"ARENA_WARM_BASELINES": "0"}, out: &syncBuffer{}}
	for k, v := range extra {
		s.env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	c := &cli{stdout: s.out, stderr: s.out, env: s.getenv, serverReady: func(addr string) { ready <- addr }}
	go func() { done <- c.run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, s.out)
		}
	})
	select {
	case addr := <-ready:
		s.url = "http://" + addr
	case code := <-done:
		t.Fatalf("serve exited %d before listening:\n%s", code, s.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready:\n%s", s.out)
	}
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.HasPrefix(line, "arena_") {
			s.adminKey = line
		}
	}
	if s.adminKey == "" {
		t.Fatalf("serve printed no admin key:\n%s", s.out)
	}
	s.env["ARENA_URL"] = s.url
	return s
}

func (s *server) getenv(k string) string { return s.env[k] }

// arena runs a CLI command against the server with the given key.
func (s *server) arena(t *testing.T, key string, args ...string) (stdout string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"ARENA_URL": s.url, "ARENA_KEY": key}
	c := &cli{stdout: &out, stderr: &errOut, env: func(k string) string { return env[k] }}
	code = c.run(context.Background(), args)
	if errOut.Len() > 0 {
		t.Logf("arena %s: stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), code
}

// register registers a competitor through the CLI and returns its key.
func (s *server) register(t *testing.T, name string) string {
	t.Helper()
	key, code := s.arena(t, "", "register", name)
	if code != 0 {
		t.Fatalf("arena register %s: exit %d", name, code)
	}
	return strings.TrimSpace(key)
}

// createChallenge defines a challenge from its JSON spec, as the admin.
func (s *server) createChallenge(t *testing.T, spec string) {
	t.Helper()
	var e apiError
	if code := s.call(t, "POST", "/api/v1/challenges", s.adminKey, "application/json", []byte(spec), &e); code != 201 {
		t.Fatalf("create challenge %s: %d %+v", spec, code, e)
	}
}

// call makes an API request and decodes the JSON answer into out.
func (s *server) call(t *testing.T, method, path, key, contentType string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func buildExamples(t *testing.T) map[string]string {
	t.Helper()
	paths, err := examples.BuildAll(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// waitFor polls a submission (as admin) until done says so.
func waitFor(t *testing.T, s *server, id string, done func(arena.Submission) bool) arena.Submission {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var sub arena.Submission
		s.call(t, "GET", "/api/v1/submissions/"+id, s.adminKey, "", nil, &sub)
		if done(sub) {
			return sub
		}
		if time.Now().After(deadline) {
			t.Fatalf("submission %s: %+v\n%s", id, sub, s.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
