package scoring

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/arena-dev/arena/sandbox"
)

// The activation_compression kind's adapters: the stage that encodes a
// tensor and the stage that decodes it, each on its own instance.

// ActivationCompressionABI is what an activation compression module must
// export.
var ActivationCompressionABI = sandbox.ABI{Funcs: []sandbox.Func{
	{Name: "ac_compress", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, Results: []api.ValueType{api.ValueTypeI32}},
	{Name: "ac_decompress", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}},
}}

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
}

// NewGuestActivationEncoder allocates the input and message buffers.
func NewGuestActivationEncoder(inst *sandbox.Instance, size int) (*GuestActivationEncoder, error) {
	if err := checkTensorSize(size); err != nil {
		return nil, err
	}
	e := &GuestActivationEncoder{inst: inst, size: size}
	var err error
	if e.inPtr, e.outPtr, err = alloc2(inst, size, ActivationCapacity(size)); err != nil {
		return nil, err
	}
	return e, nil
}

// Compress encodes a rows×cols tensor of dtype (baseline.BFloat16 or
// baseline.Float32), data in little-endian bytes. The message is valid until the next call.
func (e *GuestActivationEncoder) Compress(dtype, rows, cols int, data []byte) ([]byte, error) {
	if len(data) > e.size {
		return nil, fmt.Errorf("a tensor of %d bytes, over the encoder's %d", len(data), e.size)
	}
	if err := e.inst.WriteBytes(e.inPtr, data); err != nil {
		return nil, err
	}
	capacity := ActivationCapacity(e.size)
	res, err := e.inst.Call("ac_compress", uint64(dtype), uint64(rows), uint64(cols), uint64(e.inPtr), uint64(len(data)), uint64(e.outPtr), uint64(capacity))
	if err != nil {
		return nil, err
	}
	m := int32(res[0])
	if m < 0 || int(m) > capacity {
		return nil, &sandbox.RunError{Func: "ac_compress", Reason: fmt.Sprintf("returned %d; a message is 0 to %d bytes", m, capacity)}
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
}

// NewGuestActivationDecoder allocates the message and output buffers.
func NewGuestActivationDecoder(inst *sandbox.Instance, size int) (*GuestActivationDecoder, error) {
	if err := checkTensorSize(size); err != nil {
		return nil, err
	}
	d := &GuestActivationDecoder{inst: inst, size: size}
	var err error
	if d.msgPtr, d.decPtr, err = alloc2(inst, ActivationCapacity(size), size); err != nil {
		return nil, err
	}
	return d, nil
}

// Decompress decodes msg into a rows×cols tensor of dtype, n bytes long.
// The result is valid until the next call.
func (d *GuestActivationDecoder) Decompress(dtype, rows, cols int, msg []byte, n int) ([]byte, error) {
	if n > d.size || len(msg) > ActivationCapacity(d.size) {
		return nil, fmt.Errorf("a tensor of %d bytes from a message of %d, over the decoder's %d", n, len(msg), d.size)
	}
	if err := d.inst.WriteBytes(d.msgPtr, msg); err != nil {
		return nil, err
	}
	if _, err := d.inst.Call("ac_decompress", uint64(dtype), uint64(rows), uint64(cols), uint64(d.msgPtr), uint64(len(msg)), uint64(d.decPtr), uint64(n)); err != nil {
		return nil, err
	}
	var err error
	d.out, err = d.inst.ReadBytes(d.decPtr, n, d.out)
	return d.out, err
}
