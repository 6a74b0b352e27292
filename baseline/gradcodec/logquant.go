package gradcodec

// Values travel as 8-bit logarithmic codes against a float32 scale: bit 7
// is the sign, and the low 7 bits m stand for 0 (m = 0) or for
// scale · 2^(−(127−m)/8) (m = 1 to 127), so the codes span 15.75 octaves
// below the scale at 1/8 of an octave apart (a relative error of at most
// 4.4%). A linear int8 absmax code would zero every value 256 times
// smaller than its block's largest; an error-feedback residual is
// heavy-tailed, so most of a block's values would be lost every step (the
// μ-law idea of telephony, ITU-T G.711, on a base-2 grid).
//
// The levels are built by repeated multiplication by float64 constants,
// each product rounded as IEEE 754 says, so every instance (native or
// wasm) computes the same table and the same codes.
const logLevels = 127

var (
	logLevel [logLevels + 1]float64 // logLevel[m]: the value of code m for scale 1
	logEdge  [logLevels + 1]float64 // logEdge[m]: the geometric midpoint of levels m-1 and m
)

func init() {
	const eighth = 1.0905077326652577    // 2^(1/8)
	const sixteenth = 1.0442737824274138 // 2^(1/16)
	logLevel[logLevels] = 1
	for m := logLevels - 1; m >= 1; m-- {
		logLevel[m] = logLevel[m+1] / eighth
	}
	for m := 1; m <= logLevels; m++ {
		logEdge[m] = logLevel[m] / sixteenth
	}
}

// logEncode is the code of v against scale: the nearest level on the log
// grid (found by binary search over the edges), 0 below the lowest edge.
func logEncode(v float64, scale float32) byte {
	if scale == 0 || v == 0 {
		return 0
	}
	var sign byte
	if v < 0 {
		sign, v = 0x80, -v
	}
	x := v / float64(scale)
	if x < logEdge[1] {
		return 0
	}
	lo, hi := 1, logLevels // the answer is the last m with logEdge[m] <= x
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if logEdge[mid] <= x {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return sign | byte(lo)
}

// logDecode is what code b stands for against scale.
func logDecode(b byte, scale float32) float64 {
	m := b & 0x7f
	if m == 0 {
		return 0
	}
	v := float64(logLevel[m] * float64(scale))
	if b&0x80 != 0 {
		return -v
	}
	return v
}
