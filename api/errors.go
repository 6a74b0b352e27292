package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/arena-dev/arena"
)

// statusOf is the one place arena error codes become HTTP statuses.
func statusOf(code string) int {
	switch code {
	case arena.EINVALID:
		return http.StatusBadRequest
	case arena.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case arena.EFORBIDDEN:
		return http.StatusForbidden
	case arena.ENOTFOUND:
		return http.StatusNotFound
	case arena.EMETHOD:
		return http.StatusMethodNotAllowed
	case arena.ECONFLICT:
		return http.StatusConflict
	case arena.ERATELIMITED:
		return http.StatusTooManyRequests
	case arena.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error writes err as {"error":{"code","message"}}. Internal errors are
// logged with the request ID and shown to the client only as "internal
// error"; so are the causes of unavailable ones, which say when to retry.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code := arena.ErrorCode(err)
	switch code {
	case arena.EINTERNAL:
		s.Logger.Error("internal error", "request_id", middleware.GetReqID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "err", err)
	case arena.EUNAVAILABLE:
		s.Logger.Warn("unavailable", "request_id", middleware.GetReqID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", arena.RetryAfter)
	case arena.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="arena"`)
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = arena.ErrorMessage(err)
	writeJSON(w, statusOf(code), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxJSONBody is the most a JSON request body may hold.
const maxJSONBody = 1 << 20

// decodeJSON decodes a small JSON request body strictly: UTF-8 (which
// JSON must be; Go would quietly replace what is not), one JSON value
// (whitespace may follow it, nothing else), no unknown fields, at most
// maxJSONBody bytes. The limit is told to the response, so a client
// sending far more gets the 400 rather than a reset connection.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooLarge *http.MaxBytesError
	var arenaErr *arena.Error
	switch {
	case errors.As(err, &tooLarge):
		return arena.Errorf(arena.EINVALID, "request body: larger than %d bytes", maxJSONBody)
	case errors.As(err, &arenaErr): // the body's deadline passed
		return err
	case err != nil:
		return arena.Errorf(arena.EINVALID, "request body: %v", err)
	case len(bytes.TrimSpace(raw)) == 0:
		return arena.Errorf(arena.EINVALID, "request body: empty; send a JSON object")
	case !utf8.Valid(raw):
		return arena.Errorf(arena.EINVALID, "request body: not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return arena.Errorf(arena.EINVALID, "request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return arena.Errorf(arena.EINVALID, "request body: %v", errTrailing)
	}
	return nil
}

var errTrailing = errors.New("more follows the JSON value; send exactly one")

func strictUnmarshal(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}
