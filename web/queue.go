package web

import (
	"net/http"

	"github.com/arena-dev/arena"
)

// queue is the admin's view of GET /api/v1/queue: the database's record
// and the job stream's deliveries.
func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	if !viewerFrom(r.Context()).Admin() {
		h.fail(w, r, arena.Errorf(arena.EFORBIDDEN, "the queue page is for admins: sign in with an admin key"))
		return
	}
	q, err := h.actions.QueueState(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "queue", map[string]any{"Title": "Queue", "Queue": q})
}
