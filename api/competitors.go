package api

import (
	"net/http"

	"github.com/arena-dev/arena"
)

type createCompetitorRequest struct {
	Name string `json:"name"`
}

type createCompetitorResponse struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	APIKey string `json:"api_key"`
}

// createCompetitor registers a competitor and shows its API key once.
func (s *Server) createCompetitor(w http.ResponseWriter, r *http.Request) {
	var req createCompetitorRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	c, key, err := s.Store.CreateCompetitor(r.Context(), req.Name)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createCompetitorResponse{ID: c.ID, Name: c.Name, APIKey: key})
}

type meResponse struct {
	Name string     `json:"name"`
	Role arena.Role `json:"role"`
}

// me says who a key belongs to, so clients can check their configuration.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(r)
	if !ok {
		s.Error(w, r, arena.Errorf(arena.EUNAUTHORIZED, "send \"Authorization: Bearer <key>\" to see who you are"))
		return
	}
	writeJSON(w, http.StatusOK, meResponse{Name: p.Name, Role: p.Role})
}
