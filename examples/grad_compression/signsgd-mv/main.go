// Command signsgd-mv is signSGD with majority vote (Bernstein et al.
// 2018, 2019): one bit a coordinate, and the update follows the workers'
// vote; see gradcodec.SignMV.
package main

import (
	"github.com/arena-dev/arena/baseline/gradcodec"
	"github.com/arena-dev/arena/guest/gradient"
)

func init() { gradient.RegisterTensors(&gradcodec.SignMV{}) }

func main() {}
