package api

import (
	"bytes"
	"encoding/json"
	"net/http"

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
	case arena.ECONFLICT:
		return http.StatusConflict
	case arena.ERATELIMITED:
		return http.StatusTooManyRequests
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
// error".
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code := arena.ErrorCode(err)
	if code == arena.EINTERNAL {
		s.Logger.Error("internal error", "request_id", middleware.GetReqID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = arena.ErrorMessage(err)
	if code == arena.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="arena"`)
	}
	writeJSON(w, statusOf(code), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decodeJSON decodes a small JSON request body strictly.
func decodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return arena.Errorf(arena.EINVALID, "request body: %v", err)
	}
	return nil
}

func strictUnmarshal(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}
