package web

import (
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena/docs"
)

var docName = regexp.MustCompile(`^[a-z_-]+\.md$`)

// serveDoc serves one of the embedded docs as plain text (Markdown reads
// well as it is), so a challenge page can link its kind's contract.
func serveDoc(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	body, err := docs.FS.ReadFile(name)
	if !docName.MatchString(name) || err != nil {
		http.Error(w, "there is no doc "+name, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(body)
}
