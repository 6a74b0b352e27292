package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

func TestByteSizes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]byteSize{
		"512MiB": 512 << 20, "2GiB": 2 << 30, "1.5 GiB": 3 << 29, "100": 100, "10kb": 10000, "0": 0, "7B": 7,
	} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1GiB", "ten", "1e30"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if s := byteSize(512 << 20).String(); s != "512MiB" {
		t.Errorf("String: %s", s)
	}
	env := env(func(k string) string { return map[string]string{"A": "1GiB", "B": "junk"}[k] })
	if env.sizeOr("A", 5) != 1<<30 || env.sizeOr("B", 5) != 5 || env.sizeOr("C", 5) != 5 {
		t.Error("sizeOr")
	}
}

// serve and worker hand their cache budgets to the engine: a flag of 0
// means no bound, and the environment sets the defaults.
func TestServerEngineTakesTheCacheBudgets(t *testing.T) {
	t.Parallel()
	var cfg config
	c := &cli{stdout: io.Discard, stderr: io.Discard, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		env: func(k string) string { return map[string]string{"ARENA_CACHE_MEMORY": "64MiB"}[k] }}
	fs := c.serverFlags("worker", &cfg)
	if err := fs.Parse([]string{"--cache-dir", t.TempDir(), "--cache-disk", "0"}); err != nil {
		t.Fatal(err)
	}
	eng := c.serverEngine(cfg)
	defer eng.Close(context.Background())
	if s := eng.Stats(); s.MaxMemoryBytes != 64<<20 || !s.Disk || s.MaxDiskBytes != 0 {
		t.Errorf("stats %+v, want 64 MiB of memory and an unbounded disk", s)
	}
	if err := fs.Parse([]string{"--cache-memory", "lots"}); err == nil {
		t.Error("a bad size was accepted")
	}
}
