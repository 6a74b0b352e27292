package scoring

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/sandbox"
)

// The activation_compression kind's adapters: the stage that encodes a
// tensor and the stage that decodes it, each on its own instance.

// The activation_compression kind's exports. ABI v2 adds the direction a
// tensor crosses the pipeline cut in: a module exports ac_encode or
// ac_compress (ABI v1, called without the direction), and ac_decode or
// ac_decompress; when it has both of a pair, the v2 one is called. See
// docs/activation_compression.md.
const (
	ACCompress   = "ac_compress"   // (dtype, rows, cols, in, size, out, cap i32) -> i32: ABI v1
	ACDecompress = "ac_decompress" // (dtype, rows, cols, msg, len, out, size i32): ABI v1
	ACEncode     = "ac_encode"     // (direction, dtype, rows, cols, in, size, out, cap i32) -> i32: ABI v2
	ACDecode     = "ac_decode"     // (direction, dtype, rows, cols, msg, len, out, size i32): ABI v2
)

// Directions a tensor crosses a pipeline cut in, as ABI v2 passes them.
const (
	Forward  = 0 // the activation, from the earlier stage to the later
	Backward = 1 // the gradient with respect to it, back again
)

// DirectionName is how messages name a direction.
func DirectionName(direction int) string {
	if direction == Backward {
		return "backward (gradient)"
	}
	return "forward (activation)"
}

func i32s(n int) []api.ValueType {
	t := make([]api.ValueType, n)
	for i := range t {
		t[i] = api.ValueTypeI32
	}
	return t
}

// ActivationCompressionABI is what an activation compression module must
// export.
var ActivationCompressionABI = sandbox.ABI{
	Funcs: []sandbox.Func{
		{Name: ACCompress, Params: i32s(7), Results: i32s(1), Optional: true},
		{Name: ACDecompress, Params: i32s(7), Optional: true},
		{Name: ACEncode, Params: i32s(8), Results: i32s(1), Optional: true},
		{Name: ACDecode, Params: i32s(8), Optional: true},
	},
	AnyOf: [][]string{{ACEncode, ACCompress}, {ACDecode, ACDecompress}},
}

func checkDirection(direction int) error {
	if direction != Forward && direction != Backward {
		return fmt.Errorf("direction %d: %d (forward) or %d (backward)", direction, Forward, Backward)
	}
	return nil
}

func checkTensorSize(size int) error {
	if size < 1 || size > 1<<30 {
		return fmt.Errorf("tensors of 1 to %d bytes, not %d", 1<<30, size)
	}
	return nil
}

// ActivationCapacity is the room a message of a tensor of size bytes gets.
func ActivationCapacity(size int) int { return size + size/8 + 1024 }

// GuestActivationEncoder is the compressing side of an activation
// compression module, for tensors of up to size bytes.
type GuestActivationEncoder struct {
	inst          *sandbox.Instance
	size          int
	inPtr, outPtr uint32
	msg           []byte
	v2            bool // the module exports ac_encode
}

// NewGuestActivationEncoder allocates the input and message buffers.
func NewGuestActivationEncoder(inst *sandbox.Instance, size int) (*GuestActivationEncoder, error) {
	if err := checkTensorSize(size); err != nil {
		return nil, err
	}
	e := &GuestActivationEncoder{inst: inst, size: size, v2: inst.HasExport(ACEncode)}
	var err error
	if e.inPtr, e.outPtr, err = alloc2(inst, size, ActivationCapacity(size)); err != nil {
		return nil, err
	}
	return e, nil
}

// Encode encodes a rows×cols tensor of dtype (baseline.BFloat16 or
// baseline.Float32), data in little-endian bytes, crossing the cut in
// direction (Forward or Backward): through ac_encode, or ac_compress,
// which is not told the direction. The message is valid until the next
// call.
func (e *GuestActivationEncoder) Encode(direction, dtype, rows, cols int, data []byte) ([]byte, error) {
	if len(data) > e.size {
		return nil, fmt.Errorf("a tensor of %d bytes, over the encoder's %d", len(data), e.size)
	}
	if err := checkDirection(direction); err != nil {
		return nil, err
	}
	if err := e.inst.WriteBytes(e.inPtr, data); err != nil {
		return nil, err
	}
	capacity := ActivationCapacity(e.size)
	fn, args := ACCompress, []uint64{uint64(dtype), uint64(rows), uint64(cols), uint64(e.inPtr), uint64(len(data)), uint64(e.outPtr), uint64(capacity)}
	if e.v2 {
		fn, args = ACEncode, append([]uint64{uint64(direction)}, args...)
	}
	res, err := e.inst.Call(fn, args...)
	if err != nil {
		return nil, err
	}
	m := int32(res[0])
	if m < 0 || int(m) > capacity {
		return nil, &sandbox.RunError{Func: fn, Reason: fmt.Sprintf("returned %d; a message is 0 to %d bytes", m, capacity)}
	}
	e.msg, err = e.inst.ReadBytes(e.outPtr, int(m), e.msg)
	return e.msg, err
}

// GuestActivationDecoder is the decompressing side of an activation
// compression module, which never sees the original tensor.
type GuestActivationDecoder struct {
	inst           *sandbox.Instance
	size           int
	msgPtr, decPtr uint32
	out            []byte
	v2             bool // the module exports ac_decode
}

// NewGuestActivationDecoder allocates the message and output buffers.
func NewGuestActivationDecoder(inst *sandbox.Instance, size int) (*GuestActivationDecoder, error) {
	if err := checkTensorSize(size); err != nil {
		return nil, err
	}
	d := &GuestActivationDecoder{inst: inst, size: size, v2: inst.HasExport(ACDecode)}
	var err error
	if d.msgPtr, d.decPtr, err = alloc2(inst, ActivationCapacity(size), size); err != nil {
		return nil, err
	}
	return d, nil
}

// Decode decodes msg into a rows×cols tensor of dtype, n bytes long,
// that crossed the cut in direction: through ac_decode, or
// ac_decompress, which is not told the direction. The result is valid
// until the next call.
func (d *GuestActivationDecoder) Decode(direction, dtype, rows, cols int, msg []byte, n int) ([]byte, error) {
	if n > d.size || len(msg) > ActivationCapacity(d.size) {
		return nil, fmt.Errorf("a tensor of %d bytes from a message of %d, over the decoder's %d", n, len(msg), d.size)
	}
	if err := checkDirection(direction); err != nil {
		return nil, err
	}
	if err := d.inst.WriteBytes(d.msgPtr, msg); err != nil {
		return nil, err
	}
	fn, args := ACDecompress, []uint64{uint64(dtype), uint64(rows), uint64(cols), uint64(d.msgPtr), uint64(len(msg)), uint64(d.decPtr), uint64(n)}
	if d.v2 {
		fn, args = ACDecode, append([]uint64{uint64(direction)}, args...)
	}
	if _, err := d.inst.Call(fn, args...); err != nil {
		return nil, err
	}
	var err error
	d.out, err = d.inst.ReadBytes(d.decPtr, n, d.out)
	return d.out, err
}
