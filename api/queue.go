package api

import "net/http"

// queueState shows admins the work waiting and under way: the database's
// record and the job stream's deliveries side by side, so a stuck job or a
// lost one (queued in the database, absent from the stream, until the
// reconciler republishes it) shows.
func (s *Server) queueState(w http.ResponseWriter, r *http.Request) {
	q, err := s.Store.Pending(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if q.Stream, err = s.Queue.State(r.Context()); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}
