// Command sgd is plain stochastic gradient descent as an Arena optimizer.
package main

import "github.com/arena-dev/arena/guest/optimizer"

const learningRate = 0.1

func init() {
	optimizer.Register(optimizer.Func(func(t int, params, grads []float64, loss float64) {
		for i, g := range grads {
			params[i] -= learningRate * g
		}
	}))
}

func main() {}
