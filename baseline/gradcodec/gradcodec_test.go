package gradcodec

import (
	"math"
	"testing"

	"github.com/arena-dev/arena/detmath"
	"github.com/arena-dev/arena/guest/gradient"
)

// table is a small model's worth of tensors: a matrix taller than a
// block, one wider than a block, a square one and a vector.
func table() []gradient.Tensor {
	shapes := [][2]int{{130, 8}, {8, 70}, {16, 16}, {1, 16}}
	var ts []gradient.Tensor
	off := 0
	for i, s := range shapes {
		ts = append(ts, gradient.Tensor{Name: string(rune('a' + i)), Rows: s[0], Cols: s[1], Offset: off})
		off += s[0] * s[1]
	}
	return ts
}

func size(ts []gradient.Tensor) int {
	n := 0
	for _, t := range ts {
		n += t.Size()
	}
	return n
}

// With error feedback at decay 1 nothing is lost: what the messages
// carried plus the worker's residual is the sum of the gradients.
func TestErrorFeedbackConservesTheGradient(t *testing.T) {
	t.Parallel()
	ts := table()
	n := size(ts)
	for name, c := range map[string]interface {
		gradient.TensorCompressor
		residual() []float64
	}{
		"templar":   &Templar{Beta: 1, BlockSize: 64},
		"powersgd":  &PowerSGD{Rank: 2, Beta: 1, Bits: 8},
		"powersgd4": &PowerSGD{Rank: 4, Beta: 1, Bits: 4},
	} {
		dec := map[string]gradient.TensorCompressor{"templar": &Templar{Beta: 1, BlockSize: 64}, "powersgd": &PowerSGD{Rank: 2, Beta: 1, Bits: 8}, "powersgd4": &PowerSGD{Rank: 4, Beta: 1, Bits: 4}}[name]
		budget := 4 * n / 16
		c.Init(0, 1, ts, budget, 0)
		dec.Init(-1, 1, ts, budget, 0)
		rng := detmath.NewRNG(1, name)
		grad, sum, sent, out := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		msg := make([]byte, budget)
		for step := range 30 {
			for i := range grad {
				grad[i] = rng.Normal() * float64(1+i%7)
				sum[i] += grad[i]
			}
			size := c.Compress(step, grad, msg)
			if size > budget {
				t.Fatalf("%s: a message of %d bytes over the budget of %d", name, size, budget)
			}
			dec.Decompress(0, step, msg[:size], out)
			for i, v := range out {
				sent[i] += v
			}
		}
		var worst, scale float64
		for i := range sum {
			worst = max(worst, math.Abs(sent[i]+c.residual()[i]-sum[i]))
			scale = max(scale, math.Abs(sum[i]))
		}
		if worst > 1e-9*scale {
			t.Errorf("%s: sent + residual differs from the gradients' sum by %g (of %g)", name, worst, scale)
		}
	}
}

func (c *Templar) residual() []float64  { return c.ef }
func (c *PowerSGD) residual() []float64 { return c.ef }

// The 8-bit logarithmic levels are 2^(−(127−m)/8), checked against the
// closed form; every code decodes to its level and encodes back to itself.
func TestLogCodesAreTheirLevels(t *testing.T) {
	t.Parallel()
	for m := 1; m <= logLevels; m++ {
		want := math.Pow(2, -float64(logLevels-m)/8)
		if rel := math.Abs(logLevel[m]-want) / want; rel > 1e-13 {
			t.Errorf("level %d: %v, want %v", m, logLevel[m], want)
		}
		for _, sign := range []byte{0, 0x80} {
			b := sign | byte(m)
			v := logDecode(b, 2.5)
			if got := logEncode(v, 2.5); got != b {
				t.Errorf("code %#x decodes to %v, which encodes to %#x", b, v, got)
			}
		}
	}
	// Nearest on the log grid: the error is at most half a step, 2^(1/16).
	rng := detmath.NewRNG(3, "logcodes")
	for range 10000 {
		v := math.Ldexp(0.5+rng.Float64()/2, -rng.Intn(15)) // in (2^-15, 1)
		d := logDecode(logEncode(v, 1), 1)
		if r := max(d/v, v/d); r > 1.0442737824274138*(1+1e-12) {
			t.Fatalf("%v decodes to %v, off by %v", v, d, r)
		}
	}
	if logEncode(1e-9, 1) != 0 || logDecode(0x80, 1) != 0 || logEncode(0.3, 0) != 0 {
		t.Error("values below the grid, the zero codes and a zero scale must all be 0")
	}
}

