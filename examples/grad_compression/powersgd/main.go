// Command powersgd is PowerSGD with error feedback (Vogels, Karimireddy
// and Jaggi 2019): each matrix of the tensor table travels as rank-r
// factors from warm-started subspace iteration; see gradcodec.PowerSGD.
package main

import (
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.RegisterTensors(gradcodec.NewPowerSGD()) }

func main() {}
