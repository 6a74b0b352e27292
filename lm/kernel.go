package lm

// The matrix kernels. Every product is wrapped in float64(), which rounds
// it and so forbids fusion into FMA, and every output element is a sum in
// a fixed order (increasing inner index, the initial value first), so the
// results are the same bits on every machine. The loops are unrolled by
// four without changing that order: four independent accumulators, or four
// terms added to one element left to right, as the plain loop would.

// matmul sets c[n×m] = a[n×k] · w[k×m].
func matmul(c, a, w []float64, n, k, m int) {
	for i := range n {
		ci := c[i*m : i*m+m]
		clear(ci)
		ai := a[i*k : i*k+k]
		p := 0
		for ; p+4 <= k; p += 4 {
			a0, a1, a2, a3 := ai[p], ai[p+1], ai[p+2], ai[p+3]
			w0 := w[p*m : p*m+m]
			w1 := w[(p+1)*m : (p+1)*m+m]
			w2 := w[(p+2)*m : (p+2)*m+m]
			w3 := w[(p+3)*m : (p+3)*m+m]
			w0, w1, w2, w3 = w0[:len(ci)], w1[:len(ci)], w2[:len(ci)], w3[:len(ci)]
			for j := range ci {
				ci[j] = ci[j] + float64(a0*w0[j]) + float64(a1*w1[j]) + float64(a2*w2[j]) + float64(a3*w3[j])
			}
		}
		for ; p < k; p++ {
			av := ai[p]
			wp := w[p*m : p*m+m]
			wp = wp[:len(ci)]
			for j := range ci {
				ci[j] += float64(av * wp[j])
			}
		}
	}
}

// matmulATAdd adds aᵀ · d to g: g[k×m] += a[n×k]ᵀ · d[n×m], the weight
// gradient of a layer y = a·w. Rows of a and d are taken in order.
func matmulATAdd(g, a, d []float64, n, k, m int) {
	i := 0
	for ; i+4 <= n; i += 4 {
		a0, a1, a2, a3 := a[i*k:i*k+k], a[(i+1)*k:(i+1)*k+k], a[(i+2)*k:(i+2)*k+k], a[(i+3)*k:(i+3)*k+k]
		d0, d1, d2, d3 := d[i*m:i*m+m], d[(i+1)*m:(i+1)*m+m], d[(i+2)*m:(i+2)*m+m], d[(i+3)*m:(i+3)*m+m]
		for p := range k {
			x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
			gp := g[p*m : p*m+m]
			d0, d1, d2, d3 := d0[:len(gp)], d1[:len(gp)], d2[:len(gp)], d3[:len(gp)]
			for j := range gp {
				gp[j] = gp[j] + float64(x0*d0[j]) + float64(x1*d1[j]) + float64(x2*d2[j]) + float64(x3*d3[j])
			}
		}
	}
	for ; i < n; i++ {
		ai, di := a[i*k:i*k+k], d[i*m:i*m+m]
		for p, x := range ai {
			gp := g[p*m : p*m+m]
			di := di[:len(gp)]
			for j := range gp {
				gp[j] += float64(x * di[j])
			}
		}
	}
}

// matmulBT sets (or, with add, adds to) o[n×k] the product d[n×m] · w[k×m]ᵀ,
// the input gradient of a layer y = x·w. Four outputs at a time share the
// loads of d's row; each is one dot product summed in order.
func matmulBT(o, d, w []float64, n, k, m int, add bool) {
	for i := range n {
		di := d[i*m : i*m+m]
		oi := o[i*k : i*k+k]
		p := 0
		for ; p+4 <= k; p += 4 {
			w0 := w[p*m : p*m+m]
			w1 := w[(p+1)*m : (p+1)*m+m]
			w2 := w[(p+2)*m : (p+2)*m+m]
			w3 := w[(p+3)*m : (p+3)*m+m]
			w0, w1, w2, w3 = w0[:len(di)], w1[:len(di)], w2[:len(di)], w3[:len(di)]
			var s0, s1, s2, s3 float64
			for j, x := range di {
				s0 += float64(x * w0[j])
				s1 += float64(x * w1[j])
				s2 += float64(x * w2[j])
				s3 += float64(x * w3[j])
			}
			if add {
				oi[p] += s0
				oi[p+1] += s1
				oi[p+2] += s2
				oi[p+3] += s3
			} else {
				oi[p], oi[p+1], oi[p+2], oi[p+3] = s0, s1, s2, s3
			}
		}
		for ; p < k; p++ {
			s := dot(di, w[p*m:p*m+m])
			if add {
				oi[p] += s
			} else {
				oi[p] = s
			}
		}
	}
}

// dot is a·b summed in order.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i, x := range a {
		s += float64(x * b[i])
	}
	return s
}

// axpy adds s·x to y.
func axpy(y []float64, s float64, x []float64) {
	x = x[:len(y)]
	for i := range y {
		y[i] += float64(s * x[i])
	}
}
