package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/api"
)

// rawRequest writes head, then body's bytes (every gap apart, when gap is
// set), and only then reads the answer, as the simplest clients do; it
// gives up on its own after limit. It returns the status line ("" when
// the connection broke first), whether the server then closed the
// connection, and how long it all took.
func rawRequest(t *testing.T, url, head string, body io.Reader, gap, limit time.Duration) (status string, closed bool, took time.Duration, err error) {
	t.Helper()
	begin := time.Now()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(begin.Add(limit))
	if _, err := io.WriteString(conn, head); err != nil {
		return "", false, time.Since(begin), err
	}
	if gap > 0 {
		buf := make([]byte, 1)
		for {
			if _, err := body.Read(buf); err != nil {
				break
			}
			if _, err := conn.Write(buf); err != nil {
				break // the server gave up on us: read what it said
			}
			time.Sleep(gap)
		}
	} else if _, err := io.Copy(conn, body); err != nil {
		return "", false, time.Since(begin), err
	}
	rd := bufio.NewReader(conn)
	status, err = rd.ReadString('\n')
	if err != nil {
		return "", false, time.Since(begin), err
	}
	_, err = io.Copy(io.Discard, rd) // to the end: the server closing the connection
	return strings.TrimSpace(status), err == nil, time.Since(begin), err
}

// repeat is an endless reader of one byte.
type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestSlowBodies: a client trickling a body, one byte at a time, gets a
// 400 once the body timeout has passed and its connection closed, on a
// JSON endpoint and on an upload alike; an event stream, which has no
// body, stays open far longer and still delivers.
func TestSlowBodies(t *testing.T) {
	t.Parallel()
	const bodyTimeout = 400 * time.Millisecond
	ts := newTestServer(t, serverOptions{bodyTimeout: bodyTimeout})
	for _, c := range []struct{ name, head string }{
		{"registration", "POST /api/v1/competitors HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"},
		{"chunked registration", "POST /api/v1/competitors HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n"},
		{"upload", "POST /api/v1/challenges/demo/submissions HTTP/1.1\r\nHost: arena\r\nAuthorization: Bearer " + ts.competitor +
			"\r\nContent-Type: application/wasm\r\nContent-Length: 1000\r\n\r\n"},
	} {
		status, closed, took, err := rawRequest(t, ts.url, c.head, io.LimitReader(repeat(' '), 1000), 20*time.Millisecond, 10*time.Second)
		if !strings.HasPrefix(status, "HTTP/1.1 400") || !closed || took > bodyTimeout+2*time.Second {
			t.Errorf("%s sent a byte every 20 ms: %q, closed %v, after %s (%v); want 400 and the connection closed within %s",
				c.name, status, closed, took.Round(time.Millisecond), err, bodyTimeout+2*time.Second)
		}
	}

	// An event stream outlives the body timeout many times over; it is
	// open (its headers sent) at once, though the challenge has no
	// champion to send yet.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	quiet, err := api.NewChallenge(arena.ChallengeSpec{Slug: "quiet", Kind: "optimizer"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.CreateChallenge(ctx, &quiet); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/challenges/quiet/champion/events", nil)
	begin := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || time.Since(begin) > time.Second {
		t.Fatalf("opening an event stream: %v after %s", err, time.Since(begin))
	}
	defer resp.Body.Close()
	events := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events <- sc.Text()
			}
		}
		close(events)
	}()
	time.Sleep(3 * bodyTimeout)
	if err := ts.queue.PublishChampion("quiet", arena.Champion{Challenge: "quiet", SubmissionID: "later"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e, ok := <-events:
		if !ok || !strings.Contains(e, `"later"`) {
			t.Errorf("the event stream, %s after it opened: %q, %v", 3*bodyTimeout, e, ok)
		}
	case <-ctx.Done():
		t.Error("the event stream delivered nothing after the body timeout")
	}
}

