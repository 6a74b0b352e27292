package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// RejectError says a module failed validation: it never ran.
type RejectError struct {
	Reason string
}

func (e *RejectError) Error() string { return "module rejected: " + e.Reason }

func reject(format string, args ...any) error {
	return &RejectError{Reason: fmt.Sprintf(format, args...)}
}

// RunError says a module misbehaved while it ran: a trap, an exit, a time
// limit, or a pointer outside its memory.
type RunError struct {
	Func          string // the export being called, or "instantiation"
	Reason        string // one line
	Detail        string // more lines, such as a wasm stack trace
	TimedOut      bool   // the wall-clock safety net fired
	FuelExhausted bool
}

func (e *RunError) Error() string { return e.Func + ": " + e.Reason }

// IsReject reports whether err is a validation failure.
func IsReject(err error) bool {
	var r *RejectError
	return errors.As(err, &r)
}

// classify turns an error from wazero into a RunError, or returns a
// cancellation of the host's own context unchanged so callers can tell a
// shutdown from a misbehaving module.
func classify(ctx context.Context, fn string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", fn, context.Cause(ctx))
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return &RunError{Func: fn, Reason: fmt.Sprintf("module exited with code %d", exit.ExitCode())}
	}
	reason, detail, _ := strings.Cut(err.Error(), "\n")
	return &RunError{Func: fn, Reason: reason, Detail: detail}
}
