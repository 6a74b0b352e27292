package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/store"
)

// overlay decodes a partial JSON object over dst, so omitted fields keep
// their defaults; field names it does not know are errors.
func overlay(field string, raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := strictUnmarshal(raw, dst); err != nil {
		return arena.Errorf(arena.EINVALID, "%s: %v", field, err)
	}
	return nil
}

func (s *Server) createChallenge(w http.ResponseWriter, r *http.Request) {
	var spec arena.ChallengeSpec
	if err := decodeJSON(w, r, &spec); err != nil {
		s.Error(w, r, err)
		return
	}
	c, err := NewChallenge(spec)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Store.CreateChallenge(r.Context(), &c); err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/challenges/"+c.Slug)
	writeJSON(w, http.StatusCreated, c)
}

// NewChallenge validates a challenge definition and fills in the
// documented defaults for omitted params, limits and rules.
func NewChallenge(spec arena.ChallengeSpec) (arena.Challenge, error) {
	c := arena.Challenge{Slug: spec.Slug, Title: spec.Title, Description: spec.Description, Kind: spec.Kind,
		Params: spec.Params, Limits: scoring.DefaultLimits(spec.Kind), Rules: arena.DefaultRules()}
	if err := store.ValidSlug(c.Slug); err != nil {
		return c, err
	}
	if err := checkText("title", c.Title); err != nil {
		return c, err
	}
	if err := checkText("description", c.Description); err != nil {
		return c, err
	}
	if c.Title == "" {
		c.Title = c.Slug
	}
	if err := overlay("limits", spec.Limits, &c.Limits); err != nil {
		return c, err
	}
	if err := overlay("rules", spec.Rules, &c.Rules); err != nil {
		return c, err
	}
	if err := scoring.Prepare(&c); err != nil {
		return c, err
	}
	if err := checkJSONText("params", c.Params); err != nil {
		return c, err
	}
	return c, nil
}

type challengeKey struct{}

// challengeCtx loads the challenge named by {slug} once for every route
// under it, answering 404 for an unknown one (and for what cannot be a
// slug, before it reaches the database).
func (s *Server) challengeCtx(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := chi.URLParam(r, "slug")
		if store.ValidSlug(slug) != nil {
			s.Error(w, r, arena.Errorf(arena.ENOTFOUND, "no challenge %q", slug))
			return
		}
		c, err := s.Store.Challenge(r.Context(), slug)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), challengeKey{}, c)))
	})
}

// challengeFrom returns the challenge challengeCtx loaded.
func challengeFrom(r *http.Request) arena.Challenge {
	return r.Context().Value(challengeKey{}).(arena.Challenge)
}

func (s *Server) listChallenges(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Store.Challenges(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"challenges": cs})
}

// challengeView adds what a competitor needs to aim: the ABI, the
// current score to beat, and the commitment to the round's hidden seeds.
type challengeView struct {
	arena.Challenge
	ABI            []string `json:"abi"`
	ScoreToBeat    float64  `json:"score_to_beat"`
	SeedCommitment string   `json:"seed_commitment,omitempty"`
}

func (s *Server) getChallenge(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	b, err := scoring.New(c.Kind, c.Params)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := challengeView{Challenge: c, ScoreToBeat: c.Rules.Margin}
	for _, f := range b.ABI().Funcs {
		v.ABI = append(v.ABI, f.String())
	}
	champ, err := s.Store.Champion(r.Context(), c)
	switch {
	case err == nil:
		v.ScoreToBeat = max(0, champ.Score) + c.Rules.Margin
	case arena.ErrorCode(err) != arena.ENOTFOUND:
		s.Error(w, r, err)
		return
	}
	rounds, err := s.Store.Rounds(r.Context(), c)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if len(rounds) > 0 {
		v.SeedCommitment = rounds[len(rounds)-1].Commitment
	}
	writeJSON(w, http.StatusOK, v)
}

// ChallengeUpdate is what an admin may change on a running challenge:
// its words and the rules that do not change what a score means (hidden
// seeds do: the rounds have committed to theirs).
type ChallengeUpdate struct {
	Title       *string         `json:"title,omitempty"`
	Description *string         `json:"description,omitempty"`
	Rules       json.RawMessage `json:"rules,omitempty"` // partial: fields left out keep their values
}

// updateChallenge applies a ChallengeUpdate (admin): extend a deadline,
// open rounds on a timer, reveal code, change the margin or the cap.
func (s *Server) updateChallenge(w http.ResponseWriter, r *http.Request) {
	var u ChallengeUpdate
	if err := decodeJSON(w, r, &u); err != nil {
		s.Error(w, r, err)
		return
	}
	c := challengeFrom(r)
	if u.Title != nil {
		if *u.Title == "" {
			s.Error(w, r, arena.Errorf(arena.EINVALID, "title: must not be empty"))
			return
		}
		if err := checkText("title", *u.Title); err != nil {
			s.Error(w, r, err)
			return
		}
		c.Title = *u.Title
	}
	if u.Description != nil {
		if err := checkText("description", *u.Description); err != nil {
			s.Error(w, r, err)
			return
		}
		c.Description = *u.Description
	}
	hidden := c.Rules.HiddenSeeds
	if err := overlay("rules", u.Rules, &c.Rules); err != nil {
		s.Error(w, r, err)
		return
	}
	if c.Rules.HiddenSeeds != hidden {
		s.Error(w, r, arena.Errorf(arena.EINVALID, "rules.hidden_seeds: cannot change on a running challenge; its rounds have committed to %d seeds each", hidden))
		return
	}
	if err := c.Rules.Validate(); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Store.UpdateChallenge(r.Context(), c); err != nil {
		s.Error(w, r, err)
		return
	}
	s.Logger.Info("challenge updated", "challenge", c.Slug)
	writeJSON(w, http.StatusOK, c)
}
