package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/internal/faultproxy"
	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

// TestOutageIsUnavailable: with a real Postgres behind a proxy that stops
// answering (a stopped postmaster) or refuses connections (a server that
// is down), every kind of call — a row, rows, a write, a transaction, a
// ping — gives up within the store's timeout with an unavailable error,
// and works again once the server is back.
func TestOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	proxy, url := faultproxy.ForURL(t, pgtest.NewDatabase(t))
	ctx := context.Background()
	s, err := store.Open(ctx, url, store.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch := arena.Challenge{Slug: "outage", Title: "outage", Kind: "optimizer", BenchmarkVersion: 1,
		Params: json.RawMessage(`{}`), Limits: arena.DefaultLimits(), Rules: arena.DefaultRules()}
	if err := s.CreateChallenge(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"ping", func() error { return s.Ping(ctx) }},
		{"row", func() error { _, err := s.Challenge(ctx, "outage"); return err }},
		{"rows", func() error { _, err := s.Challenges(ctx); return err }},
		{"write", func() error { return s.UpdateChallenge(ctx, ch) }},
		{"transaction", func() error { _, _, err := s.CreateCompetitor(ctx, "c"+time.Now().Format("150405.000000")); return err }},
		{"counts", func() error { _, _, err := s.PendingCounts(ctx); return err }},
	}
	outages := []struct {
		name  string
		start func()
	}{
		{"hung", proxy.Hang},
		{"refused", proxy.Refuse},
	}
	for _, o := range outages {
		for _, c := range calls {
			if err := c.call(); err != nil {
				t.Fatalf("%s before the %s outage: %v", c.name, o.name, err)
			}
		}
		o.start()
		for _, c := range calls {
			begin := time.Now()
			err := c.call()
			took := time.Since(begin)
			if arena.ErrorCode(err) != arena.EUNAVAILABLE || took > timeout+time.Second {
				t.Errorf("%s while %s: %v after %s, want unavailable within %s", c.name, o.name, err, took, timeout+time.Second)
			}
			if arena.ErrorMessage(err) == "internal error" {
				t.Errorf("%s while %s: the message hides what happened: %v", c.name, o.name, err)
			}
		}
		if err := proxy.Restore(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for s.Ping(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("the store did not recover within 5s of the %s outage's end", o.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Errorf("%s after the outages: %v", c.name, err)
		}
	}
}

// TestTextPostgresRefusesIsInvalid: a value Postgres cannot store as text
// is the caller's mistake, not an internal error, should one get past the
// API's own checks.
func TestTextPostgresRefusesIsInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.NewStore(t)
	for _, c := range []struct{ name, title string }{
		{"NUL", "a\x00b"},
		{"invalid UTF-8", "a\xffb"},
	} {
		ch := arena.Challenge{Slug: "text", Title: c.title, Kind: "optimizer", BenchmarkVersion: 1,
			Params: json.RawMessage(`{}`), Limits: arena.DefaultLimits(), Rules: arena.DefaultRules()}
		if err := s.CreateChallenge(ctx, &ch); arena.ErrorCode(err) != arena.EINVALID {
			t.Errorf("a title with %s: %v, want invalid", c.name, err)
		}
	}
	ch := arena.Challenge{Slug: "json", Title: "json", Kind: "optimizer", BenchmarkVersion: 1,
		Params: json.RawMessage(`{"x":"a\u0000b"}`), Limits: arena.DefaultLimits(), Rules: arena.DefaultRules()}
	if err := s.CreateChallenge(ctx, &ch); arena.ErrorCode(err) != arena.EINVALID {
		t.Errorf("params with \\u0000: %v, want invalid", err)
	}
}
