package web

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/store"
)

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	slug := chi.URLParam(r, "slug")
	if store.ValidSlug(slug) != nil { // not a slug: the database is not asked
		h.fail(w, r, arena.Errorf(arena.ENOTFOUND, "there is no challenge %q", slug))
		return
	}
	c, err := h.store.Challenge(ctx, slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	entries, err := h.store.Leaderboard(ctx, c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	recent, err := h.store.Submissions(ctx, c.ID, 0, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rounds, err := h.store.Rounds(ctx, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slices.Reverse(rounds) // the current round first
	var champ *arena.Champion
	if ch, err := h.store.Champion(ctx, c); err == nil {
		champ = &ch
	} else if arena.ErrorCode(err) != arena.ENOTFOUND {
		h.fail(w, r, err)
		return
	}
	toBeat := c.Rules.Margin
	if champ != nil {
		toBeat += max(0, champ.Score)
	}
	var params any
	_ = json.Unmarshal(c.Params, &params)
	h.render(w, r, http.StatusOK, "challenge", map[string]any{
		"Title": c.Title, "Challenge": c, "Params": params, "Entries": entries,
		"Recent": recent, "Champion": champ, "ScoreToBeat": toBeat, "Rounds": rounds,
	})
}
