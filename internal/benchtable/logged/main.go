// Command logged is momentum SGD that logs its progress with fmt: a
// realistic Go-built strategy of over 2 MB (fmt and its dependencies add
// half a megabyte to the examples' 1.9), whose cached load the sandbox
// benchmark times.
package main

import (
	"fmt"
	"os"

	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/optimizer"
)

type logged struct{ baseline.Momentum }

func (l *logged) Step(t int, params, grads []float64, loss float64) {
	if t%100 == 0 {
		fmt.Fprintf(os.Stderr, "step %d: loss %.6g over %d parameters\n", t, loss, len(params))
	}
	l.Momentum.Step(t, params, grads, loss)
}

func init() { optimizer.Register(&logged{baseline.Momentum{LR: 0.05, Beta: 0.9}}) }

func main() {}
