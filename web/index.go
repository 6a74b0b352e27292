package web

import (
	"net/http"

	"github.com/arena-dev/arena"
)

type indexRow struct {
	arena.Challenge
	Champion *arena.Champion
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	cs, err := h.store.Challenges(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	champs, err := h.store.Champions(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]indexRow, 0, len(cs))
	for _, c := range cs {
		row := indexRow{Challenge: c}
		if champ, ok := champs[c.ID]; ok {
			row.Champion = &champ
		}
		rows = append(rows, row)
	}
	h.render(w, r, http.StatusOK, "index", map[string]any{"Title": "Challenges", "Challenges": rows})
}
