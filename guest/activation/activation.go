// Package activation lets a Go strategy be an Arena activation codec (kind
// activation_compression): register a Codec (ABI v2) or a Coder (ABI v1)
// in init and build the module.
package activation

import "github.com/arena-dev/arena/guest"

// Element types of a tensor, as the host passes them.
const (
	BFloat16 = 0 // 2 bytes per element
	Float32  = 1 // 4 bytes per element
)

// Directions a tensor crosses the pipeline cut in.
const (
	Forward  = 0 // an activation, from the earlier stage to the later
	Backward = 1 // the gradient with respect to it, back again
)

// Codec codes the tensors that cross a pipeline cut (ABI v2). The two
// stages hold separate instances of the module: the earlier one encodes
// activations and decodes their gradients, the later one decodes
// activations and encodes gradients, so each side knows only its own
// tensors and the messages it receives. Lossy codecs are allowed on the
// benchmark's lossy track; the lossless track requires byte-exact
// reconstruction. Messages must be deterministic (the same instance
// history and tensor give the same bytes), as peers that hash them need.
type Codec interface {
	// Encode codes in, a rows×cols row-major tensor of little-endian
	// dtype elements crossing in direction, into out and returns the
	// bytes used, or -1 if out is too small.
	Encode(direction, dtype, rows, cols int, in, out []byte) int
	// Decode decodes msg into out, the rows×cols tensor of dtype the
	// other side encoded in direction.
	Decode(direction, dtype, rows, cols int, msg, out []byte)
}

// Coder is ABI v1's lossless coder, which is not told the direction.
type Coder interface {
	// Compress encodes in, a rows×cols row-major tensor of little-endian
	// dtype elements, into out and returns the bytes used, or -1 if out is
	// too small.
	Compress(dtype, rows, cols int, in, out []byte) int
	// Decompress decodes msg into out, which must end up equal to the
	// tensor given to Compress byte for byte.
	Decompress(dtype, rows, cols int, msg, out []byte)
}

// v1 runs a Coder as a Codec that ignores the direction.
type v1 struct{ c Coder }

func (a v1) Encode(_, dtype, rows, cols int, in, out []byte) int {
	return a.c.Compress(dtype, rows, cols, in, out)
}

func (a v1) Decode(_, dtype, rows, cols int, msg, out []byte) {
	a.c.Decompress(dtype, rows, cols, msg, out)
}

var registered guest.Slot[Codec]

// RegisterCodec makes the module's codec v. Call it from init.
func RegisterCodec(v Codec) { registered.Set(v) }

// Register makes the module's coder v, a Coder that ignores the
// direction. Call it from init.
func Register(v Coder) { registered.Set(v1{v}) }

func current() Codec { return registered.Get("activation.Register or activation.RegisterCodec") }
