package arena

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in api/.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ENOTFOUND     = "not_found"
	EMETHOD       = "method_not_allowed" // the path exists, not with this method
	ECONFLICT     = "conflict"
	ERATELIMITED  = "rate_limited" // a cap is used up; the message says when it frees
	EUNAVAILABLE  = "unavailable"  // a part the server needs (the database) is not answering; try again shortly
	EINTERNAL     = "internal"
)

// RetryAfter is the Retry-After, in seconds, that answers an unavailable
// error: about as long as a call waits for the database before it gives up.
const RetryAfter = "5"

// Error is an error meant for the caller: Code says what kind, Message says
// what happened in words a competitor or admin can act on. Err, when set,
// is the cause, for the logs: it never reaches a client.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EINTERNAL when there is none (an unexpected failure).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" so that internal details never reach a client.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
