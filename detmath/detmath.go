package detmath

import "math"

// The simulations must give bit-identical results on every worker, whatever
// its architecture. Go may fuse x*y+z into one FMA instruction (it does on
// arm64), and math.Exp and math.Log use per-architecture assembly, so the
// host math below wraps every product in an explicit float64 conversion,
// which the spec says rounds and so forbids fusion, and implements exp and
// log with the classic fdlibm polynomials in portable arithmetic.

const (
	ln2Hi  = 6.93147180369123816490e-01
	ln2Lo  = 1.90821492927058770002e-10
	log2e  = 1.44269504088896338700e+00
	expMax = 7.09782712893383973096e+02
	expMin = -7.45133219101941108420e+02
)

// Exp is exp(x), reproducible bit for bit on every platform.
func Exp(x float64) float64 {
	// One test admits every finite argument with a finite, nonzero result
	// (NaN fails it too); the rest is the slow path. Exp is hot in the LM.
	if !(x >= expMin && x <= expMax) {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 1):
			return x
		case x > expMax:
			return math.Inf(1)
		default:
			return 0
		}
	}
	// k = round(x/ln2), half away from zero. Adding ±0.5 by the sign bit
	// instead of branching on the sign gives the same bits (a−0.5 is
	// a+(−0.5) in IEEE arithmetic, and −0 rounds to k = 0 either way)
	// without a mispredicted branch on arguments of random sign (GELU's).
	k := int(float64(log2e*x) + math.Copysign(0.5, x))
	fk := float64(k)
	hi := x - float64(fk*ln2Hi)
	lo := float64(fk * ln2Lo)
	r := hi - lo
	t := float64(r * r)
	const (
		p1 = 1.66666666666666657415e-01
		p2 = -2.77777777770155933842e-03
		p3 = 6.61375632143793436117e-05
		p4 = -1.65339022054652515390e-06
		p5 = 4.13813679705723846039e-08
	)
	poly := p1 + float64(t*(p2+float64(t*(p3+float64(t*(p4+float64(t*p5)))))))
	c := r - float64(t*poly)
	y := 1 - ((lo - float64(r*c)/(2-c)) - hi)
	if k > -1020 && k < 1020 {
		// y·2^k is exact while the result stays normal, so this is
		// Ldexp's value without its cost (exp is hot in the LM).
		return y * math.Float64frombits(uint64(k+1023)<<52)
	}
	return math.Ldexp(y, k)
}

// Log is the natural logarithm, reproducible bit for bit on every platform.
func Log(x float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	const (
		l1 = 6.666666666666735130e-01
		l2 = 3.999999999940941908e-01
		l3 = 2.857142874366239149e-01
		l4 = 2.222219843214978396e-01
		l5 = 1.818357216161805012e-01
		l6 = 1.531383769920937332e-01
		l7 = 1.479819860511658591e-01
	)
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (l1 + float64(s4*(l3+float64(s4*(l5+float64(s4*l7)))))))
	t2 := float64(s4 * (l2 + float64(s4*(l4+float64(s4*l6)))))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*ln2Lo))) - f)
}

// Tanh is tanh(x) through dexp.
func Tanh(x float64) float64 {
	if x > 20 {
		return 1
	}
	if x < -20 {
		return -1
	}
	e := Exp(2 * x)
	return (e - 1) / (e + 1)
}

// Softplus is log(1+exp(z)) without overflow.
func Softplus(z float64) float64 {
	if z > 0 {
		return z + Log(1+Exp(-z))
	}
	return Log(1 + Exp(z))
}

// Sigmoid is 1/(1+exp(-z)) without overflow.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + Exp(-z))
	}
	e := Exp(z)
	return e / (1 + e)
}

// Dot is the inner product, summed left to right.
func Dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += float64(a[i] * b[i])
	}
	return s
}
