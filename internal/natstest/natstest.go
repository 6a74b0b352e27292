// Package natstest gives a test its own in-process NATS server with
// JetStream and a queue on it, torn down when the test ends.
package natstest

import (
	"context"
	"testing"

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