func TestPack12RoundTrips(t *testing.T) {
	t.Parallel()
	for k := range 9 {
		idx := make([]uint16, k)
		for j := range idx {
			idx[j] = uint16(j*1237+4095*(j%2)) & 0xfff
		}
		buf := make([]byte, packedBytes(k))
		pack12(idx, buf)
		got := make([]uint16, k)
		unpack12(buf, got)
		for j := range idx {
			if got[j] != idx[j] {
				t.Fatalf("k %d: index %d: %d, want %d", k, j, got[j], idx[j])
			}
		}
		// One byte short, the last index reads as outside every block.
		if k > 0 {
			unpack12(buf[:len(buf)-1], got)
			if got[k-1] != 0xffff {
				t.Errorf("k %d: a short stream's last index read %d", k, got[k-1])
			}
		}
	}
}

// FuzzDecodersTakeAnyMessage: an aggregator decodes whatever bytes arrive
// without panicking, for every compressor here.
func FuzzDecodersTakeAnyMessage(f *testing.F) {
	f.Add([]byte{}, 0)
	f.Add(make([]byte, 300), 3)
	f.Add([]byte{0xff, 0xff, 0x7f, 0x7f, 0, 1, 2, 3, 0xff, 0xfe}, 1)
	ts := table()
	n := size(ts)
	const budget = 4 * 1176 / 8
	codecs := []gradient.TensorCompressor{NewTemplar(), NewPowerSGD(), &SignMV{}, &Dense{}}
	for i, c := range codecs {
		b := budget
		if i == 3 {
			b = 2 * n
		}
		c.Init(-1, 2, ts, b, 0)
	}
	out := make([]float64, n)
	f.Fuzz(func(t *testing.T, msg []byte, worker int) {
		for _, c := range codecs {
			c.Decompress(worker&1, 0, msg, out)
		}
	})
}

// One step of subspace iteration recovers a matrix of rank r exactly
// (Vogels et al. 2019, Algorithm 1, without the all-reduce): P = M·Q spans
// M's column space, so P̂·(MᵀP̂)ᵀ = P̂P̂ᵀM = M; and P̂ is orthonormal.
func TestSubspaceIterationRecoversALowRankMatrix(t *testing.T) {
	t.Parallel()
	const rows, cols, r = 20, 12, 2
	rng := detmath.NewRNG(5, "powersgd")
	u, v := make([]float64, rows*r), make([]float64, cols*r)
	for i := range u {
		u[i] = rng.Normal()
	}
	for i := range v {
		v[i] = rng.Normal()
	}
	m := make([]float64, rows*cols)
	lowRank(m, rows, cols, r, u, v, false)
	c := &PowerSGD{rank: r}
	q, p := make([]float64, cols*r), make([]float64, rows*r)
	for i := range q {
		q[i] = rng.Normal()
	}
	c.iterate(m, rows, cols, q, p)
	for a := range r {
		for b := range r {
			want := 0.0
			if a == b {
				want = 1
			}
			if d := dot(p[a*rows:(a+1)*rows], p[b*rows:(b+1)*rows]); math.Abs(d-want) > 1e-12 {
				t.Errorf("P̂ columns %d·%d = %v, want %v", a, b, d, want)
			}
		}
	}
	got := make([]float64, rows*cols)
	lowRank(got, rows, cols, r, p, q, false)
	for i := range m {
		if math.Abs(got[i]-m[i]) > 1e-10*(1+math.Abs(m[i])) {
			t.Fatalf("element %d: %v, want %v", i, got[i], m[i])
		}
	}
}
