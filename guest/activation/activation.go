// Package activation lets a Go strategy be an Arena activation coder (kind
// activation_compression): register a Coder in init and build the module.
package activation

import "github.com/arena-dev/arena/guest"

// Element types of a tensor, as the host passes them.
const (
	BFloat16 = 0 // 2 bytes per element
	Float32  = 1 // 4 bytes per element
)

// Coder compresses activation tensors losslessly. Compression and
// decompression run in separate instances of the module: the decompressor
// sees only the messages (and each tensor's shape and type), so state it
// keeps across a task's tensors must come from them.
type Coder interface {
	// Compress encodes in, a rows×cols row-major tensor of little-endian
	// dtype elements, into out and returns the bytes used, or -1 if out is
	// too small.
	Compress(dtype, rows, cols int, in, out []byte) int
	// Decompress decodes msg into out, which must end up equal to the
	// tensor given to Compress byte for byte.
	Decompress(dtype, rows, cols int, msg, out []byte)
}

var registered guest.Slot[Coder]

// Register makes the module's coder v. Call it from init.
func Register(v Coder) { registered.Set(v) }

func current() Coder { return registered.Get("activation.Register") }
