package api

import (
	"net/http"

	"github.com/arena-dev/arena/worker"
)

// listRounds shows a challenge's rounds: each one's seed commitment and,
// for closed rounds, the salt and hidden seeds that open it, so anyone
// can check the commitment and recompute the round's official scores.
func (s *Server) listRounds(w http.ResponseWriter, r *http.Request) {
	rounds, err := s.Store.Rounds(r.Context(), challengeFrom(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rounds": rounds})
}

// advanceRound closes the current round, revealing its seeds, opens the
// next under a new commitment, and queues the champion to be scored on
// the new seeds.
func (s *Server) advanceRound(w http.ResponseWriter, r *http.Request) {
	change, err := worker.OpenRound(r.Context(), s.Store, s.Queue, s.Logger.With("by", "admin"), challengeFrom(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, change)
}
