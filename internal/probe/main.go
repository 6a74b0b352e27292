// Command probe sends a running Arena server the hostile requests an
// operator's probing found (issue 13): NUL bytes, invalid UTF-8 and
// numbers out of range in paths, queries and bodies; a second JSON value
// after the first; 100 MB bodies written whole before the answer is read;
// bodies trickled at a byte a second; wrong methods; and an event stream
// held open past the body timeout. It prints a table of what each got and
// exits 1 if any failed.
//
//	go run ./internal/probe [-url http://127.0.0.1:8080] [-admin KEY] [-body-timeout 30s]
//
// It talks only to a server on this machine (127.0.0.1, ::1 or
// localhost), sends a bounded number of requests (about 25) and stops by
// itself (the slow scenarios take the server's body timeout plus a few
// seconds). It registers one competitor, probe-<random>, to upload as,
// and uses up to seven of an address's registrations an hour: run the
// server with --registrations-per-hour 0 to probe more often than
// that (rate-limited scenarios are reported as skipped). With -admin it
// also tries admin requests, all of which must be refused: it creates
// and changes nothing.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

func main() {
	base := flag.String("url", envOr("ARENA_URL", "http://127.0.0.1:8080"), "the server (on this machine only)")
	admin := flag.String("admin", os.Getenv("ARENA_ADMIN_KEY"), "an admin key, for the admin requests (ARENA_ADMIN_KEY); none: they are skipped")
	bodyTimeout := flag.Duration("body-timeout", 30*time.Second, "the server's --body-timeout")
	big := flag.Int64("big", 100<<20, "bytes in the oversized bodies")
	flag.Parse()
	p, err := newProber(*base, *admin, *bodyTimeout, *big)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(2)
	}
	if failed := p.run(); failed > 0 {
		fmt.Printf("\n%d of %d failed\n", failed, len(p.results))
		os.Exit(1)
	}
	fmt.Printf("\nall %d passed or were skipped\n", len(p.results))
}

func envOr(k, fallback string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return fallback
}

type prober struct {
	base, host  string
	admin       string
	competitor  string // a key, "" when registration was refused
	slug        string // an existing challenge, "" when there is none
	bodyTimeout time.Duration
	big         int64
	client      *http.Client

	mu      sync.Mutex
	results []result
}

type result struct {
	order          int
	name, expected string
	got            string
	took           time.Duration
	verdict        string // PASS, FAIL or SKIP
}

func newProber(base, admin string, bodyTimeout time.Duration, big int64) (*prober, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("-url %q: want http://127.0.0.1:PORT", base)
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
	default:
		return nil, fmt.Errorf("-url %q: the probe only talks to a server on this machine (127.0.0.1, ::1, localhost)", base)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return &prober{base: strings.TrimSuffix(base, "/"), host: host, admin: admin, bodyTimeout: bodyTimeout, big: big,
		client: &http.Client{Timeout: 20 * time.Second}}, nil
}

// answer is what one request got.
type answer struct {
	status int
	header http.Header
	body   string
	code   string // the JSON error's code
	took   time.Duration
	err    error
}

func (a answer) String() string {
	switch {
	case a.err != nil:
		return "error: " + a.err.Error()
	case a.code != "":
		return fmt.Sprintf("%d %s", a.status, a.code)
	}
	return fmt.Sprint(a.status)
}

func (p *prober) do(method, path, key, contentType, body string) answer {
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	begin := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(begin)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(data), took: time.Since(begin), err: err}
	var e struct{ Error struct{ Code string } }
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(data, &e) == nil {
		a.code = e.Error.Code
	}
	return a
}

// raw writes head and then body (a byte every gap when gap is set) before
// it reads anything, as the simplest clients do, and reads the status
// line and then to the end, all within limit. closed says whether the
// server closed the connection after its answer.
func (p *prober) raw(head string, body io.Reader, gap, limit time.Duration) (status string, closed bool, took time.Duration, err error) {
	begin := time.Now()
	conn, err := net.DialTimeout("tcp", p.host, 5*time.Second)
	if err != nil {
		return "", false, 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(begin.Add(limit))
	if _, err := io.WriteString(conn, head); err != nil {
		return "", false, time.Since(begin), err
	}
	if gap > 0 {
		one := make([]byte, 1)
		for {
			if _, err := body.Read(one); err != nil {
				break
			}
			if _, err := conn.Write(one); err != nil {
				break // the server gave up: read what it said
			}
			time.Sleep(gap)
		}
	} else if _, err := io.Copy(conn, body); err != nil {
		return "", false, time.Since(begin), err
	}
	rd := bufio.NewReader(conn)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", false, time.Since(begin), err
	}
	_, err = io.Copy(io.Discard, rd)
	return strings.TrimSpace(line), err == nil, time.Since(begin), nil
}

