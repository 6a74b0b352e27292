package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
)

// TestProgressBar: on a terminal, one line redrawn in place, with a bar
// of the tasks done; elsewhere, a plain line per change; repeats and the
// final state are not drawn.
func TestProgressBar(t *testing.T) {
	t.Parallel()
	half, start := 0.5, time.Now().Add(90*time.Second)
	id := "6985f0f1-0000-0000-0000-000000000000"
	updates := []arena.Submission{
		{ID: id, Status: arena.StatusQueued, Queue: &arena.QueuePlace{Position: 3, Running: 2, Workers: 2, EstimatedStart: &start}},
		{ID: id, Status: arena.StatusQueued, Queue: &arena.QueuePlace{Position: 3, Running: 2, Workers: 2, EstimatedStart: &start}},
		{ID: id, Status: arena.StatusQueued, Queue: &arena.QueuePlace{Position: 1, Running: 2, Workers: 2}},
		{ID: id, Status: arena.StatusRunning},
		{ID: id, Status: arena.StatusRunning, Progress: &arena.Progress{TasksDone: 2, Tasks: 4, Score: &half}},
		{ID: id, Status: arena.StatusScored},
	}
	cases := []struct {
		terminal bool
		want     string
	}{
		{false, "submission 6985f0f1 queued, position 3 in the queue (2 running), starts in about 1m30s\n" +
			"submission 6985f0f1 queued, position 1 in the queue (2 running)\n" +
			"submission 6985f0f1 running\n" +
			"submission 6985f0f1 running 2/4 tasks, running score 0.5000\n"},
		{true, redrawn(
			"submission 6985f0f1 queued, position 3 in the queue (2 running), starts in about 1m30s",
			"submission 6985f0f1 queued, position 1 in the queue (2 running)",
			"submission 6985f0f1 running",
			"submission 6985f0f1 running [############............] 2/4 tasks, running score 0.5000") + "\n"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		b := &progressBar{w: &out, terminal: c.terminal}
		for _, u := range updates {
			b.show(u)
		}
		b.done()
		// The estimate counts down as the test runs: a second either way.
		got := strings.ReplaceAll(out.String(), "1m29s", "1m30s")
		if got != c.want {
			t.Errorf("terminal %v:\n got %q\nwant %q", c.terminal, got, c.want)
		}
	}
}

// redrawn is lines drawn over each other: each after a carriage return,
// padded with spaces over what the longer one before it left.
func redrawn(lines ...string) string {
	var out string
	width := 0
	for _, l := range lines {
		out += "\r" + l + strings.Repeat(" ", max(0, width-len(l)))
		width = len(l)
	}
	return out
}
