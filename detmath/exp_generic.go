//go:build !amd64 || purego

package detmath

// No vector exp on this architecture (or with -tags purego).
const haveVector = false

var useVector = false

// expVector does nothing here: ExpSlice's loop calls Exp on every element.
func expVector(x []float64) int { return 0 }