func (p *prober) record(order int, name, expected, got string, took time.Duration, verdict string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results = append(p.results, result{order, name, expected, got, took, verdict})
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// check records a plain request's answer against the status and code wanted.
func (p *prober) check(order int, name string, a answer, status int, code string) {
	want := fmt.Sprint(status)
	if code != "" {
		want += " " + code
	}
	ok := a.err == nil && a.status == status && (code == "" || a.code == code)
	if a.status == http.StatusTooManyRequests {
		p.record(order, name, want, a.String(), a.took, "SKIP")
		return
	}
	p.record(order, name, want, a.String(), a.took, verdict(ok))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func (p *prober) setup() error {
	if a := p.do("GET", "/healthz", "", "", ""); a.err != nil || a.status != 200 {
		return fmt.Errorf("%s/healthz: %v; start the server first (make run)", p.base, a)
	}
	var list struct{ Challenges []struct{ Slug string } }
	if a := p.do("GET", "/api/v1/challenges", "", "", ""); a.status == 200 {
		_ = json.Unmarshal([]byte(a.body), &list)
	}
	if len(list.Challenges) > 0 {
		p.slug = list.Challenges[0].Slug
	}
	a := p.do("POST", "/api/v1/competitors", "", "application/json", `{"name":"probe-`+randomHex(4)+`"}`)
	var reg struct {
		APIKey string `json:"api_key"`
	}
	if a.status == 201 && json.Unmarshal([]byte(a.body), &reg) == nil {
		p.competitor = reg.APIKey
	}
	return nil
}

func (p *prober) run() (failed int) {
	if err := p.setup(); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(2)
	}
	uuid := "00000000-0000-4000-8000-" + randomHex(6)
	var wg sync.WaitGroup
	slow := p.bodyTimeout + 3*time.Second // the most a trickled body may hold a connection, with slack

	// The slow ones first, side by side, so the whole run takes about one
	// body timeout.
	trickle := func(order int, name, head string, status string) {
		defer wg.Done()
		got, closed, took, err := p.raw(head, io.LimitReader(repeat(' '), 1000), time.Second, slow+5*time.Second)
		ok := strings.HasPrefix(got, "HTTP/1.1 "+status) && closed && took <= slow
		g := fmt.Sprintf("%q, closed %v", got, closed)
		if err != nil {
			g += " (" + err.Error() + ")"
		}
		p.record(order, name, fmt.Sprintf("%s, closed within %s", status, slow), g, took, verdict(ok))
	}
	wg.Add(1)
	go trickle(20, "a JSON body at 1 byte/s (POST /competitors)",
		"POST /api/v1/competitors HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", "400")
	if p.competitor != "" && p.slug != "" {
		wg.Add(1)
		go trickle(21, "an upload at 1 byte/s", "POST /api/v1/challenges/"+p.slug+"/submissions HTTP/1.1\r\nHost: arena\r\nAuthorization: Bearer "+p.competitor+
			"\r\nContent-Type: application/wasm\r\nContent-Length: 1000\r\n\r\n", "400")
	} else {
		p.record(21, "an upload at 1 byte/s", "400", "no competitor key or no challenge", 0, "SKIP")
	}
	if p.slug != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hold := p.bodyTimeout + 2*time.Second
			ctx, cancel := context.WithTimeout(context.Background(), hold)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", p.base+"/api/v1/challenges/"+p.slug+"/champion/events", nil)
			begin := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				p.record(22, "an event stream outlives the body timeout", "open after "+hold.String(), err.Error(), time.Since(begin), "FAIL")
				return
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			open := errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)
			got := "closed by the server"
			if open {
				got = "still open"
			}
			p.record(22, "an event stream outlives the body timeout", "open after "+hold.String(), got, time.Since(begin), verdict(resp.StatusCode == 200 && open))
		}()
	} else {
		p.record(22, "an event stream outlives the body timeout", "open", "no challenge", 0, "SKIP")
	}

	// Input Postgres would refuse.
	p.check(1, "NUL in a slug (API)", p.do("GET", "/api/v1/challenges/demo%00x/leaderboard", "", "", ""), 404, "not_found")
	p.check(2, "invalid UTF-8 in a slug (API)", p.do("GET", "/api/v1/challenges/demo%ffx/leaderboard", "", "", ""), 404, "not_found")
	page := p.do("GET", "/challenges/a%00b", "", "", "")
	p.record(3, "NUL in a slug (page)", "404 page", fmt.Sprint(page.status), page.took,
		verdict(page.status == 404 && strings.Contains(page.header.Get("Content-Type"), "text/html")))
	p.check(4, "NUL in a submission ID", p.do("GET", "/api/v1/submissions/a%00b", "", "", ""), 404, "not_found")
	p.check(5, "?round=2147483648", p.do("GET", "/api/v1/submissions/"+uuid+"/receipt?round=2147483648", "", "", ""), 400, "invalid")
	p.check(6, "NUL in a competitor name", p.do("POST", "/api/v1/competitors", "", "application/json", `{"name":"a\u0000b"}`), 400, "invalid")
	if p.admin != "" {
		p.check(7, "NUL in a challenge title", p.do("POST", "/api/v1/challenges", p.admin, "application/json",
			`{"slug":"probe-`+randomHex(3)+`","kind":"optimizer","title":"a\u0000b"}`), 400, "invalid")
		if p.slug != "" {
			p.check(8, "NUL in a PATCHed description", p.do("PATCH", "/api/v1/challenges/"+p.slug, p.admin, "application/json", `{"description":"a\u0000b"}`), 400, "invalid")
		}
		p.check(9, "NUL in a disqualify reason", p.do("POST", "/api/v1/submissions/"+uuid+"/disqualify", p.admin, "application/json", `{"reason":"a\u0000b"}`), 400, "invalid")
	} else {
		for i, n := range []string{"NUL in a challenge title", "NUL in a PATCHed description", "NUL in a disqualify reason"} {
			p.record(7+i, n, "400 invalid", "no -admin key", 0, "SKIP")
		}
	}

	// Bodies.
	p.check(10, "a second JSON value after the first", p.do("POST", "/api/v1/competitors", "", "application/json",
		`{"name":"probe-`+randomHex(4)+`"}{"name":"probe-`+randomHex(4)+`"}`), 400, "invalid")
	mb := p.big >> 20
	for i := range 3 {
		body := io.MultiReader(strings.NewReader(`{"name":"`), io.LimitReader(repeat('a'), p.big), strings.NewReader(`"}`))
		head := fmt.Sprintf("POST /api/v1/competitors HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", p.big+11)
		got, _, took, err := p.raw(head, body, 0, 30*time.Second)
		v := verdict(strings.HasPrefix(got, "HTTP/1.1 400"))
		if strings.HasPrefix(got, "HTTP/1.1 429") {
			v = "SKIP"
		}
		if err != nil {
			got += " (" + err.Error() + ")"
		}
		p.record(11+i, fmt.Sprintf("a %d MB JSON body, written whole first (%d of 3)", mb, i+1), "400, read", got, took, v)
	}
	if p.competitor != "" && p.slug != "" {
		head := fmt.Sprintf("POST /api/v1/challenges/%s/submissions HTTP/1.1\r\nHost: arena\r\nAuthorization: Bearer %s\r\nContent-Type: application/wasm\r\nContent-Length: %d\r\n\r\n", p.slug, p.competitor, p.big)
		got, _, took, err := p.raw(head, io.LimitReader(repeat(0), p.big), 0, 30*time.Second)
		if err != nil {
			got += " (" + err.Error() + ")"
		}
		p.record(14, fmt.Sprintf("a %d MB module, written whole first", mb), "400, read", got, took, verdict(strings.HasPrefix(got, "HTTP/1.1 400")))
	} else {
		p.record(14, fmt.Sprintf("a %d MB module, written whole first", mb), "400, read", "no competitor key or no challenge", 0, "SKIP")
	}

	// Methods, health, metrics.
	a := p.do("DELETE", "/api/v1/competitors", "", "", "")
	p.record(15, "a wrong method (DELETE /competitors)", "405 method_not_allowed, Allow: POST", a.String()+", Allow: "+a.header.Get("Allow"), a.took,
		verdict(a.status == 405 && a.code == "method_not_allowed" && a.header.Get("Allow") == "POST"))
	a = p.do("POST", "/healthz", "", "", "")
	p.record(16, "a wrong method (POST /healthz)", "405, Allow: GET", a.String()+", Allow: "+a.header.Get("Allow"), a.took,
		verdict(a.status == 405 && a.header.Get("Allow") == "GET"))
	p.check(17, "health", p.do("GET", "/healthz", "", "", ""), 200, "")
	a = p.do("GET", "/metrics", "", "", "")
	p.record(18, "metrics", "200, arena_database_up 1", a.String(), a.took, verdict(a.status == 200 && strings.Contains(a.body, "\narena_database_up 1\n")))

	wg.Wait()
	p.print()
	for _, r := range p.results {
		if r.verdict == "FAIL" {
			failed++
		}
	}
	return failed
}

func (p *prober) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := append([]result(nil), p.results...)
	for i := range rs { // by scenario number, a handful: insertion sort
		for j := i; j > 0 && rs[j].order < rs[j-1].order; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpected\tgot\ttime\tverdict")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.expected, r.got, r.took.Round(time.Millisecond), r.verdict)
	}
	_ = tw.Flush()
	fmt.Print(buf.String())
}
