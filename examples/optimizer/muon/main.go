// Command muon is Muon (tensoropt.Muon): Newton–Schulz-orthogonalized
// Nesterov momentum at baseline.MuonLR on the hidden matrices, AdamW at
// baseline.MuonAdamLR on every other tensor, both with a warmup and a
// cosine decay, as an Arena optimizer of ABI v2, which sees the tensor
// table Muon needs.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/baseline/tensoropt"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.RegisterTensors(tensoropt.NewMuon(baseline.MuonLR, baseline.MuonAdamLR)) }

func main() {}
