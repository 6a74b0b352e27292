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
