package gradcodec

import (
	"strconv"

	"github.com/arena-dev/arena/guest/gradient"
)

// SignMV is signSGD with majority vote (Bernstein, Wang, Azizzadenesheli
// and Anandkumar 2018, "signSGD: compressed optimisation for non-convex
// problems"; Bernstein, Zhao, Azizzadenesheli and Anandkumar 2019,
// "signSGD with majority vote is communication efficient and fault
// tolerant"): each worker sends one bit a coordinate, the sign of its
// gradient, and the update follows the sign of the workers' vote. It
// keeps no error feedback: the vote is the method.
//
// A zero gradient (a token no sequence of the worker's batch holds has
// a zero embedding gradient) has no sign; it votes by a coin that every
// instance can replay from the step and the coordinate, so absent tokens
// are not pushed one way step after step.
//
// The vote needs every message of a step: the aggregator decodes them in
// worker order, so it counts the votes, returns zeros for workers 0 to
// K−2 and K·sign(vote) for the last, and the host's average of the K
// decoded messages is sign(vote) (0 on a tie). The message is ⌈n/8⌉
// bytes, coordinate i in bit i%8 of byte i/8; Init panics when the
// budget is smaller.
type SignMV struct {
	n, workers int
	votes      []int32
}

func (c *SignMV) Init(_, workers int, tensors []gradient.Tensor, budget, _ int) {
	c.n = 0
	for _, t := range tensors {
		c.n += t.Size()
	}
	if need := (c.n + 7) / 8; budget < need {
		panic("gradcodec: signSGD needs " + strconv.Itoa(need) + " bytes a message, one bit a coordinate; the budget is " + strconv.Itoa(budget))
	}
	c.workers = workers
	c.votes = make([]int32, c.n)
}

// coin is the vote of a zero gradient at coordinate i of step t.
func coin(t, i int) bool {
	state := uint64(t)<<32 ^ uint64(i)
	return splitmix(&state)&1 == 1
}

func (c *SignMV) Compress(t int, grad []float64, out []byte) int {
	msg := out[:(c.n+7)/8]
	clear(msg)
	for i, g := range grad {
		if g > 0 || (g == 0 && coin(t, i)) {
			msg[i/8] |= 1 << (i % 8)
		}
	}
	return len(msg)
}

func (c *SignMV) Decompress(worker, _ int, msg []byte, out []float64) {
	clear(out)
	if worker == 0 {
		clear(c.votes)
	}
	for i := range c.votes {
		if i/8 < len(msg) && msg[i/8]>>(i%8)&1 == 1 {
			c.votes[i]++
		} else {
			c.votes[i]--
		}
	}
	if worker != c.workers-1 {
		return
	}
	k := float64(c.workers)
	for i, v := range c.votes {
		switch {
		case v > 0:
			out[i] = k
		case v < 0:
			out[i] = -k
		}
	}
}
