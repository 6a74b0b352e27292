package queue

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded is an in-process NATS server with JetStream, for the default
// single-binary mode and for tests.
type Embedded struct {
	ns  *server.Server
	dir string
}

// StartEmbedded starts the server. With listen empty it opens no port and
// is reachable only in-process, so it never clashes with another NATS on
// the machine; otherwise it also listens on listen (HOST:PORT, port 0 for
// a random one).
func StartEmbedded(listen string) (*Embedded, error) {
	dir, err := os.MkdirTemp("", "arena-nats-")
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	opts := &server.Options{
		ServerName: "arena-embedded",
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
		DontListen: listen == "",
	}
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen address %q: %w", listen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("embedded nats: listen port %q: %w", port, err)
		}
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded nats: not ready after 10s")
	}
	return &Embedded{ns: ns, dir: dir}, nil
}

// Connect opens an in-process client connection.
func (e *Embedded) Connect() (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(e.ns), nats.Name("arena"))
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL other processes can use, when the server listens.
func (e *Embedded) ClientURL() string { return e.ns.ClientURL() }

// Shutdown stops the server and removes its storage.
func (e *Embedded) Shutdown() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	os.RemoveAll(e.dir)
}
