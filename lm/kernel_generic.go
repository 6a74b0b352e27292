//go:build !amd64 || purego

package lm

// No vector kernels on this architecture (or with -tags purego): the Go
// loops are the only path, and useVector stays false.
const haveVector = false

var useVector = false

func matmulVector(c, a, w []float64, n, k, m int) { matmulGo(c, a, w, n, k, m) }

func matmulATAddVector(g, a, d []float64, n, k, m int) { matmulATAddGo(g, a, d, n, k, m) }

func mulAdd2(c0, c1, a0, a1 []float64, astride int, w []float64, wstride, count int) {
	mulAdd2Go(c0, c1, a0, a1, astride, w, wstride, count)
}
