// Command momentum is SGD with heavy-ball momentum as an Arena optimizer.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/optimizer"
)

func init() { optimizer.Register(&baseline.Momentum{LR: 0.05, Beta: 0.9}) }

func main() {}
