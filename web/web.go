// Package web serves Arena's server-rendered pages: the challenge list, a
// challenge with its champion's history, leaderboard and rules, a
// submission with its per-task results and curves, and, signed in, a
// competitor's submissions and upload form and an admin's queue. Pages
// work without JavaScript; scripts add the charts (uPlot, vendored in
// static/vendor by scripts/vendor-web.sh) and live updates.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the pages.
type Handler struct {
	store   *store.Store
	logger  *slog.Logger
	actions Actions
	secret  []byte
	workers int
	pages   map[string]*template.Template
	router  chi.Router
}

// Actions are what the pages' forms do, done as the API does them (the
// API's server implements them), so an upload from the browser meets the
// same checks, caps and errors as one over the API.
type Actions interface {
	Submit(ctx context.Context, slug string, competitorID int64, module []byte) (arena.Submission, error)
	Rescore(ctx context.Context, id string) (arena.Submission, error)
	Disqualify(ctx context.Context, id, reason string) (arena.Submission, *arena.Champion, error)
	QueueState(ctx context.Context) (arena.QueueState, error)
}

// Options configure the pages.
type Options struct {
	Actions Actions
	// SessionSecret MACs session cookies and CSRF tokens: at least 32
	// bytes, the same on every server behind one address.
	SessionSecret []byte
	// Workers is how many evaluations run at once, for queue estimates.
	Workers int
}

var funcs = template.FuncMap{
	"score": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return fmt.Sprintf("%.4f", *f)
	},
	"fixed": func(f float64) string { return fmt.Sprintf("%.4f", f) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"num": func(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) },
	"opt": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return strconv.FormatFloat(*f, 'g', 6, 64)
	},
	"pct": func(done, total int) int {
		if total <= 0 {
			return 0
		}
		return 100 * done / total
	},
	"seconds": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return (time.Duration(*f * float64(time.Second))).Round(100 * time.Millisecond).String()
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"unix": func(sec float64) string { return time.Unix(int64(sec), 0).UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"count": func(n *int64) string {
		if n == nil {
			return "—"
		}
		return fmt.Sprintf("%d", *n)
	},
	"short": func(s string) string {
		if len(s) > 8 {
			return s[:8]
		}
		return s
	},
}

// New parses the templates and builds the page routes.
func New(s *store.Store, logger *slog.Logger, opt Options) (*Handler, error) {
	if len(opt.SessionSecret) < 32 {
		return nil, fmt.Errorf("web: the session secret must be at least 32 bytes, got %d", len(opt.SessionSecret))
	}
	if opt.Actions == nil {
		return nil, fmt.Errorf("web: no actions to run the forms with")
	}
	h := &Handler{store: s, logger: logger, actions: opt.Actions, secret: opt.SessionSecret, workers: opt.Workers, pages: map[string]*template.Template{}}
	for _, page := range []string{"index", "challenge", "submission", "error", "signin", "me", "queue"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/chart.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s page: %w", page, err)
		}
		h.pages[page] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(securityHeaders)
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	r.Get("/docs/{name}", serveDoc)
	r.Group(func(r chi.Router) {
		r.Use(h.identify)
		r.Get("/", h.index)
		r.Get("/challenges/{slug}", h.challenge)
		r.Get("/submissions/{id}", h.submission)
		r.Post("/submissions/{id}/rescore", h.rescore)
		r.Post("/submissions/{id}/disqualify", h.disqualify)
		r.Get("/signin", h.signinForm)
		r.Post("/signin", h.signin)
		r.Post("/signout", h.signout)
		r.Get("/me", h.me)
		r.Post("/submit", h.upload)
		r.Get("/queue", h.queue)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, arena.Errorf(arena.ENOTFOUND, "there is no page at %s", r.URL.Path))
	})
	h.router = r
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

// securityHeaders keeps the pages out of frames (clickjacking a signed-in
// admin's buttons) and scripts to this site's own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// page is what every page's template gets: the page's own data, its
// title, who is looking, and whether it follows live changes.
type page struct {
	Title  string
	Viewer viewer
	Live   bool
	Data   map[string]any
}

// render executes a page into a buffer first, so a template error becomes
// a clean error page rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	title, _ := data["Title"].(string)
	live, _ := data["Live"].(bool)
	p := page{Title: title, Viewer: viewerFrom(r.Context()), Live: live, Data: data}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, p); err != nil {
		h.logger.Error("render page", "page", name, "request_id", middleware.GetReqID(r.Context()), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// statusOf is the HTTP status of an error, as the API answers it.
func statusOf(err error) int {
	status := http.StatusInternalServerError
	switch arena.ErrorCode(err) {
	case arena.ENOTFOUND:
		status = http.StatusNotFound
	case arena.EINVALID:
		status = http.StatusBadRequest
	case arena.EUNAUTHORIZED:
		status = http.StatusUnauthorized
	case arena.EFORBIDDEN:
		status = http.StatusForbidden
	case arena.ECONFLICT:
		status = http.StatusConflict
	case arena.ERATELIMITED:
		status = http.StatusTooManyRequests
	case arena.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
	}
	return status
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	switch arena.ErrorCode(err) {
	case arena.EUNAVAILABLE:
		h.logger.Warn("page", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
		w.Header().Set("Retry-After", arena.RetryAfter)
	case arena.EINTERNAL:
		h.logger.Error("page", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	h.render(w, r, status, "error", map[string]any{"Title": http.StatusText(status), "Message": arena.ErrorMessage(err)})
}
