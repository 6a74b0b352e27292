package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

func (h *Handler) submission(w http.ResponseWriter, r *http.Request) {
	sub, err := h.store.Submission(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Pages are public: per-task details and logs stay in the API, for
	// the owner's key.
	sub.Tasks = nil
	h.render(w, r, http.StatusOK, "submission", map[string]any{
		"Title": "Submission " + sub.ID[:8], "Sub": sub, "Live": !sub.Status.Final(),
	})
}
