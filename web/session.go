package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/arena-dev/arena"
)

// Signing in: a competitor pastes an API key once; the server checks it
// and sets a session cookie naming the key by its id (never the key
// itself), with an expiry, MACed with the server's session secret. Each
// request checks the MAC, the expiry and that the key is still unrevoked,
// so revoking or rotating a key ends its sessions. The cookie is HttpOnly
// and SameSite=Lax; forms that change anything carry a CSRF token derived
// from the session (or, before signing in, from a random cookie of its
// own), checked on every POST.
const (
	sessionCookie = "arena_session"
	csrfCookie    = "arena_csrf" // binds the sign-in form's token before there is a session
	csrfField     = "csrf"
	// SessionLifetime is how long a sign-in lasts.
	SessionLifetime = 7 * 24 * time.Hour
)

// session is a verified session cookie's content.
type session struct {
	keyID   int64
	expires time.Time
	payload string // the signed part, which the CSRF token is bound to
}

func (h *Handler) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, h.secret)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// newSession is a cookie value for key id: payload "." MAC, the payload
// the key id and the expiry (8 bytes each, big-endian) and 16 random
// bytes, so two sign-ins never share a CSRF token.
func (h *Handler) newSession(keyID int64, now time.Time) string {
	raw := make([]byte, 32)
	binary.BigEndian.PutUint64(raw, uint64(keyID))
	binary.BigEndian.PutUint64(raw[8:], uint64(now.Add(SessionLifetime).Unix()))
	_, _ = rand.Read(raw[16:])
	payload := b64.EncodeToString(raw)
	return payload + "." + b64.EncodeToString(h.mac("session", payload))
}

// readSession verifies a cookie value.
func (h *Handler) readSession(value string, now time.Time) (session, bool) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return session{}, false
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac("session", payload)) {
		return session{}, false
	}
	raw, err := b64.DecodeString(payload)
	if err != nil || len(raw) != 32 {
		return session{}, false
	}
	s := session{keyID: int64(binary.BigEndian.Uint64(raw)), expires: time.Unix(int64(binary.BigEndian.Uint64(raw[8:])), 0), payload: payload}
	if !now.Before(s.expires) {
		return session{}, false
	}
	return s, true
}

type viewerKey struct{}

// viewer is who is looking at a page: signed in or not, and the CSRF
// token their forms carry.
type viewer struct {
	Principal *arena.Principal
	CSRF      string
}

func (v viewer) Admin() bool { return v.Principal != nil && v.Principal.Role == arena.RoleAdmin }
func (v viewer) Competitor() bool {
	return v.Principal != nil && v.Principal.Role == arena.RoleCompetitor
}
func (v viewer) Owns(sub arena.Submission) bool {
	return v.Principal != nil && v.Principal.CompetitorID != 0 && v.Principal.CompetitorID == sub.CompetitorID
}

func viewerFrom(ctx context.Context) viewer {
	v, _ := ctx.Value(viewerKey{}).(viewer)
	return v
}

// identify resolves the session cookie, if any, into the viewer. A bad,
// expired or revoked session is cleared and the page is shown signed out.
// Every POST must carry the viewer's CSRF token.
func (h *Handler) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v viewer
		binding := ""
		if c, err := r.Cookie(sessionCookie); err == nil {
			s, ok := h.readSession(c.Value, time.Now())
			if ok {
				p, err := h.store.PrincipalByKey(r.Context(), s.keyID)
				switch {
				case err == nil:
					v.Principal, binding = &p, "session:"+s.payload
				case arena.ErrorCode(err) != arena.EUNAUTHORIZED:
					h.fail(w, r, err)
					return
				default:
					ok = false
				}
			}
			if !ok {
				h.clearSession(w, r)
			}
		}
		if binding == "" {
			c, err := r.Cookie(csrfCookie)
			if err != nil || len(c.Value) < 16 {
				nonce := make([]byte, 16)
				_, _ = rand.Read(nonce)
				c = &http.Cookie{Name: csrfCookie, Value: b64.EncodeToString(nonce), Path: "/", HttpOnly: true,
					SameSite: http.SameSiteLaxMode, Secure: secure(r)}
				http.SetCookie(w, c)
			}
			binding = "anonymous:" + c.Value
		}
		v.CSRF = b64.EncodeToString(h.mac("csrf", binding))
		if r.Method == http.MethodPost && v.Principal == nil && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			// Only uploads are multipart, and only the signed-in upload:
			// nobody else gets megabytes parsed for a token.
			h.fail(w, r, arena.Errorf(arena.EUNAUTHORIZED, "sign in to upload"))
			return
		}
		if r.Method == http.MethodPost {
			// The size of forms is bounded by each handler; the token is a
			// field of every form, multipart or not.
			token := r.Header.Get("X-CSRF-Token")
			if token == "" {
				if tooLarge := (*http.MaxBytesError)(nil); errors.As(parseForm(w, r), &tooLarge) {
					h.fail(w, r, arena.Errorf(arena.EINVALID, "the form is larger than the %d bytes any form here may be", tooLarge.Limit))
					return
				}
				token = r.PostFormValue(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(token), []byte(v.CSRF)) != 1 {
				h.fail(w, r, arena.Errorf(arena.EFORBIDDEN, "this form has expired or did not come from this site (its CSRF token is missing or wrong): reload the page and try again"))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

// maxForm bounds a form without a file.
const maxForm = 64 << 10

// maxUpload bounds an upload form: the largest module any challenge may
// take and the form around it. The challenge's own limit is checked after.
const maxUpload = arena.MaxModuleBytes + maxForm

// parseForm parses a urlencoded or multipart form, once, bounded.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		return r.ParseMultipartForm(1 << 20) // files past 1 MiB wait on disk
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return r.ParseForm()
}

// formValue reads one field of the form (an empty one when the form did
// not parse).
func formValue(w http.ResponseWriter, r *http.Request, name string) string {
	_ = parseForm(w, r)
	return r.PostFormValue(name)
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, keyID int64) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: h.newSession(keyID, time.Now()), Path: "/",
		MaxAge: int(SessionLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r)})
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure(r)})
}
