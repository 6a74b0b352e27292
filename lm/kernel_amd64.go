//go:build !purego

package lm

import "golang.org/x/sys/cpu"

// haveVector reports whether this CPU runs the AVX kernels of
// kernel_amd64.s; useVector is whether matmul and matmulATAdd do (tests
// turn it off to check the Go path too).
var haveVector = cpu.X86.HasAVX

var useVector = haveVector

// The AVX tiles (kernel_amd64.s): two output rows by 16, 8 or 4 columns. They
// read c0, c1 [cols], a0, a1 [(count−1)·astride+1] and w
// [(count−1)·wstride+cols] with no bounds checks: mulAdd2 checks first.
//
//go:noescape
func mulAdd2x16(c0, c1, a0, a1 *float64, astride int, w *float64, wstride, count int)

//go:noescape
func mulAdd2x8(c0, c1, a0, a1 *float64, astride int, w *float64, wstride, count int)

//go:noescape
func mulAdd2x4(c0, c1, a0, a1 *float64, astride int, w *float64, wstride, count int)

// mulAdd2 adds, for t < count in order, a0[t·astride]·w[t·wstride+j] to
// c0[j] and a1[t·astride]·w[t·wstride+j] to c1[j], for every j < len(c0):
// vector tiles over the columns they cover, the Go loop over the last
// len(c0) mod 4. c0 and c1 may be the same row (with a0 and a1 the same):
// both tiles then compute, and store, the same values.
func mulAdd2(c0, c1, a0, a1 []float64, astride int, w []float64, wstride, count int) {
	if !useVector {
		mulAdd2Go(c0, c1, a0, a1, astride, w, wstride, count)
		return
	}
	cols := len(c0)
	if cols == 0 || count == 0 {
		return
	}
	c1 = c1[:cols]
	last := (count - 1) * astride
	a0, a1 = a0[:last+1], a1[:last+1]
	_ = w[(count-1)*wstride+cols-1]
	j := 0
	for ; j+16 <= cols; j += 16 {
		mulAdd2x16(&c0[j], &c1[j], &a0[0], &a1[0], astride, &w[j], wstride, count)
	}
	if j+8 <= cols {
		mulAdd2x8(&c0[j], &c1[j], &a0[0], &a1[0], astride, &w[j], wstride, count)
		j += 8
	}
	for ; j+4 <= cols; j += 4 {
		mulAdd2x4(&c0[j], &c1[j], &a0[0], &a1[0], astride, &w[j], wstride, count)
	}
	for ; j < cols; j++ {
		s0, s1 := c0[j], c1[j]
		for t := range count {
			v := w[t*wstride+j]
			s0 += float64(a0[t*astride] * v)
			s1 += float64(a1[t*astride] * v)
		}
		c0[j], c1[j] = s0, s1
	}
}

// matmulVector is matmul on the AVX tiles: for each pair of rows of c,
// the whole inner dimension at once.
func matmulVector(c, a, w []float64, n, k, m int) {
	for i := 0; i < n; i += 2 {
		i1 := min(i+1, n-1) // an odd last row pairs with itself
		c0, c1 := c[i*m:i*m+m], c[i1*m:i1*m+m]
		clear(c0)
		clear(c1)
		mulAdd2(c0, c1, a[i*k:i*k+k], a[i1*k:i1*k+k], 1, w, m, k)
	}
}

// rowChunk is how many rows of a and d matmulATAddVector sweeps per tile
// pass, so that the rows a pass reads stay in the L1 cache.
const rowChunk = 64

// matmulATAddVector is matmulATAdd on the AVX tiles: two rows of g at a
// time, the rows of a and d in chunks, in order.
func matmulATAddVector(g, a, d []float64, n, k, m int) {
	for i := 0; i < n; i += rowChunk {
		rows := min(rowChunk, n-i)
		for p := 0; p < k; p += 2 {
			p1 := min(p+1, k-1) // an odd last row of g pairs with itself
			mulAdd2(g[p*m:p*m+m], g[p1*m:p1*m+m], a[i*k+p:], a[i*k+p1:], k, d[i*m:], m, rows)
		}
	}
}
