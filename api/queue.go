package api

import (
	"context"
	"net/http"

	"github.com/arena-dev/arena"
)

// queueState shows admins the work waiting and under way: the database's
// record and the job stream's deliveries side by side, so a stuck job or a
// lost one (queued in the database, absent from the stream, until the
// reconciler republishes it) shows.
func (s *Server) queueState(w http.ResponseWriter, r *http.Request) {
	q, err := s.QueueState(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

// QueueState is the queue as GET /api/v1/queue shows it (the pages' queue
// page shares it).
func (s *Server) QueueState(ctx context.Context) (arena.QueueState, error) {
	q, err := s.Store.Pending(ctx)
	if err != nil {
		return q, err
	}
	q.Stream, err = s.Queue.State(ctx)
	return q, err
}
