package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/arena-dev/arena"
)

type principalKey struct{}

// authenticate resolves a Bearer key when one is given. Requests without
// one go on anonymously; a wrong key is refused outright.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || key == "" {
			s.Error(w, r, arena.Errorf(arena.EUNAUTHORIZED, "the Authorization header must be \"Bearer <api key>\""))
			return
		}
		p, err := s.Store.Authenticate(r.Context(), strings.TrimSpace(key))
		if err != nil {
			s.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// principal returns the caller, if authenticated.
func principal(r *http.Request) (arena.Principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(arena.Principal)
	return p, ok
}

// require lets through only callers with the given role.
func (s *Server) require(role arena.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := principal(r)
			if !ok {
				s.Error(w, r, arena.Errorf(arena.EUNAUTHORIZED, "this needs an API key: send \"Authorization: Bearer <key>\""))
				return
			}
			if p.Role != role {
				s.Error(w, r, arena.Errorf(arena.EFORBIDDEN, "this needs %s key; yours is %s key", withArticle(role), withArticle(p.Role)))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func withArticle(r arena.Role) string {
	if r == arena.RoleAdmin {
		return "an admin"
	}
	return "a " + string(r)
}
