package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
)

// TestDatabaseOutage: while Postgres does not answer (it accepts
// connections and says nothing, as a stopped postmaster does) or refuses
// them (it is down), every route that needs it answers promptly: 503 with
// Retry-After, the API's as its JSON error, health naming the database,
// and /metrics still serves everything but what it reads from the
// database, with arena_database_up 0. Once Postgres is back, so is every
// route.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	const timeout = 250 * time.Millisecond
	ts := newTestServer(t, serverOptions{proxy: true, dbTimeout: timeout})
	bound := timeout + time.Second
	routes := []struct {
		method, path, key, body string
		json                    bool // the API's JSON error; else a page or health's own
	}{
		{"GET", "/healthz", "", "", false},
		{"GET", "/api/v1/challenges", "", "", true},
		{"GET", "/api/v1/challenges/demo/leaderboard", "", "", true},
		{"GET", "/api/v1/challenges/demo/champion/events", "", "", true},
		{"GET", "/api/v1/submissions/" + ts.submission, "", "", true},
		{"GET", "/api/v1/me", ts.competitor, "", true},
		{"POST", "/api/v1/competitors", "", `{"name":"bob"}`, true},
		{"GET", "/", "", "", false},
		{"GET", "/challenges/demo", "", "", false},
	}
	outages := []struct {
		name  string
		start func()
	}{
		{"hung", ts.proxy.Hang},
		{"refusing", ts.proxy.Refuse},
	}
	for _, o := range outages {
		o.start()
		for _, r := range routes {
			a := ts.do(t, r.method, r.path, r.key, "application/json", []byte(r.body))
			if a.status != 503 || a.header.Get("Retry-After") == "" || a.took > bound {
				t.Errorf("%s %s while Postgres is %s: %d, Retry-After %q, after %s; want 503 with Retry-After within %s\n%s",
					r.method, r.path, o.name, a.status, a.header.Get("Retry-After"), a.took.Round(time.Millisecond), bound, a.body)
			}
			if r.json && (a.err.Error.Code != arena.EUNAVAILABLE || a.err.Error.Message == "") {
				t.Errorf("%s %s while Postgres is %s: body %s, want the JSON error %q", r.method, r.path, o.name, a.body, arena.EUNAVAILABLE)
			}
		}
		if a := ts.do(t, "GET", "/healthz", "", "", nil); !strings.Contains(string(a.body), `"database": "unavailable"`) {
			t.Errorf("health while Postgres is %s: %s", o.name, a.body)
		}
		// The scrape succeeds, with the process's and HTTP's metrics, and
		// says the database is down rather than failing.
		a := ts.do(t, "GET", "/metrics", "", "", nil)
		m := string(a.body)
		if a.status != 200 || a.took > bound || !strings.Contains(m, "\narena_database_up 0\n") || !strings.Contains(m, "\ngo_goroutines ") ||
			!strings.Contains(m, `arena_http_requests_total{code="503"`) || strings.Contains(m, "arena_submissions_queued") {
			t.Errorf("/metrics while Postgres is %s: %d after %s:\n%s", o.name, a.status, a.took, m)
		}

		if err := ts.proxy.Restore(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for ts.do(t, "GET", "/healthz", "", "", nil).status != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("health not back 5 s after Postgres (%s) returned", o.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, r := range routes {
			if r.method != "GET" || strings.HasSuffix(r.path, "/events") {
				continue
			}
			if a := ts.do(t, r.method, r.path, r.key, "", nil); a.status != 200 {
				t.Errorf("%s %s once Postgres (%s) is back: %d %s", r.method, r.path, o.name, a.status, a.body)
			}
		}
		m = string(ts.do(t, "GET", "/metrics", "", "", nil).body)
		if !strings.Contains(m, "\narena_database_up 1\n") || !strings.Contains(m, "\narena_submissions_queued 0\n") {
			t.Errorf("/metrics once Postgres (%s) is back:\n%s", o.name, m)
		}
	}
	if logs := ts.logs.String(); strings.Contains(logs, "internal error") {
		t.Errorf("an outage was logged as an internal error:\n%s", logs)
	}
}
