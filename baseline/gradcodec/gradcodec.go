// Package gradcodec holds the tensor-aware reference gradient compressors:
// each implements guest/gradient.TensorCompressor (gc_init2, the tensor
// table), so it can cut the gradient per tensor and per block. The same
// code runs natively as the grad_compression benchmark's built-in
// baseline (Templar) and compiles to WebAssembly as the examples in
// examples/grad_compression. Every product is wrapped in float64() so no
// compiler fuses it into a fused multiply-add, and only IEEE-exact
// functions (math.Sqrt, math.Abs, math.Round) are used: native and wasm
// runs agree bit for bit.
//
// A package of its own, as baseline/tensoropt is, because it imports
// guest/gradient, which carries the module's gradient exports: package
// baseline stays free of them.
package gradcodec

import (
	"encoding/binary"
	"math"

	"github.com/arena-dev/arena/guest/gradient"
)

// Bytes of the values messages carry.
const (
	scaleBytes = 4 // a float32 scale
)

// absMaxScale is the float32 scale of an absmax quantization of v:
// the largest magnitude, rounded up to a float32 so no value clips.
func absMaxScale(v []float64) float32 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	s := float32(m)
	if float64(s) < m {
		s = math.Nextafter32(s, float32(math.Inf(1)))
	}
	return s
}

func putScale(b []byte, s float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(s)) }

func getScale(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// matrix reports whether a tensor is coded as a matrix: both sides longer
// than one (norm gains and other vectors are not).
func matrix(t gradient.Tensor) bool { return t.Rows > 1 && t.Cols > 1 }

// splitmix is SplitMix64 (Steele, Lea and Flood 2014), a generator every
// instance can reproduce from a shared seed.
func splitmix(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
