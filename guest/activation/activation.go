// Package activation lets a Go strategy be an Arena activation coder (kind
// activation_compression): register a Coder in init and build the module.
package activation

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

var registered Coder

// Register makes c the module's coder. Call it from init.
func Register(c Coder) { registered = c }

func current() Coder {
	if registered == nil {
		panic("arena guest: no coder registered; call activation.Register in an init function")
	}
	return registered
}
