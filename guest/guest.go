// Package guest is the SDK for writing Arena strategies in Go. It exports
// arena_alloc, which every kind's ABI uses; the kind's own functions come
// from its subpackage (guest/optimizer, guest/schedule), so a module
// exports exactly what its kind needs and a module of the wrong kind is
// rejected at upload. A strategy registers one plain Go value in init:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o sgd.wasm .
//
// On other platforms the same code builds natively, so a strategy can be
// unit-tested with go test before it is compiled to a module.
package guest

// Slot holds the one strategy a module registers; each kind's package
// keeps one.
type Slot[T any] struct {
	value T
	set   bool
}

// Set registers v.
func (s *Slot[T]) Set(v T) { s.value, s.set = v, true }

// Get returns what was registered, or panics with a message naming the
// register function to call; the host shows it in the task's log.
func (s *Slot[T]) Get(register string) T {
	if !s.set {
		panic("arena guest: nothing registered; call " + register + " in an init function")
	}
	return s.value
}
