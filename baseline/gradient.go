package baseline

import (
	"encoding/binary"
	"math"
)

// Each gradient compressor here implements guest/gradient.Compressor. A
// task runs one copy per simulated worker (Compress) and one on the
// aggregator (Decompress), in separate instances that share nothing but
// the messages.

// TopK sends the k = budget/8 largest-magnitude coordinates as
// (uint32 index, float32 value) pairs. With ErrorFeedback, what a message
// leaves out is carried into the worker's next gradient instead of lost.
// Plain TopK is the grad_compression benchmark's built-in baseline.
type TopK struct {
	ErrorFeedback bool
	feedback
	order []int
}

// feedback is a worker's error-feedback residual: what its messages have
// left out so far.
type feedback struct{ residual []float64 }

// owed is what the worker should send this step: the gradient, plus the
// residual when error feedback is on (then the residual holds it all).
func (f *feedback) owed(on bool, grad []float64) []float64 {
	if !on {
		return grad
	}
	for i, g := range grad {
		f.residual[i] += g
	}
	return f.residual
}

// send returns coordinate i of owed as the float32 the message carries,
// and with error feedback takes what was sent off the residual.
func (f *feedback) send(on bool, owed []float64, i int) float32 {
	v := float32(owed[i])
	if on {
		f.residual[i] -= float64(v)
	}
	return v
}

const topKEntry = 8 // bytes per coordinate: uint32 index, float32 value

func (c *TopK) Init(_, _, n, _ int) {
	c.residual = make([]float64, n)
	c.order = make([]int, n)
}

func (c *TopK) Compress(_ int, grad []float64, out []byte) int {
	grad = c.owed(c.ErrorFeedback, grad)
	k := min(len(out)/topKEntry, len(grad))
	for j, i := range c.largest(grad, k) {
		binary.LittleEndian.PutUint32(out[j*topKEntry:], uint32(i))
		binary.LittleEndian.PutUint32(out[j*topKEntry+4:], math.Float32bits(c.send(c.ErrorFeedback, grad, i)))
	}
	return k * topKEntry
}

// largest returns the indices of the k largest |v|, largest first; ties go
// to the lower index, so the choice is the same everywhere. Insertion into
// a short sorted list costs about n·k comparisons and no calls, which is
// cheaper in fuel than sorting for the small k a tight budget allows.
func (c *TopK) largest(v []float64, k int) []int {
	top := c.order[:0]
	for i, x := range v {
		a := math.Abs(x)
		if len(top) == k && (k == 0 || a <= math.Abs(v[top[k-1]])) {
			continue
		}
		if len(top) < k {
			top = append(top, i)
		}
		j := len(top) - 1
		for ; j > 0 && a > math.Abs(v[top[j-1]]); j-- {
			top[j] = top[j-1]
		}
		top[j] = i
	}
	return top
}

func (c *TopK) Decompress(_, _ int, msg []byte, out []float64) {
	clear(out)
	for j := 0; j+topKEntry <= len(msg); j += topKEntry {
		i := binary.LittleEndian.Uint32(msg[j:])
		if int(i) < len(out) {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(msg[j+4:])))
		}
	}
}

// RandK sends k = budget/4 coordinates as float32 values alone: the
// indices come from a generator seeded by the step, which the workers and
// the aggregator share, so they cost nothing to send. Every worker sends
// the same coordinates in a step. With ErrorFeedback, what a message
// leaves out is carried into the worker's next gradient.
type RandK struct {
	ErrorFeedback bool
	feedback
	perm []int
}

const randKEntry = 4 // bytes per coordinate: float32 value

func (c *RandK) Init(_, _, n, _ int) {
	c.residual = make([]float64, n)
	c.perm = make([]int, n)
}

// indices returns k distinct coordinates for step t: the first k of a
// partial Fisher–Yates shuffle driven by SplitMix64.
func (c *RandK) indices(t, k int) []int {
	for i := range c.perm {
		c.perm[i] = i
	}
	state := uint64(t)*0x9e3779b97f4a7c15 + 0x5ca1ab1e
	for i := 0; i < k; i++ {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		j := i + int(z%uint64(len(c.perm)-i))
		c.perm[i], c.perm[j] = c.perm[j], c.perm[i]
	}
	return c.perm[:k]
}

func (c *RandK) Compress(t int, grad []float64, out []byte) int {
	grad = c.owed(c.ErrorFeedback, grad)
	k := min(len(out)/randKEntry, len(grad))
	for j, i := range c.indices(t, k) {
		binary.LittleEndian.PutUint32(out[j*randKEntry:], math.Float32bits(c.send(c.ErrorFeedback, grad, i)))
	}
	return k * randKEntry
}

func (c *RandK) Decompress(_, t int, msg []byte, out []float64) {
	clear(out)
	k := min(len(msg)/randKEntry, len(out))
	for j, i := range c.indices(t, k) {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(msg[j*randKEntry:])))
	}
}
