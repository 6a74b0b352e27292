package sandbox

import (
	"fmt"
	"sync"
)

// tailLog keeps the last max bytes a guest writes to stdout and stderr and
// counts what it dropped, so a log flood costs bounded memory.
type tailLog struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func newTailLog(max int) *tailLog { return &tailLog{max: max} }

func (l *tailLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.max <= 0 {
		l.dropped += int64(n)
		return n, nil
	}
	if len(p) > l.max {
		l.dropped += int64(len(p) - l.max)
		p = p[len(p)-l.max:]
	}
	if over := len(l.buf) + len(p) - l.max; over > 0 {
		l.dropped += int64(over)
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	l.buf = append(l.buf, p...)
	return n, nil
}

// String returns the kept tail, prefixed by a note when bytes were dropped.
func (l *tailLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped > 0 {
		return fmt.Sprintf("[%d earlier bytes dropped]\n%s", l.dropped, l.buf)
	}
	return string(l.buf)
}
