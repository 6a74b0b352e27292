package gradcodec

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/arena-dev/arena/guest/gradient"
)

// Dense sends every coordinate as it is, float64, when the budget holds
// 8n bytes: then training is the uncompressed run's, bit for bit, the
// sanity check of the aggregation path. With less room it sends float32
// (4n bytes) or bfloat16, rounded to nearest even (2n). Init panics when
// not even 2n bytes fit.
type Dense struct {
	n, width int // coordinates; bytes each
}

func (c *Dense) Init(_, _ int, tensors []gradient.Tensor, budget, _ int) {
	c.n = 0
	for _, t := range tensors {
		c.n += t.Size()
	}
	switch {
	case budget >= 8*c.n:
		c.width = 8
	case budget >= 4*c.n:
		c.width = 4
	case budget >= 2*c.n:
		c.width = 2
	default:
		panic("gradcodec: dense needs 2 bytes a coordinate, " + strconv.Itoa(2*c.n) + " bytes a message; the budget is " + strconv.Itoa(budget))
	}
}

func (c *Dense) Compress(_ int, grad []float64, out []byte) int {
	for i, g := range grad {
		if c.width == 8 {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(g))
			continue
		}
		f := math.Float32bits(float32(g))
		if c.width == 4 {
			binary.LittleEndian.PutUint32(out[4*i:], f)
		} else {
			binary.LittleEndian.PutUint16(out[2*i:], uint16((f+0x7fff+(f>>16&1))>>16))
		}
	}
	return c.width * c.n
}

func (c *Dense) Decompress(_, _ int, msg []byte, out []float64) {
	clear(out)
	for i := range min(len(out), len(msg)/c.width) {
		if c.width == 8 {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(msg[8*i:]))
			continue
		}
		if c.width == 4 {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(msg[4*i:])))
		} else {
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(msg[2*i:])) << 16))
		}
	}
}
