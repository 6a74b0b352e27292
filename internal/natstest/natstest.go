// Package natstest gives a test its own in-process NATS server with
// JetStream and a queue on it, torn down when the test ends; and, for the
// tests that stage NATS outages, a server on a loopback port that can be
// stopped and started again, on its store or on an empty one.
package natstest

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/arena-dev/arena/queue"
)

// NewQueue starts an embedded server and returns a queue connected to it.
func NewQueue(t testing.TB, cfg queue.Config) *queue.Queue {
	t.Helper()
	srv, err := queue.StartEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	q, err := queue.New(context.Background(), nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Server is a NATS server with JetStream, in this process but reached
// over TCP on a loopback port, as a separate nats-server would be, with a
// store directory of its own. Restart stops it and starts a new one on
// the same port; clients from Connect reconnect to it.
type Server struct {
	// ReconnectWait is how long Connect's clients wait between attempts
	// to reconnect (0: 50 ms; nats.go's default, which arena's own
	// connections keep, is 2 s).
	ReconnectWait time.Duration

	t    testing.TB
	dir  string
	port int
	ns   *server.Server
}

// StartServer starts a server on a free loopback port; it is shut down
// when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), port: server.RANDOM_PORT}
	s.start()
	s.port = s.ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	ns, err := server.NewServer(&server.Options{
		ServerName: "arena-test",
		Host:       "127.0.0.1",
		Port:       s.port,
		JetStream:  true,
		StoreDir:   s.dir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		s.t.Fatal("natstest: server not ready after 10s")
	}
	s.ns = ns
}

func (s *Server) stop() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.ns = nil
	}
}

// URL is the server's client URL.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// Stop shuts the server down; Start brings it back.
func (s *Server) Stop() { s.stop() }

// Start starts the server again on its port; with wipe, on an empty store
// (what a server restarted without its store directory has: no stream,
// no consumer, no messages).
func (s *Server) Start(wipe bool) {
	s.t.Helper()
	if wipe {
		if err := os.RemoveAll(s.dir); err != nil {
			s.t.Fatal(err)
		}
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			s.t.Fatal(err)
		}
	}
	s.start()
}

// Connect opens a client connection that reconnects without limit, as
// arena's connections to an external NATS do (and quickly, unless
// ReconnectWait says otherwise); it is closed when the test ends.
func (s *Server) Connect() *nats.Conn {
	s.t.Helper()
	opts := []nats.Option{nats.Name("arena-test"), nats.MaxReconnects(-1)}
	if s.ReconnectWait > 0 {
		opts = append(opts, nats.ReconnectWait(s.ReconnectWait))
	} else {
		opts = append(opts, nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(0, 0))
	}
	nc, err := nats.Connect(s.URL(), opts...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}

// Queue opens a queue on a new connection to the server.
func (s *Server) Queue(cfg queue.Config) *queue.Queue {
	s.t.Helper()
	q, err := queue.New(context.Background(), s.Connect(), cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return q
}
