package lossy

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/arena-dev/arena/detmath"
)

type codec interface {
	Encode(direction, dtype, rows, cols int, in, out []byte) int
	Decode(direction, dtype, rows, cols int, msg, out []byte)
}

func codecs() map[string]func() codec {
	return map[string]func() codec{
		"bf16cast": func() codec { return BF16Cast{} },
		"int8":     func() codec { return &Quantize{Bits: 8} },
		"int4":     func() codec { return &Quantize{Bits: 4} },
		"int2":     func() codec { return &Midrise{Bits: 2} },
		"ternary":  func() codec { return &Quantize{Bits: 2} },
		"topk":     func() codec { return &TopK{Keep: 0.4} },
		"lowrank":  func() codec { return &LowRank{Keep: 0.34} },
	}
}

// tensorBytes draws a rows×cols tensor of rank-3 signal plus noise.
func tensorBytes(dtype, rows, cols int, seed uint64) ([]byte, []float64) {
	r := detmath.NewRNG(seed, "lossy")
	u, w := make([]float64, rows*3), make([]float64, 3*cols)
	for i := range u {
		u[i] = r.Normal()
	}
	for i := range w {
		w[i] = r.Normal()
	}
	b := make([]byte, rows*cols*ElementSize(dtype))
	v := make([]float64, rows*cols)
	for i := range rows {
		for j := range cols {
			s := 0.05 * r.Normal()
			for k := range 3 {
				s += u[i*3+k] * w[k*cols+j]
			}
			setElement(dtype, b, i*cols+j, s)
			v[i*cols+j] = element(dtype, b, i*cols+j)
		}
	}
	return b, v
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// Every codec reconstructs its tensors closely, in both element types,
// the more bits the closer, and gives the same bytes twice.
func TestCodecsReconstruct(t *testing.T) {
	t.Parallel()
	floor := map[string]float64{"bf16cast": 0.99999, "int8": 0.9999, "int4": 0.99, "int2": 0.9, "ternary": 0.8, "topk": 0.9, "lowrank": 0.999}
	for name, mk := range codecs() {
		for _, dtype := range []int{BFloat16, Float32} {
			const rows, cols = 40, 12
			in, want := tensorBytes(dtype, rows, cols, 3)
			out := make([]byte, 2*len(in)+64)
			n := mk().Encode(0, dtype, rows, cols, in, out)
			if n < 0 || n > len(out) {
				t.Fatalf("%s dtype %d: encode returned %d", name, dtype, n)
			}
			again := make([]byte, len(out))
			if m := mk().Encode(0, dtype, rows, cols, in, again); m != n || string(again[:m]) != string(out[:n]) {
				t.Errorf("%s dtype %d: a second encoding differs", name, dtype)
			}
			if mk().Encode(0, dtype, rows, cols, in, out[:n-1]) != -1 {
				t.Errorf("%s dtype %d: no -1 for a buffer one byte short", name, dtype)
			}
			dec := make([]byte, len(in))
			mk().Decode(0, dtype, rows, cols, out[:n], dec)
			got := make([]float64, rows*cols)
			for i := range got {
				got[i] = element(dtype, dec, i)
			}
			if c := cosine(want, got); !(c >= floor[name]) {
				t.Errorf("%s dtype %d: cosine %.6f, want at least %v", name, dtype, c, floor[name])
			}
			if name == "bf16cast" && dtype == BFloat16 && string(dec) != string(in) {
				t.Errorf("bf16cast changed a bfloat16 tensor")
			}
		}
	}
}

// The quantizer's scale and levels: a row of 1, -1/2 and 0 at 8 bits is
// scale 1 and codes 127, -63 and 0 (-63.5 rounds half up), decoding to
// 1, -63/127 and 0.
func TestQuantizeByHand(t *testing.T) {
	t.Parallel()
	in := make([]byte, 12)
	for i, v := range []float32{1, -0.5, 0} {
		binary.LittleEndian.PutUint32(in[4*i:], math.Float32bits(v))
	}
	out := make([]byte, 5)
	if n := (&Quantize{Bits: 8}).Encode(0, Float32, 1, 3, in, out); n != 5 {
		t.Fatalf("encoded %d bytes, want 5", n)
	}
	if binary.LittleEndian.Uint16(out) != 0x3f80 || out[2] != 127+127 || out[3] != 127-63 || out[4] != 127 {
		t.Errorf("message % x, want scale 3f80 and codes fe 40 7f", out)
	}
	dec := make([]byte, 12)
	(&Quantize{Bits: 8}).Decode(0, Float32, 1, 3, out, dec)
	if got := element(Float32, dec, 1); got != float64(float32(-63.0/127)) {
		t.Errorf("-0.5 came back as %v", got)
	}
}

// The 2-bit midrise quantizer by hand: a row of 1, -1/2, 1/5 and -1 is
// scale 1, step 2/3, and codes 3, 1, 2 and 0 (levels 3/2, -1/2, 1/2 and
// -3/2 steps), packed low bits first into one byte 0x27, decoding to 1,
// -1/3, 1/3 and -1.
func TestQuantizeMidriseByHand(t *testing.T) {
	t.Parallel()
	in := make([]byte, 16)
	for i, v := range []float32{1, -0.5, 0.2, -1} {
		binary.LittleEndian.PutUint32(in[4*i:], math.Float32bits(v))
	}
	q := &Midrise{Bits: 2}
	out := make([]byte, 3)
	if n := q.Encode(0, Float32, 1, 4, in, out); n != 3 {
		t.Fatalf("encoded %d bytes, want 3", n)
	}
	if binary.LittleEndian.Uint16(out) != 0x3f80 || out[2] != 0x27 {
		t.Errorf("message % x, want scale 3f80 and codes 27", out)
	}
	dec := make([]byte, 16)
	q.Decode(0, Float32, 1, 4, out, dec)
	for i, want := range []float64{1, -1.0 / 3, 1.0 / 3, -1} {
		if got := element(Float32, dec, i); math.Abs(got-want) > 1e-7 {
			t.Errorf("value %d came back as %v, want %v", i, got, want)
		}
	}
}

// Every quantizer sends each value to its nearest level, checked against
// a brute-force search over the levels' closed form: k·m/L for |k| ≤ L
// (L = 2^(Bits−1) − 1) for the symmetric quantizer, (k + 1/2)·m/(H − 1/2)
// for −H ≤ k < H (H = 2^(Bits−1)) for the midrise one.
func TestQuantizeNearestLevel(t *testing.T) {
	t.Parallel()
	symmetric := func(bits int) func(m float64) []float64 {
		return func(m float64) []float64 {
			L := 1<<(bits-1) - 1
			var l []float64
			for k := -L; k <= L; k++ {
				l = append(l, float64(k)*m/float64(L))
			}
			return l
		}
	}
	midrise := func(bits int) func(m float64) []float64 {
		return func(m float64) []float64 {
			H := 1 << (bits - 1)
			var l []float64
			for k := -H; k < H; k++ {
				l = append(l, (float64(k)+0.5)*m/(float64(H)-0.5))
			}
			return l
		}
	}
	for _, tc := range []struct {
		name     string
		q        codec
		rowBytes int
		levels   func(m float64) []float64
	}{
		{"ternary", &Quantize{Bits: 2}, 2 + 3, symmetric(2)},
		{"int4", &Quantize{Bits: 4}, 2 + 5, symmetric(4)},
		{"int8", &Quantize{Bits: 8}, 2 + 9, symmetric(8)},
		{"int2", &Midrise{Bits: 2}, 2 + 3, midrise(2)},
		{"midrise4", &Midrise{Bits: 4}, 2 + 5, midrise(4)},
		{"midrise8", &Midrise{Bits: 8}, 2 + 9, midrise(8)},
	} {
		const rows, cols = 30, 9
		in, x := tensorBytes(Float32, rows, cols, 7)
		out := make([]byte, rows*tc.rowBytes)
		if n := tc.q.Encode(0, Float32, rows, cols, in, out); n != len(out) {
			t.Fatalf("%s: encoded %d bytes, want %d", tc.name, n, len(out))
		}
		dec := make([]byte, len(in))
		tc.q.Decode(0, Float32, rows, cols, out, dec)
		for r := range rows {
			scale := float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(out[r*tc.rowBytes:])) << 16))
			levels := tc.levels(scale)
			for j := range cols {
				v, got := x[r*cols+j], element(Float32, dec, r*cols+j)
				best := math.Inf(1)
				for _, l := range levels {
					best = min(best, math.Abs(v-l))
				}
				if d := math.Abs(v - got); d > best+1e-6*scale {
					t.Errorf("%s: %v came back as %v, %v from it; the nearest level is %v away", tc.name, v, got, d, best)
				}
			}
		}
	}
}

// The decoders refuse messages of the wrong size, or with indices past a
// row, with their own message rather than a runtime error, whatever the
// bytes.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(3), uint8(5), true)
	f.Add(make([]byte, 64), uint8(4), uint8(4), false)
	f.Fuzz(func(t *testing.T, msg []byte, rows, cols uint8, bf16 bool) {
		r, c := int(rows%16)+1, int(cols%20)+1
		dtype := Float32
		if bf16 {
			dtype = BFloat16
		}
		for name, mk := range codecs() {
			func() {
				defer func() {
					if p := recover(); p != nil {
						if s, ok := p.(string); !ok || !strings.Contains(s, ":") {
							t.Errorf("%s: panicked with %v", name, p)
						}
					}
				}()
				mk().Decode(0, dtype, r, c, msg, make([]byte, r*c*ElementSize(dtype)))
			}()
		}
	})
}
