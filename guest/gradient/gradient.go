// Package gradient lets a Go strategy be an Arena gradient compressor
// (kind grad_compression): register a Compressor in init and build the
// module.
package gradient

import "github.com/arena-dev/arena/guest"

// Compressor compresses the gradients of simulated data-parallel workers
// to a byte budget and decompresses them on the aggregator. Each worker
// and the aggregator run in their own instance of the module: state kept
// in a worker's Compressor (error feedback, say) is that worker's alone,
// and the aggregator learns nothing but the messages.
type Compressor interface {
	// Init is called once per instance: worker is this instance's worker
	// (0 to workers-1), or -1 on the aggregator; n is the gradient length
	// and budget the byte limit of each message.
	Init(worker, workers, n, budget int)
	// Compress encodes the worker's gradient for step t into out, whose
	// length is the budget, and returns how many bytes it used.
	Compress(t int, grad []float64, out []byte) int
	// Decompress decodes worker's message for step t into out (n values).
	Decompress(worker, t int, msg []byte, out []float64)
}

var registered guest.Slot[Compressor]

// Register makes the module's compressor v. Call it from init.
func Register(v Compressor) { registered.Set(v) }

func current() Compressor { return registered.Get("gradient.Register") }
