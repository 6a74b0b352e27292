package lm

// The matrix kernels. Every product is rounded on its own (wrapped in
// float64(), which forbids fusion into FMA) and every output element is a
// sum in a fixed order (increasing inner index, the initial value first),
// so the results are the same bits on every machine.
//
// Speed comes from sharing loads and from vector lanes, never from
// reordering a sum. matmulBT transposes its (small) weight matrix and is a
// matmul. matmul and matmulATAdd have two paths with the same bits. On
// amd64 with AVX (kernel_amd64.go, .s), tiles of two output rows by 16
// columns stay in YMM registers across the whole inner loop, each lane
// doing exactly the scalar multiply, then add. Elsewhere, the Go loops
// below work on two output rows at once, so every row loaded from the
// other operand feeds two outputs, and add four terms a pass, left to
// right as the plain loop would; wider Go tiles (accumulators held in
// registers across the inner loop) were measured slower, because Go's
// register allocator spills them. kernel_test.go holds both paths to the
// plain triple loops bit for bit on every remainder case.

// update2x4 sets, for every j < len(c0),
//
//	c0[j] = c0[j] + x[0]·w0[j] + x[1]·w1[j] + x[2]·w2[j] + x[3]·w3[j]
//	c1[j] = c1[j] + y[0]·w0[j] + y[1]·w1[j] + y[2]·w2[j] + y[3]·w3[j]
//
// each product rounded, the sums left to right.
func update2x4(c0, c1 []float64, x, y *[4]float64, w0, w1, w2, w3 []float64) {
	c1 = c1[:len(c0)]
	w0, w1, w2, w3 = w0[:len(c0)], w1[:len(c0)], w2[:len(c0)], w3[:len(c0)]
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	y0, y1, y2, y3 := y[0], y[1], y[2], y[3]
	for j := range c0 {
		v0, v1, v2, v3 := w0[j], w1[j], w2[j], w3[j]
		c0[j] = c0[j] + float64(x0*v0) + float64(x1*v1) + float64(x2*v2) + float64(x3*v3)
		c1[j] = c1[j] + float64(y0*v0) + float64(y1*v1) + float64(y2*v2) + float64(y3*v3)
	}
}

// matmul sets c[n×m] = a[n×k] · w[k×m].
func matmul(c, a, w []float64, n, k, m int) {
	if useVector {
		matmulVector(c, a, w, n, k, m)
		return
	}
	matmulGo(c, a, w, n, k, m)
}

func matmulGo(c, a, w []float64, n, k, m int) {
	i := 0
	for ; i+2 <= n; i += 2 {
		c0, c1 := c[i*m:i*m+m], c[(i+1)*m:(i+1)*m+m]
		clear(c0)
		clear(c1)
		a0, a1 := a[i*k:i*k+k], a[(i+1)*k:(i+1)*k+k]
		p := 0
		for ; p+4 <= k; p += 4 {
			update2x4(c0, c1, (*[4]float64)(a0[p:p+4]), (*[4]float64)(a1[p:p+4]),
				w[p*m:p*m+m], w[(p+1)*m:(p+1)*m+m], w[(p+2)*m:(p+2)*m+m], w[(p+3)*m:(p+3)*m+m])
		}
		for ; p < k; p++ {
			wp := w[p*m : p*m+m]
			wp = wp[:len(c0)]
			x, y := a0[p], a1[p]
			for j, v := range wp {
				c0[j] += float64(x * v)
				c1[j] += float64(y * v)
			}
		}
	}
	if i < n {
		ci, ai := c[i*m:i*m+m], a[i*k:i*k+k]
		clear(ci)
		for p, x := range ai {
			axpy(ci, x, w[p*m:p*m+m])
		}
	}
}

// matmulATAdd adds aᵀ · d to g: g[k×m] += a[n×k]ᵀ · d[n×m], the weight
// gradient of a layer y = a·w. Rows of a and d are taken in order.
func matmulATAdd(g, a, d []float64, n, k, m int) {
	if useVector {
		matmulATAddVector(g, a, d, n, k, m)
		return
	}
	matmulATAddGo(g, a, d, n, k, m)
}

// matmulATAddGo takes rows of a and d four at a time; two rows of g share
// each load of d.
func matmulATAddGo(g, a, d []float64, n, k, m int) {
	i := 0
	for ; i+4 <= n; i += 4 {
		a0, a1, a2, a3 := a[i*k:i*k+k], a[(i+1)*k:(i+1)*k+k], a[(i+2)*k:(i+2)*k+k], a[(i+3)*k:(i+3)*k+k]
		a1, a2, a3 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)]
		d0, d1, d2, d3 := d[i*m:i*m+m], d[(i+1)*m:(i+1)*m+m], d[(i+2)*m:(i+2)*m+m], d[(i+3)*m:(i+3)*m+m]
		p := 0
		for ; p+2 <= k; p += 2 {
			x := [4]float64{a0[p], a1[p], a2[p], a3[p]}
			y := [4]float64{a0[p+1], a1[p+1], a2[p+1], a3[p+1]}
			update2x4(g[p*m:p*m+m], g[(p+1)*m:(p+1)*m+m], &x, &y, d0, d1, d2, d3)
		}
		if p < k {
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
			axpy(g[p*m:p*m+m], x, di)
		}
	}
}

