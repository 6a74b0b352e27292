package scoring

import (
	"encoding/binary"
	"fmt"
	"github.com/arena-dev/arena/detmath"
	"math"

	"github.com/arena-dev/arena/baseline"
)

// Activation tensor families. Each imitates what a transformer's layers
// hand each other: per-channel scales that vary over orders of magnitude,
// a few outlier channels, heavy tails, and low-rank structure.
var tensorNames = []string{"gelu_bf16", "relu_bf16", "lowrank_f32", "heavytail_f32"}

// tensor is one activation tensor: rows (tokens) × cols (channels),
// row-major, little-endian elements of dtype.
type tensor struct {
	dtype      int
	rows, cols int
	data       []byte
}

// newTensor draws the index'th tensor of family name for a task.
func newTensor(name string, seed uint64, index, rows, cols int) (tensor, error) {
	r := detmath.NewRNG(seed, fmt.Sprintf("tensor/%s/%d", name, index))
	v := make([]float64, rows*cols)
	dtype := baseline.Float32
	switch name {
	case "gelu_bf16", "relu_bf16":
		dtype = baseline.BFloat16
		preActivations(r, v, rows, cols)
		for i, x := range v {
			if name == "relu_bf16" {
				v[i] = max(0, x)
				continue
			}
			// GELU, tanh form: x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³))).
			inner := float64(0.7978845608028654 * (x + float64(float64(0.044715*x)*float64(x*x))))
			v[i] = float64(float64(0.5*x) * (1 + detmath.Tanh(inner)))
		}
	case "lowrank_f32":
		// A rank-8 product plus a little noise, as attention outputs and
		// projections often are.
		const rank = 8
		u, w := make([]float64, rows*rank), make([]float64, rank*cols)
		for i := range u {
			u[i] = r.Normal()
		}
		for i := range w {
			w[i] = float64(r.Normal() / math.Sqrt(rank))
		}
		for i := range rows {
			for j := range cols {
				var s float64
				for k := range rank {
					s += float64(u[i*rank+k] * w[k*cols+j])
				}
				v[i*cols+j] = s + float64(1e-3*r.Normal())
			}
		}
	case "heavytail_f32":
		// Student-t with 3 degrees of freedom, scaled per channel: the
		// residual stream's occasional huge values.
		scales := channelScales(r, cols)
		for i := range v {
			chi2 := 0.0
			for range 3 {
				z := r.Normal()
				chi2 += float64(z * z)
			}
			v[i] = float64(scales[i%cols]*r.Normal()) / math.Sqrt(max(chi2/3, 1e-6))
		}
	default:
		return tensor{}, fmt.Errorf("unknown tensor family %q", name)
	}
	t := tensor{dtype: dtype, rows: rows, cols: cols, data: make([]byte, len(v)*baseline.ElementSize(dtype))}
	for i, x := range v {
		f := math.Float32bits(float32(x))
		if dtype == baseline.BFloat16 {
			// Round to nearest even on the 16 bits kept.
			binary.LittleEndian.PutUint16(t.data[2*i:], uint16((f+0x7fff+(f>>16&1))>>16))
		} else {
			binary.LittleEndian.PutUint32(t.data[4*i:], f)
		}
	}
	return t, nil
}

// channelScales are log-normal per-channel scales, with about one channel
// in fifty an outlier twenty times larger.
func channelScales(r *detmath.RNG, cols int) []float64 {
	s := make([]float64, cols)
	for j := range s {
		s[j] = detmath.Exp(float64(0.5 * r.Normal()))
		if r.Float64() < 0.02 {
			s[j] = float64(20 * s[j])
		}
	}
	return s
}

// preActivations fills v with a hidden layer's inputs: a rank-4 signal
// shared across tokens plus noise, scaled per channel.
func preActivations(r *detmath.RNG, v []float64, rows, cols int) {
	const rank = 4
	scales := channelScales(r, cols)
	u, w := make([]float64, rows*rank), make([]float64, rank*cols)
	for i := range u {
		u[i] = r.Normal()
	}
	for i := range w {
		w[i] = float64(0.5 * r.Normal())
	}
	for i := range rows {
		for j := range cols {
			s := r.Normal()
			for k := range rank {
				s += float64(u[i*rank+k] * w[k*cols+j])
			}
			v[i*cols+j] = float64(scales[j] * s)
		}
	}
}
