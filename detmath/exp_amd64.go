//go:build !purego

package detmath

import "golang.org/x/sys/cpu"

// haveVector reports whether ExpSlice can use expAVX2; useVector is
// whether it does (tests turn it off to compare the two paths).
var haveVector = cpu.X86.HasAVX2

var useVector = haveVector

//go:noescape
func expAVX2(x *float64, n int) int

// expVector replaces x[i] by Exp(x[i]) for a prefix of x, four at a time,
// and returns its length.
func expVector(x []float64) int {
	n := len(x) &^ 3
	if !useVector || n == 0 {
		return 0
	}
	return expAVX2(&x[0], n)
}
