package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena/metrics"
)

// TestScrapeWithoutTheDatabase: a scrape succeeds whether or not the
// database answers; what is read from it is there only when it does, and
// arena_database_up says which. (api's TestDatabaseOutage scrapes a
// server whose real Postgres stops answering.)
func TestScrapeWithoutTheDatabase(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		pending   metrics.PendingFunc
		want, not []string
	}{
		{"answering", func(context.Context) (int, int, error) { return 3, 1, nil },
			[]string{"\narena_database_up 1\n", "\narena_submissions_queued 3\n", "\narena_submissions_running 1\n"}, nil},
		{"refusing", func(context.Context) (int, int, error) { return 0, 0, errors.New("connection refused") },
			[]string{"\narena_database_up 0\n"}, []string{"arena_submissions_queued", "arena_submissions_running"}},
		{"hung", func(ctx context.Context) (int, int, error) { <-ctx.Done(); return 0, 0, ctx.Err() },
			[]string{"\narena_database_up 0\n"}, []string{"arena_submissions_queued"}},
	} {
		m := metrics.New(c.pending)
		m.Request("GET", "/healthz", 503, time.Millisecond, false)
		begin := time.Now()
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		text := string(body)
		if rec.Code != 200 || time.Since(begin) > 5*time.Second {
			t.Errorf("%s: scrape %d after %s", c.name, rec.Code, time.Since(begin))
		}
		for _, w := range append(c.want, "\ngo_goroutines ", `arena_http_requests_total{code="503",method="GET",route="/healthz"} 1`) {
			if !strings.Contains(text, w) {
				t.Errorf("%s: no %q in\n%s", c.name, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(text, n) {
				t.Errorf("%s: %q while the database is down:\n%s", c.name, n, text)
			}
		}
	}
}
