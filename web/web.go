// Package web serves Arena's server-rendered pages: the challenge list, a
// challenge with its leaderboard and champion, and a submission.
package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
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
	store  *store.Store
	logger *slog.Logger
	pages  map[string]*template.Template
	router chi.Router
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
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
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
func New(s *store.Store, logger *slog.Logger) (*Handler, error) {
	h := &Handler{store: s, logger: logger, pages: map[string]*template.Template{}}
	for _, page := range []string{"index", "challenge", "submission", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
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
	r.Get("/", h.index)
	r.Get("/challenges/{slug}", h.challenge)
	r.Get("/submissions/{id}", h.submission)
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, arena.Errorf(arena.ENOTFOUND, "there is no page at %s", r.URL.Path))
	})
	h.router = r
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

// render executes a page into a buffer first, so a template error becomes
// a clean error page rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, data); err != nil {
		h.logger.Error("render page", "page", page, "request_id", middleware.GetReqID(r.Context()), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch arena.ErrorCode(err) {
	case arena.ENOTFOUND:
		status = http.StatusNotFound
	case arena.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
		h.logger.Warn("page", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
		w.Header().Set("Retry-After", arena.RetryAfter)
	case arena.EINTERNAL:
		h.logger.Error("page", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	h.render(w, r, status, "error", map[string]any{"Title": http.StatusText(status), "Message": arena.ErrorMessage(err)})
}
