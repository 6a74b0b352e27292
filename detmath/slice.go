package detmath

// ExpSlice replaces every x[i] by Exp(x[i]), the same bits, faster: on
// amd64 with AVX2 four lanes at a time (exp_amd64.s), falling back to Exp
// for any group of four with an argument outside |x| ≤ 705.
func ExpSlice(x []float64) {
	for len(x) > 0 {
		x = x[expVector(x):]
		for i := range min(4, len(x)) {
			x[i] = Exp(x[i])
		}
		x = x[min(4, len(x)):]
	}
}

// TanhInto sets dst[i] = Tanh(x[i]), the same bits, with its exponentials
// from ExpSlice. dst and x must not overlap.
func TanhInto(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = 2 * v
	}
	ExpSlice(dst)
	for i, v := range x {
		switch e := dst[i]; {
		case v > 20:
			dst[i] = 1
		case v < -20:
			dst[i] = -1
		default:
			dst[i] = (e - 1) / (e + 1)
		}
	}
}