// matmulBT sets o[n×k] to the product d[n×m] · w[k×m]ᵀ, the input gradient
// of a layer y = x·w: each output one dot product summed in increasing j.
// It writes wᵀ into wt (k·m values) and multiplies by that, which sums in
// the same order.
func matmulBT(o, d, w, wt []float64, n, k, m int) {
	wt = wt[:k*m]
	for p := range k {
		wp := w[p*m : p*m+m]
		for j, v := range wp {
			wt[j*k+p] = v
		}
	}
	matmul(o, d, wt, n, m, k)
}

// rowMax is max over row (at least one value). max is exact and takes
// NaN and the larger zero whatever the order, so four running maxima
// combined at the end give the same value as one, without one chain of
// dependent max operations along the row.
func rowMax(row []float64) float64 {
	m0, m1, m2, m3 := row[0], row[0], row[0], row[0]
	j := 0
	for ; j+4 <= len(row); j += 4 {
		r := row[j : j+4 : j+4]
		m0, m1, m2, m3 = max(m0, r[0]), max(m1, r[1]), max(m2, r[2]), max(m3, r[3])
	}
	for ; j < len(row); j++ {
		m0 = max(m0, row[j])
	}
	return max(max(m0, m1), max(m2, m3))
}

// mulAdd2Go is mulAdd2 (kernel_amd64.go) in Go: for t < count in order,
// c0[j] += a0[t·astride]·w[t·wstride+j] and c1[j] += a1[t·astride]·
// w[t·wstride+j], for every j < len(c0). c0 and c1 may be the same row
// (with a0 and a1 the same); then it is updated once.
func mulAdd2Go(c0, c1, a0, a1 []float64, astride int, w []float64, wstride, count int) {
	if len(c0) == 0 {
		return
	}
	c1 = c1[:len(c0)]
	same := &c0[0] == &c1[0]
	for t := range count {
		x, y := a0[t*astride], a1[t*astride]
		wt := w[t*wstride : t*wstride+len(c0)]
		for j, v := range wt {
			c0[j] += float64(x * v)
		}
		if same {
			continue
		}
		for j, v := range wt {
			c1[j] += float64(y * v)
		}
	}
}

// causalScores sets out[i·T+j] (out is T×T) to a_i · b_j, summed in
// order, for every j ≤ i, where a_i = a[i·d : i·d+dh] and likewise b_j:
// one attention head's scores (or their gradients) in one sequence. It
// may also set out[i·T+i+1], which callers ignore. bt is scratch of dh·T
// values for bᵀ, so that two rows of scores at a time are a mulAdd2 tile.
func causalScores(out, a, b, bt []float64, T, d, dh int) {
	bt = bt[:dh*T]
	for j := range T {
		bj := b[j*d : j*d+dh]
		for c, v := range bj {
			bt[c*T+j] = v
		}
	}
	for i := 0; i < T; i += 2 {
		i1 := min(i+1, T-1) // an odd last row pairs with itself
		cols := i1 + 1
		c0, c1 := out[i*T:i*T+cols], out[i1*T:i1*T+cols]
		clear(c0)
		clear(c1)
		mulAdd2(c0, c1, a[i*d:i*d+dh], a[i1*d:i1*d+dh], 1, bt, T, dh)
	}
}

// axpy adds s·x to y.
func axpy(y []float64, s float64, x []float64) {
	x = x[:len(y)]
	for i := range y {
		y[i] += float64(s * x[i])
	}
}

// causalMix sets out_i = Σ_{j≤i} p_ij·v_j for every i < T, summed in
// increasing j, where p_ij = p[i·T+j], out_i = out[i·d : i·d+dh] and v_j =
// v[j·d : j·d+dh]: one head's outputs (or query gradients) in a sequence.
// Rows i and i+1 share the terms j ≤ i in one mulAdd2 tile; row i+1's
// last term is added after them, in order.
func causalMix(out, p, v []float64, T, d, dh int) {
	for i := 0; i < T; i += 2 {
		o0 := out[i*d : i*d+dh]
		clear(o0)
		if i+1 == T {
			mulAdd2(o0, o0, p[i*T:], p[i*T:], 1, v, d, i+1)
			return
		}
		o1 := out[(i+1)*d : (i+1)*d+dh]
		clear(o1)
		mulAdd2(o0, o1, p[i*T:], p[(i+1)*T:], 1, v, d, i+1)
		axpy(o1, p[(i+1)*T+i+1], v[(i+1)*d:(i+1)*d+dh])
	}
}

// causalMixT sets out_j = Σ_{i≥j} p_ij·v_i for every j < T, summed in
// increasing i (the transposed mix: the value gradients from the
// probabilities, the key gradients from the score gradients). Rows j and
// j+1 share the terms i > j in one mulAdd2 tile, reading p's columns with
// a stride; row j's first term, i = j, comes before them.
func causalMixT(out, p, v []float64, T, d, dh int) {
	for j := 0; j < T; j += 2 {
		o0 := out[j*d : j*d+dh]
		clear(o0)
		axpy(o0, p[j*T+j], v[j*d:j*d+dh])
		if j+1 == T {
			return
		}
		o1 := out[(j+1)*d : (j+1)*d+dh]
		clear(o1)
		mulAdd2(o0, o1, p[(j+1)*T+j:], p[(j+1)*T+j+1:], T, v[(j+1)*d:], d, T-j-1)
	}
}
