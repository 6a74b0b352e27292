package api

import (
	"net/http"
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
	c := challengeFrom(r)
	ch, err := s.Store.AdvanceRound(r.Context(), c)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if ch.Rescoring != "" {
		if err := s.Queue.Publish(r.Context(), ch.Rescoring); err != nil {
			// The champion is committed as queued: the reconciler republishes it.
			s.Logger.Warn("publish the champion's job; the reconciler will retry", "submission", ch.Rescoring, "err", err)
		}
	}
	s.Logger.Info("round opened", "challenge", c.Slug, "round", ch.Opened.Round, "rescoring", ch.Rescoring)
	writeJSON(w, http.StatusCreated, ch)
}
