package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// The error classes of arena.h.
const (
	codeOK       = 0
	codeRejected = 1
	codeFailed   = 2
	codeBadInput = 3
	codeInternal = 4
)

// inputError is the caller's mistake, caught before the module saw it.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// internalError is the library's own failure.
type internalError struct{ msg string }

func (e *internalError) Error() string { return e.msg }

// classify maps an error to its class. A rejection and a misbehaving
// module are the sandbox's own error types. Everything else that package
// strategy or scoring returns is the caller's input refused before the
// module saw it (lengths, shapes, tables, limits), except a cancelled
// context, which here only means the engine was closed under the call.
func classify(err error) int {
	var (
		run *sandbox.RunError
		in  *inputError
		ie  *internalError
		ae  *arena.Error
	)
	switch {
	case err == nil:
		return codeOK
	case errors.As(err, &ie):
		return codeInternal
	case errors.As(err, &in):
		return codeBadInput
	case sandbox.IsReject(err):
		return codeRejected
	case errors.As(err, &run):
		return codeFailed
	case errors.Is(err, context.Canceled):
		return codeInternal
	case errors.As(err, &ae) && ae.Code != arena.EINVALID:
		return codeInternal
	}
	return codeBadInput
}

// guard runs fn and turns a panic into an internal error, so that nothing
// that goes wrong in Go takes the host process down with it.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &internalError{msg: fmt.Sprintf("libarena: internal error: %v\n%s", r, debug.Stack())}
		}
	}()
	return fn()
}

// message is what the caller is told: arena.Error's message without its
// code prefix, which the class already says.
func message(err error) string {
	var ae *arena.Error
	if errors.As(err, &ae) && ae.Error() == err.Error() {
		return ae.Message
	}
	return err.Error()
}
