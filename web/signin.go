package web

import (
	"net/http"
	"strings"

	"github.com/arena-dev/arena"
)

func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	if viewerFrom(r.Context()).Principal != nil {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "signin", map[string]any{"Title": "Sign in"})
}

// signin checks a pasted API key and starts a session; the key is not
// kept anywhere in the browser.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(formValue(w, r, "key"))
	if key == "" {
		h.render(w, r, http.StatusBadRequest, "signin", map[string]any{"Title": "Sign in", "Error": "Paste your API key (it starts with arena_)."})
		return
	}
	p, err := h.store.Authenticate(r.Context(), key)
	if arena.ErrorCode(err) == arena.EUNAUTHORIZED {
		h.render(w, r, http.StatusUnauthorized, "signin", map[string]any{"Title": "Sign in", "Error": "That key is unknown or revoked."})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, r, p.KeyID)
	to := "/me"
	if p.Role == arena.RoleAdmin {
		to = "/queue"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	h.clearSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
