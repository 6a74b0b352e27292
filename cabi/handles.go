package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
)

// The handle table maps the integers the C side holds to the Go values
// behind them: Go pointers never cross the boundary, and a stale or forged
// handle is refused by lookup rather than dereferenced. Handles count up
// from 1 and are never reused, so a closed one cannot alias a newer object.
var handles = struct {
	sync.Mutex
	next uint64
	m    map[uint64]any
}{m: map[uint64]any{}}

func register(v any) uint64 {
	handles.Lock()
	defer handles.Unlock()
	handles.next++
	handles.m[handles.next] = v
	return handles.next
}

func unregister(h uint64) {
	handles.Lock()
	defer handles.Unlock()
	delete(handles.m, h)
}

// lookup returns handle h as a T, or says what it is instead.
func lookup[T any](h uint64, want string) (T, error) {
	handles.Lock()
	v, ok := handles.m[h]
	handles.Unlock()
	t, isT := v.(T)
	switch {
	case !ok:
		return t, badInput("handle %d is not open (never made, or closed)", h)
	case !isT:
		return t, badInput("handle %d is %s, not %s", h, describe(v), want)
	}
	return t, nil
}

func describe(v any) string {
	switch v := v.(type) {
	case *engine:
		return "an engine"
	case *module:
		return "a module"
	case *object:
		return v.what
	}
	return fmt.Sprintf("a %T", v)
}

// engine owns a sandbox engine and everything made from it, so closing it
// (or the host forgetting to close the rest) leaks nothing.
type engine struct {
	handle uint64
	eng    *sandbox.Engine
	ctx    context.Context // bounds every module's life; cancelled on close
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	children map[uint64]closer
}

type closer interface{ close() }

// adopt registers a child of the engine under a new handle, or closes it
// when the engine was closed meanwhile.
func (e *engine) adopt(c closer) (uint64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		c.close()
		return 0, badInput("engine %d was closed", e.handle)
	}
	h := register(c)
	e.children[h] = c
	return h, nil
}

// forget drops a child that was closed on its own.
func (e *engine) forget(h uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.children, h)
}

func (e *engine) close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	children := e.children
	e.children = nil
	e.mu.Unlock()
	// Cancelling first stops a call that is running in another thread at
	// its next fuel check, so closing its object need not wait it out.
	e.cancel()
	for h, c := range children {
		unregister(h)
		c.close()
	}
	_ = e.eng.Close(context.Background())
}

// module is a validated, metered and compiled module with its limits. It
// keeps its compiled code pinned in the engine's cache while open; the
// objects made from it load it again themselves (a cache hit), so they
// outlive it.
type module struct {
	engine *engine
	handle uint64
	kind   string
	abi    sandbox.ABI
	wasm   []byte
	limits arena.Limits

	mu     sync.Mutex
	pinned *sandbox.Module
}

func (m *module) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pinned != nil {
		m.pinned.Release(context.Background())
		m.pinned = nil
	}
}

// session is what every strategy object has (package strategy's session,
// promoted through each kind's type).
type session interface {
	FuelUsed() int64
	Log() string
	Close(context.Context)
}

// object is one strategy object of any kind. Exactly one of the typed
// fields is set; the strategy values are for one goroutine at a time, so
// mu serializes the host's calls on it.
type object struct {
	what   string // "an optimizer", "a schedule", ...: for messages
	engine *engine
	handle uint64

	mu      sync.Mutex
	closed  bool
	s       session
	state   any // the kind's value, e.g. *strategy.Optimizer
	n       int // values per gradient, or parameters
	workers int
	budget  int
	size    int // an activation codec's largest tensor, in bytes
}

func (o *object) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.closed = true
		o.s.Close(context.Background())
	}
}

// use runs fn on the object's kind value, holding the object.
func use[T any](h uint64, what string, fn func(o *object, v T) error) error {
	o, err := lookup[*object](h, what)
	if err != nil {
		return err
	}
	v, ok := o.state.(T)
	if !ok {
		return badInput("handle %d is %s, not %s", h, o.what, what)
	}
	return o.run(h, func() error { return fn(o, v) })
}

// run calls fn holding the object, unless it or its engine is closed. A
// call the engine's closing cut short is the caller's doing, whatever the
// module was in the middle of.
func (o *object) run(h uint64, fn func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.engine.ctx.Err() != nil {
		return badInput("handle %d is not open (never made, or closed)", h)
	}
	err := fn()
	if err != nil && o.engine.ctx.Err() != nil {
		return badInput("engine %d was closed during the call", o.engine.handle)
	}
	return err
}

// closeHandle closes whatever h is.
func closeHandle(h uint64) error {
	handles.Lock()
	v, ok := handles.m[h]
	delete(handles.m, h)
	handles.Unlock()
	if !ok {
		return badInput("handle %d is not open (never made, or closed)", h)
	}
	switch v := v.(type) {
	case *engine:
		v.close()
	case *module:
		v.close()
		v.engine.forget(h)
	case *object:
		v.close()
		v.engine.forget(h)
	}
	return nil
}
