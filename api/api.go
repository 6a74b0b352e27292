// Package api is Arena's REST API (chi). Handlers live one file per
// resource; router.go wires them; errors.go maps arena error codes to HTTP.
package api

import (
	"log/slog"
	"time"

	"github.com/arena-dev/arena/metrics"
	"github.com/arena-dev/arena/queue"
	"github.com/arena-dev/arena/receipt"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/store"
)

// Server holds what the handlers need.
type Server struct {
	Store   *store.Store
	Queue   *queue.Queue
	Engine  *sandbox.Engine // static validation of uploads, shared with in-process workers
	Signer  *receipt.Signer // whose public key receipts verify against
	Metrics *metrics.Metrics
	Limits  RateLimits // zero: no rate limits
	// TrustProxy takes the client's address from X-Forwarded-For and
	// X-Real-IP, for a server behind a reverse proxy that sets them.
	TrustProxy bool
	// BodyTimeout bounds how long a request body may take to arrive
	// (0: DefaultBodyTimeout).
	BodyTimeout time.Duration
	// HealthTimeout bounds /healthz's check of the database
	// (0: DefaultHealthTimeout).
	HealthTimeout time.Duration

	// Workers is how many evaluations the deployment runs at once, for
	// queue estimates (at least those running are counted).
	Workers int
	// QueuePoll is how often a waiting submission's event stream reads its
	// queue place again (0: DefaultQueuePoll).
	QueuePoll time.Duration

	streams streamSlots
	Logger  *slog.Logger
}
