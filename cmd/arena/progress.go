package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/arena-dev/arena"
)

// progressBar shows a waiting submission's way through the queue and its
// evaluation: on a terminal, one line redrawn in place (a bar of the tasks
// done while it runs); otherwise a plain line for each change, so logs
// and pipes read well.
type progressBar struct {
	w        io.Writer
	terminal bool
	last     string // the last line shown
	width    int    // of the line on screen, to blank what a shorter one leaves
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, terminal: isTerminal(w)}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// barWidth is the bar's length in cells.
const barWidth = 24

// progressLine is a submission's state in one line, without the bar.
func progressLine(s arena.Submission, bar bool) string {
	line := fmt.Sprintf("submission %s %s", short(s.ID), s.Status)
	switch {
	case s.Queue != nil:
		q := s.Queue
		line += fmt.Sprintf(", position %d in the queue (%d running)", q.Position, q.Running)
		if q.EstimatedStart != nil {
			if wait := time.Until(*q.EstimatedStart).Round(time.Second); wait > 0 {
				line += fmt.Sprintf(", starts in about %s", wait)
			} else {
				line += ", starting any moment"
			}
		}
	case s.Progress != nil:
		p := s.Progress
		if bar && p.Tasks > 0 {
			filled := barWidth * p.TasksDone / p.Tasks
			line += " [" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "]"
		}
		line += fmt.Sprintf(" %d/%d tasks", p.TasksDone, p.Tasks)
		if p.Score != nil {
			line += fmt.Sprintf(", running score %.4f", *p.Score)
		}
	}
	if s.Requeues > 0 && s.Status == arena.StatusQueued {
		line += " (requeued: " + s.RequeueReason + ")"
	}
	return line
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// show draws s, unless it is final (the caller prints the result) or
// reads as the last line did.
func (b *progressBar) show(s arena.Submission) {
	if s.Status.Final() {
		return
	}
	line := progressLine(s, b.terminal)
	if line == b.last {
		return
	}
	b.last = line
	if !b.terminal {
		fmt.Fprintln(b.w, line)
		return
	}
	pad := max(0, b.width-len(line))
	fmt.Fprint(b.w, "\r"+line+strings.Repeat(" ", pad))
	b.width = len(line)
}

// done ends the redrawn line, so what follows starts on a fresh one.
func (b *progressBar) done() {
	if b.terminal && b.width > 0 {
		fmt.Fprintln(b.w)
	}
}
