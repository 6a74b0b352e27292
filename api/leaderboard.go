package api

import (
	"net/http"
)

func (s *Server) leaderboard(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	entries, err := s.Store.Leaderboard(r.Context(), c.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenge": c.Slug, "entries": entries})
}