// TestBodies: one JSON value per body; a body past its limit, sent by a
// client that writes all of it before reading, still gets its 400 rather
// than a reset connection; a wrong method is a 405 naming the right ones.
func TestBodies(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, serverOptions{})
	for _, body := range []string{`{"name":"ann"}{"name":"bob"}`, `{"name":"ann"} x`, `{"name":"ann"}]`, ``, `  `} {
		a := ts.do(t, "POST", "/api/v1/competitors", "", "application/json", []byte(body))
		if a.status != 400 || a.err.Error.Code != arena.EINVALID {
			t.Errorf("registering with %q: %d %s, want 400", body, a.status, a.body)
		}
	}
	if a := ts.do(t, "POST", "/api/v1/competitors", "", "application/json", []byte("{\"name\":\"ann\"}\n")); a.status != 201 {
		t.Errorf("ann, registered once her doubled bodies were refused: %d %s", a.status, a.body)
	}

	const big = 32 << 20
	for _, c := range []struct {
		name, head string
		body       func() io.Reader
	}{
		{"a 32 MiB registration", fmt.Sprintf("POST /api/v1/competitors HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", big+10),
			func() io.Reader {
				return io.MultiReader(strings.NewReader(`{"name":"`), io.LimitReader(repeat('a'), big), strings.NewReader(`"}`))
			}},
		{"a 32 MiB registration, chunked", "POST /api/v1/competitors HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
			func() io.Reader {
				return io.MultiReader(strings.NewReader(fmt.Sprintf("%x\r\n", big)), io.LimitReader(repeat(' '), big), strings.NewReader("\r\n0\r\n\r\n"))
			}},
		{"a 32 MiB module", fmt.Sprintf("POST /api/v1/challenges/demo/submissions HTTP/1.1\r\nHost: arena\r\nAuthorization: Bearer %s\r\nContent-Type: application/wasm\r\nContent-Length: %d\r\n\r\n", ts.competitor, big),
			func() io.Reader { return io.LimitReader(repeat(0), big) }},
		{"a 32 MiB module, chunked", fmt.Sprintf("POST /api/v1/challenges/demo/submissions HTTP/1.1\r\nHost: arena\r\nAuthorization: Bearer %s\r\nContent-Type: application/wasm\r\nTransfer-Encoding: chunked\r\n\r\n", ts.competitor),
			func() io.Reader {
				return io.MultiReader(strings.NewReader(fmt.Sprintf("%x\r\n", big)), io.LimitReader(repeat(0), big), strings.NewReader("\r\n0\r\n\r\n"))
			}},
		{"a 32 MiB body to a request refused before it reads one", fmt.Sprintf("POST /api/v1/challenges HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", big),
			func() io.Reader { return io.LimitReader(repeat(' '), big) }},
	} {
		status, _, took, err := rawRequest(t, ts.url, c.head, c.body(), 0, 20*time.Second)
		if !strings.HasPrefix(status, "HTTP/1.1 400") && !strings.HasPrefix(status, "HTTP/1.1 401") {
			t.Errorf("%s, all written before reading: %q after %s (%v), want its 400 (401 unauthenticated)", c.name, status, took.Round(time.Millisecond), err)
		}
	}

	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/competitors", "POST"},
		{"PUT", "/api/v1/challenges/demo", "GET, PATCH"},
		{"GET", "/api/v1/submissions/" + ts.submission + "/rescore", "POST"},
		{"POST", "/healthz", "GET"},
		{"POST", "/challenges/demo", "GET"},
	} {
		a := ts.do(t, c.method, c.path, ts.admin, "", nil)
		if a.status != 405 || a.header.Get("Allow") != c.allow || a.err.Error.Code != arena.EMETHOD {
			t.Errorf("%s %s: %d, Allow %q, %s; want 405, Allow %q and the JSON error", c.method, c.path, a.status, a.header.Get("Allow"), a.body, c.allow)
		}
	}
}
