package api

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
)

// listKeys shows every key issued, never the keys themselves (admin).
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Store.Keys(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// createKey issues a key (admin): {"role","name"}; for a competitor key,
// name is the competitor, registered if new. The key is shown once.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role arena.Role `json:"role"`
		Name string     `json:"name"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	key, err := s.Store.CreateKey(r.Context(), req.Role, req.Name)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"role": req.Role, "name": req.Name, "api_key": key})
}

// revokeKey revokes a key at once (admin); the last admin key stays.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		s.Error(w, r, arena.Errorf(arena.ENOTFOUND, "no key %q", chi.URLParam(r, "id")))
		return
	}
	if err := s.Store.RevokeKey(r.Context(), id); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotateKey replaces the caller's own key: the new one is shown once and
// the one that made this request stops working.
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(r)
	if !ok {
		s.Error(w, r, arena.Errorf(arena.EUNAUTHORIZED, "send the key to rotate as \"Authorization: Bearer <key>\""))
		return
	}
	key, err := s.Store.RotateKey(r.Context(), p.KeyID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"role": p.Role, "name": p.Name, "api_key": key})
}
