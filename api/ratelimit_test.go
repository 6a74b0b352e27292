package api

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterPerClientBuckets(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(rate.Limit(2), 3) // 2 a second, bursts of 3
	steps := []struct {
		client string
		at     time.Duration
		ok     bool
		wait   time.Duration
	}{
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, false, 500 * time.Millisecond}, // the burst is spent
		{"b", 0, true, 0},                       // another client has its own
		{"a", 499 * time.Millisecond, false, time.Millisecond},
		{"a", 500 * time.Millisecond, true, 0}, // one token back
		{"a", 500 * time.Millisecond, false, 500 * time.Millisecond},
		{"a", 10 * time.Second, true, 0}, // full again
	}
	for i, s := range steps {
		ok, wait := l.allow(s.client, start.Add(s.at))
		if ok != s.ok || wait != s.wait {
			t.Errorf("step %d (%s at %s): allowed %v, wait %s; want %v, %s", i, s.client, s.at, ok, wait, s.ok, s.wait)
		}
	}
	// A denied request costs nothing: the client is not pushed further back.
	if ok, _ := l.allow("a", start.Add(10*time.Second)); !ok {
		t.Error("second request of a fresh burst denied")
	}
	// Idle buckets are forgotten on a later sweep, and come back full.
	l.allow("c", start.Add(time.Hour))
	if _, ok := l.clients["b"]; ok {
		t.Error("an idle client's bucket was kept")
	}
	if len(l.clients) != 1 {
		t.Errorf("%d buckets after the sweep, want only c's", len(l.clients))
	}
}

func TestStreamSlotsPerClientAndInAll(t *testing.T) {
	t.Parallel()
	var l streamSlots
	for i := range maxStreamsPerClient {
		if !l.take("a") {
			t.Fatalf("stream %d of client a refused", i+1)
		}
	}
	if l.take("a") {
		t.Error("client a got more than its share of streams")
	}
	if !l.take("b") {
		t.Error("client b refused while a is at its limit")
	}
	l.give("a")
	if !l.take("a") {
		t.Error("a closed stream's slot was not given back")
	}
	for range maxStreamsPerClient {
		l.give("a")
	}
	l.give("b")
	if l.total != 0 || len(l.open) != 0 {
		t.Errorf("after every stream closed: total %d, clients %v", l.total, l.open)
	}
	l.total = maxStreams
	if l.take("c") {
		t.Error("a stream opened past the server's limit")
	}
}
