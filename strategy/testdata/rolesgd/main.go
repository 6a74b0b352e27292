// Command rolesgd is a test-only tensor-aware optimizer (ABI v2, through
// the SDK's RegisterTensors): SGD at a learning rate of 0.1 on the
// embedding and 0.01 on every other tensor, decayed linearly over the
// run when its length is known. Init prints the table it was given, so
// the test can check what the module saw. strategy's tests build it
// with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"fmt"

	"github.com/arena-dev/arena/guest/optimizer"
)

type roleSGD struct{ steps int }

func (o *roleSGD) Init(tensors []optimizer.Tensor, steps int) {
	o.steps = steps
	fmt.Printf("init: %d tensors, %d steps\n", len(tensors), steps)
	for _, t := range tensors {
		fmt.Printf("%s %s %dx%d@%d hidden=%v nil=%v\n", t.Name, t.Role, t.Rows, t.Cols, t.Offset, t.Role.Hidden(), t.Params == nil && t.Grads == nil)
	}
}

// Rate is the learning rate of a tensor of role at step t of steps (0:
// unknown); the test computes the same natively.
func Rate(role optimizer.Role, t, steps int) float64 {
	lr := 0.01
	if role == optimizer.Embedding {
		lr = 0.1
	}
	if steps > 0 {
		lr = float64(lr*float64(steps-t)) / float64(steps)
	}
	return lr
}

func (o *roleSGD) Step(t int, tensors []optimizer.Tensor, loss float64) {
	for _, tn := range tensors {
		lr := Rate(tn.Role, t, o.steps)
		for i, g := range tn.Grads {
			tn.Params[i] -= float64(lr * g) // no fused multiply-add
		}
	}
}

func init() { optimizer.RegisterTensors(&roleSGD{}) }

func main() {}
