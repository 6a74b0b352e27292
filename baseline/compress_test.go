package baseline

import (
	"bytes"
	"testing"
)

// FuzzBytePlaneRoundTrips: whatever the bytes, decompressing what
// BytePlane compressed gives them back, for both element widths.
func FuzzBytePlaneRoundTrips(f *testing.F) {
	f.Add([]byte{}, true)
	f.Add([]byte{0, 0, 0, 0, 1, 2, 3, 4}, false)
	f.Add(bytes.Repeat([]byte{0x3f, 0x80}, 300), true)
	skewed := make([]byte, 4096)
	for i := range skewed {
		skewed[i] = byte(i * i % 251 >> (i % 8))
	}
	f.Add(skewed, false)
	f.Fuzz(func(t *testing.T, in []byte, bf16 bool) {
		dtype := Float32
		if bf16 {
			dtype = BFloat16
		}
		in = in[:len(in)/ElementSize(dtype)*ElementSize(dtype)]
		var enc, dec BytePlane
		out := make([]byte, len(in)+1024)
		n := enc.Compress(dtype, 1, len(in)/ElementSize(dtype), in, out)
		if n < 0 || n > len(in)+1 {
			t.Fatalf("compressed %d bytes to %d", len(in), n)
		}
		got := make([]byte, len(in))
		dec.Decompress(dtype, 1, len(in)/ElementSize(dtype), out[:n], got)
		if !bytes.Equal(got, in) {
			t.Fatalf("round trip of %d bytes differs", len(in))
		}
	})
}

func TestBytePlaneShrinksSkewedPlanes(t *testing.T) {
	t.Parallel()
	// bfloat16 values whose high bytes take two values: that plane codes in
	// one bit per element, so the whole shrinks to about 9/16.
	in := make([]byte, 8192)
	for i := 0; i < len(in); i += 2 {
		in[i] = byte(i * 37 >> 3)
		in[i+1] = 0x3f + byte(i>>1&1)
	}
	out := make([]byte, len(in)+1024)
	n := (&BytePlane{}).Compress(BFloat16, 64, 64, in, out)
	if n > len(in)*10/16 {
		t.Errorf("compressed %d bytes to %d, want at most %d", len(in), n, len(in)*10/16)
	}
	// A buffer too small even for the raw fallback is refused.
	if n := (&BytePlane{}).Compress(BFloat16, 64, 64, in, out[:100]); n != -1 {
		t.Errorf("compress into a too-small buffer returned %d, want -1", n)
	}
}

func TestTopKKeepsTheLargestAndBreaksTiesByIndex(t *testing.T) {
	t.Parallel()
	grad := []float64{0.5, -3, 2, 3, 0, -2, 1}
	var enc, dec TopK
	enc.Init(0, 1, len(grad), 24)
	dec.Init(-1, 1, len(grad), 24)
	msg := make([]byte, 24) // three entries
	n := enc.Compress(0, grad, msg)
	got := make([]float64, len(grad))
	dec.Decompress(0, 0, msg[:n], got)
	want := []float64{0, -3, 2, 3, 0, 0, 0} // |-3| = |3| > |2| = |-2|: lower indices win
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("decoded %v, want %v", got, want)
		}
	}
}

func TestErrorFeedbackCarriesWhatWasLeftOut(t *testing.T) {
	t.Parallel()
	topk, randk := &TopK{ErrorFeedback: true}, &RandK{ErrorFeedback: true}
	for _, c := range []struct {
		codec interface {
			Init(worker, workers, n, budget int)
			Compress(t int, grad []float64, out []byte) int
			Decompress(worker, t int, msg []byte, out []float64)
		}
		residual *[]float64
	}{{topk, &topk.residual}, {randk, &randk.residual}} {
		// Nothing is lost: what was sent plus what is still owed is the sum
		// of the gradients, coordinate by coordinate.
		grad := []float64{1, 0.5, 0.25, 0.125}
		c.codec.Init(0, 1, len(grad), 8)
		msg := make([]byte, 8)
		sent := make([]float64, len(grad))
		decoded := make([]float64, len(grad))
		const steps = 40
		for step := range steps {
			n := c.codec.Compress(step, grad, msg)
			c.codec.Decompress(0, step, msg[:n], decoded)
			for i, v := range decoded {
				sent[i] += v
			}
		}
		for i, g := range grad {
			if d := sent[i] + (*c.residual)[i] - steps*g; d > 1e-9 || d < -1e-9 {
				t.Errorf("%T: coordinate %d: sent %v and owes %v, want %v in all", c.codec, i, sent[i], (*c.residual)[i], steps*g)
			}
			if sent[i] == 0 {
				t.Errorf("%T: coordinate %d was never sent", c.codec, i)
			}
		}
	}
}
