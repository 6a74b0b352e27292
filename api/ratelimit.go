package api

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/arena-dev/arena"
)

// RateLimits bound how fast one client may call the API. A zero rate
// turns that limit off.
type RateLimits struct {
	// PerSecond and Burst apply to every API request, per API key (or per
	// IP address without one).
	PerSecond float64
	Burst     int
	// RegistrationsPerHour applies to registering competitors, per IP
	// address, so nobody mints identities to get round the daily caps.
	RegistrationsPerHour float64
}

// DefaultRateLimits leave room for any client that polls sensibly.
func DefaultRateLimits() RateLimits {
	return RateLimits{PerSecond: 50, Burst: 100, RegistrationsPerHour: 20}
}

// limiter is a token bucket per client, forgotten after an idle while.
type limiter struct {
	every rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(every rate.Limit, burst int) *limiter {
	return &limiter{every: every, burst: max(burst, 1), clients: map[string]*bucket{}}
}

// allow takes a token for client, or says how long until one is free.
func (l *limiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.clients {
			// Idle this long, a bucket is full again: forgetting it changes nothing.
			if now.Sub(b.seen) > l.refill() {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	b, ok := l.clients[client]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.clients[client] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// refill is how long an empty bucket takes to fill.
func (l *limiter) refill() time.Duration {
	return time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
}

// limit answers 429 once the client named by who has used its tokens.
func (s *Server) limit(l *limiter, what string, who func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait := l.allow(who(r), time.Now())
			if !ok {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				s.Error(w, r, arena.Errorf(arena.ERATELIMITED, "too many %s from you; try again in %s", what, retryText(secs)))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func retryText(secs int) string {
	if secs <= 1 {
		return "a second"
	}
	return fmt.Sprintf("%d seconds", secs)
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientKey is the caller's API key, or its address without one.
func clientKey(r *http.Request) string {
	if p, ok := principal(r); ok {
		return "key:" + strconv.FormatInt(p.KeyID, 10)
	}
	return "ip:" + clientIP(r)
}

// Open event streams are bounded too: each holds a connection, a
// goroutine and a NATS subscription for as long as the client likes.
const (
	maxStreams          = 10_000
	maxStreamsPerClient = 16
)

// streamSlots counts open event streams, per client and in all.
type streamSlots struct {
	mu    sync.Mutex
	open  map[string]int
	total int
}

// take claims a slot for client, if one is free.
func (l *streamSlots) take(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string]int{}
	}
	if l.total >= maxStreams || l.open[client] >= maxStreamsPerClient {
		return false
	}
	l.open[client]++
	l.total++
	return true
}

// give returns client's slot.
func (l *streamSlots) give(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[client]--; l.open[client] <= 0 {
		delete(l.open, client)
	}
	l.total--
}
