// Package faultproxy is a TCP proxy on loopback that tests put between a
// client and a real server (Postgres) to stage its outages: a server that
// accepts connections and never answers (a stopped postmaster), and one
// that refuses them (a server that is down).
package faultproxy

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy forwards 127.0.0.1:port to a target until told otherwise.
type Proxy struct {
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener // nil while refusing
	hung   bool
	resume chan struct{} // closed when a hang ends
	conns  map[net.Conn]struct{}
	closed bool
}

// Start listens on a free loopback port and forwards to target
// (host:port). It is closed when the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), ln: ln, resume: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	go p.accept(ln)
	t.Cleanup(p.Close)
	return p
}

// ForURL starts a proxy to the server of a database URL (postgres://...)
// and returns it with the URL that goes through it.
func ForURL(t testing.TB, databaseURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Hang makes the server look stopped: connections are still accepted,
// and bytes sent on new and open ones are taken, but nothing is passed
// on or answered until Restore.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hung {
		p.hung, p.resume = true, make(chan struct{})
	}
}

// Refuse makes the server look down: the port refuses connections and
// the open ones are closed.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore ends a hang or a refusal: connections are forwarded again.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hung {
		p.hung = false
		close(p.resume)
	}
	if p.ln == nil && !p.closed {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return err
		}
		p.ln = ln
		go p.accept(ln)
	}
	return nil
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Refuse()
	_ = p.Restore() // ends a hang, so no copier waits on it
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// gate waits out a hang; it returns false when the proxy closed meanwhile.
func (p *Proxy) gate() bool {
	p.mu.Lock()
	hung, resume := p.hung, p.resume
	p.mu.Unlock()
	if hung {
		<-resume
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed
}

func (p *Proxy) accept(ln net.Listener) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	defer client.Close()
	if !p.gate() {
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done // one side ended: end both
}

// pipe copies src to dst, holding what it reads while the proxy hangs.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a broken connection: either way, done
		}
	}
}
