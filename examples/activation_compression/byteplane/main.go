// Command byteplane splits each tensor into byte planes (every element's
// low byte, then every next byte, ...) and codes each plane with its own
// Huffman code: the sign-and-exponent bytes of activations take few values
// and shrink a lot, while the near-random mantissa bytes cost about eight
// bits each.
package main

import (
	"github.com/arena-dev/arena/baseline"
	"github.com/arena-dev/arena/guest/activation"
)

func init() { activation.Register(&baseline.BytePlane{}) }

func main() {}
