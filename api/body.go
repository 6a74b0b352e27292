package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arena-dev/arena"
)

// DefaultBodyTimeout is how long a request body may take to arrive when
// the server is not told otherwise: an 8 MiB module at 280 KiB/s.
const DefaultBodyTimeout = 30 * time.Second

// lingerTime bounds how long the server goes on reading a body it did
// not use (one too large, or sent to a request refused before its body
// was read), so the client, still sending, gets to read the answer
// rather than a reset connection.
const lingerTime = 5 * time.Second

// bodyDeadline bounds the time a request's body may take to arrive:
// a client trickling a body (one byte a second) gets a 400 once
// s.BodyTimeout has passed, and its connection is closed, rather than
// holding it open as long as it likes. Requests without a body, event
// streams among them, have no read deadline at all. A body the handler
// leaves unread is drained, for at most lingerTime, after the answer has
// been sent.
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		timeout := s.BodyTimeout
		if timeout <= 0 {
			timeout = DefaultBodyTimeout
		}
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(timeout)
		if err := rc.SetReadDeadline(deadline); err != nil {
			next.ServeHTTP(w, r) // not a network connection (a test's recorder)
			return
		}
		body := &deadlineBody{src: r.Body, timeout: timeout, clear: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		r.Body = body
		next.ServeHTTP(w, r)
		switch read, ended := body.finish(); {
		case ended:
			return // to its end (the deadline is cleared), or past its deadline (which stays, so the connection closes)
		case !read && expectsContinue(r):
			body.clear() // the client waits for a go-ahead it will not get: nothing to drain
			return
		}
		// The answer first, then what is left of the body, within the
		// deadline; the server may read some of it itself as it flushes.
		// Unless the body ends, the deadline stays, and the connection is
		// closed after the answer.
		if linger := time.Now().Add(lingerTime); linger.Before(deadline) {
			deadline = linger
		}
		_ = rc.SetReadDeadline(deadline)
		_ = rc.Flush()
		if _, err := io.Copy(io.Discard, body.src); err == nil {
			body.clear()
		}
	})
}

func expectsContinue(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Expect"), "100-continue")
}

// deadlineBody is a request body whose reads stop at the connection's
// read deadline. The deadline is cleared once the body has ended, so the
// server's own background read, which watches for the client leaving,
// does not take it for the client gone while the handler still works.
type deadlineBody struct {
	src     io.ReadCloser
	timeout time.Duration
	clear   func()

	mu       sync.Mutex
	read     bool // a read was asked for
	ended    bool // the body ended, broke, or passed its deadline
	finished bool // the handler is done
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	b.read = true
	done := b.ended || b.finished
	b.mu.Unlock()
	if done {
		return 0, io.EOF
	}
	n, err := b.src.Read(p)
	if err == nil {
		return n, nil
	}
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	if ne := (net.Error)(nil); errors.As(err, &ne) && ne.Timeout() {
		// The deadline stays, so the server's own reads fail at once too
		// and the connection is closed after the answer.
		return n, arena.Errorf(arena.EINVALID, "request body: not received within %s; the connection is closed", b.timeout)
	}
	b.clear()
	return n, err
}

func (b *deadlineBody) Close() error { return b.src.Close() }

// finish stops reads for the handler, and says whether it read and
// whether the body ended.
func (b *deadlineBody) finish() (read, ended bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished = true
	return b.read, b.ended
}
