package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

func (s *Server) leaderboard(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.Challenge(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	entries, err := s.Store.Leaderboard(r.Context(), c.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenge": c.Slug, "entries": entries})
}
