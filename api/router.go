package api

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"golang.org/x/time/rate"

	"github.com/arena-dev/arena"
)

// Router returns the whole HTTP surface: the API under /api/v1, health,
// and web (the server-rendered pages) for everything else.
func (s *Server) Router(web http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	if s.TrustProxy {
		// Only behind a proxy that sets them: anyone else could claim any
		// address, and slip the per-address limits.
		r.Use(middleware.RealIP)
	}
	r.Use(s.logRequests)
	r.Use(middleware.Recoverer)
	r.Use(s.bodyDeadline)
	r.Use(s.methodNotAllowed)

	r.Get("/healthz", s.health)
	if s.Metrics != nil {
		r.Handle("/metrics", s.Metrics.Handler())
	}

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.authenticate)
		if s.Limits.PerSecond > 0 {
			r.Use(s.limit(newLimiter(rate.Limit(s.Limits.PerSecond), s.Limits.Burst), "requests", clientKey))
		}
		var registrations *limiter
		if n := s.Limits.RegistrationsPerHour; n > 0 {
			registrations = newLimiter(rate.Limit(n/3600), int(math.Ceil(n)))
		}
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			s.Error(w, r, arena.Errorf(arena.ENOTFOUND, "no API route %s %s", r.Method, r.URL.Path))
		})

		r.With(s.limit(registrations, "registrations", clientIP)).Post("/competitors", s.createCompetitor)
		r.Get("/me", s.me)
		r.Post("/me/key", s.rotateKey)
		r.Route("/keys", func(r chi.Router) {
			r.Use(s.require(arena.RoleAdmin))
			r.Get("/", s.listKeys)
			r.Post("/", s.createKey)
			r.Delete("/{id}", s.revokeKey)
		})

		r.Get("/challenges", s.listChallenges)
		r.With(s.require(arena.RoleAdmin)).Post("/challenges", s.createChallenge)
		r.Route("/challenges/{slug}", func(r chi.Router) {
			r.Use(s.challengeCtx)
			r.Get("/", s.getChallenge)
			r.With(s.require(arena.RoleAdmin)).Patch("/", s.updateChallenge)
			r.Get("/leaderboard", s.leaderboard)
			r.Get("/submissions", s.listSubmissions)
			r.With(s.require(arena.RoleCompetitor)).Post("/submissions", s.createSubmission)
			r.Get("/champion", s.champion)
			r.Get("/champion/module", s.championModule)
			r.Get("/champion/events", s.championEvents)
			r.Get("/champion/history", s.championHistory)
			r.Get("/rounds", s.listRounds)
			r.With(s.require(arena.RoleAdmin)).Post("/rounds", s.advanceRound)
		})
		r.Get("/submissions/{id}", s.getSubmission)
		r.Get("/submissions/{id}/receipt", s.getReceipt)
		r.Get("/submissions/{id}/module", s.submissionModule)
		r.Get("/submissions/{id}/events", s.submissionEvents)
		r.With(s.require(arena.RoleAdmin)).Post("/submissions/{id}/rescore", s.rescoreSubmission)
		r.With(s.require(arena.RoleAdmin)).Post("/submissions/{id}/disqualify", s.disqualifySubmission)
		r.Get("/receipts/key", s.receiptKey)
		r.Get("/openapi.json", s.openAPI)
		r.With(s.require(arena.RoleAdmin)).Get("/queue", s.queueState)
	})

	if web != nil {
		r.Mount("/", web)
	}
	return r
}

// DefaultHealthTimeout bounds /healthz's check of the database: health
// must answer promptly, above all when the database does not.
const DefaultHealthTimeout = 2 * time.Second

// health reports whether the parts the server needs answer: 200 when
// they all do, 503 saying which does not (the details go to the log).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	timeout := s.HealthTimeout
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	status, code := map[string]string{"status": "ok", "database": "ok", "queue": "ok"}, http.StatusOK
	for part, err := range map[string]error{"database": s.Store.Ping(ctx), "queue": s.Queue.Ping()} {
		if err != nil {
			s.Logger.Warn("health check", "part", part, "err", err)
			status[part], status["status"], code = "unavailable", "unavailable", http.StatusServiceUnavailable
		}
	}
	if code != http.StatusOK {
		w.Header().Set("Retry-After", arena.RetryAfter)
	}
	writeJSON(w, code, status)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		begin := time.Now()
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		s.Metrics.Request(r.Method, route, ww.Status(), time.Since(begin), strings.HasSuffix(route, "/events"))
		s.Logger.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()), slog.Duration("took", time.Since(begin)))
	})
}

// methodNotAllowed gives the 405 that chi answers a path asked with a
// method it does not take (its Allow header, which only the router
// knows, and no body) the API's JSON error, on every route, the pages'
// included.
func (s *Server) methodNotAllowed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&methodWriter{ResponseWriter: w, s: s, r: r}, r)
	})
}

type methodWriter struct {
	http.ResponseWriter
	s        *Server
	r        *http.Request
	answered bool // the 405 is written: drop what chi writes after it
}

func (m *methodWriter) WriteHeader(code int) {
	if code != http.StatusMethodNotAllowed || m.Header().Get("Content-Type") != "" || m.answered {
		m.ResponseWriter.WriteHeader(code)
		return
	}
	m.answered = true
	methods := slices.Compact(slices.Sorted(slices.Values(m.Header().Values("Allow"))))
	allow := strings.Join(methods, ", ")
	m.Header().Set("Allow", allow)
	m.s.Error(m.ResponseWriter, m.r, arena.Errorf(arena.EMETHOD, "%s does not take %s; it takes %s", m.r.URL.Path, m.r.Method, allow))
}

func (m *methodWriter) Write(p []byte) (int, error) {
	if m.answered {
		return len(p), nil
	}
	return m.ResponseWriter.Write(p)
}

// Flush lets event streams through; Unwrap lets http.ResponseController
// reach the connection.
func (m *methodWriter) Flush()                      { _ = http.NewResponseController(m.ResponseWriter).Flush() }
func (m *methodWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }
