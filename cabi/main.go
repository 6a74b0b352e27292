// Command cabi is libarena.so, Arena's C API for running a strategy
// module in any host process (a PyTorch trainer, through the Python
// package in python/arena): the functions of arena.h over package
// strategy, so a module runs with the same sandbox, fuel metering and ABI
// code the workers scored it with. Build it with
//
//	go build -buildmode=c-shared -o bin/libarena.so ./cabi
//
// Every export recovers panics and reports them as errors: nothing that
// goes wrong in here may take the host down. docs/python.md documents the
// API.
package main

/*
#include <stdlib.h>
#define ARENA_IN
#include "arena.h"
*/
import "C"

import (
	"unsafe"
)

func main() {}

// apiVersion is arena_version's answer; it changes with any change to
// arena.h a caller may depend on: one that breaks callers, or new
// functions (3: the activation stage), so a caller built for a version
// never finds a function missing.
const apiVersion = 3

// finish stores err's message in *errOut (NULL on success) and returns
// its class.
func finish(errOut **C.char, err error) C.int {
	if errOut != nil {
		*errOut = nil
		if err != nil {
			*errOut = C.CString(message(err))
		}
	}
	return C.int(classify(err))
}

// call runs fn behind guard and reports how it went.
func call(errOut **C.char, fn func() error) C.int { return finish(errOut, guard(fn)) }

// float64s is the caller's buffer of n doubles as a Go slice, valid for
// the call only.
func float64s(p *C.double, n C.int64_t, what string) ([]float64, error) {
	if n < 0 || n > maxInt32 {
		return nil, badInput("%s: a length of %d", what, n)
	}
	if p == nil {
		if n != 0 {
			return nil, badInput("%s: a NULL buffer of %d values", what, n)
		}
		return []float64{}, nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(p)), int(n)), nil
}

// bytesOf is the caller's buffer of n bytes as a Go slice, valid for the
// call only.
func bytesOf(p *C.uint8_t, n C.int64_t, what string) ([]byte, error) {
	if n < 0 || n > 1<<31 {
		return nil, badInput("%s: a length of %d", what, n)
	}
	if p == nil {
		if n != 0 {
			return nil, badInput("%s: a NULL buffer of %d bytes", what, n)
		}
		return []byte{}, nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)), nil
}

func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

//export arena_version
func arena_version() C.int { return apiVersion }

//export arena_free
func arena_free(p *C.char) { C.free(unsafe.Pointer(p)) }

//export arena_engine_new
func arena_engine_new(capacity C.int64_t, cacheDir *C.char, engineOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if engineOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newEngine(int64(capacity), goString(cacheDir))
		if err != nil {
			return err
		}
		*engineOut = C.arena_handle(h)
		return nil
	})
}

//export arena_module_load
func arena_module_load(eh C.arena_handle, kind *C.char, wasm *C.uint8_t, n C.int64_t, limits *C.char, moduleOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if moduleOut == nil {
			return badInput("a NULL result pointer")
		}
		b, err := bytesOf(wasm, n, "module")
		if err != nil {
			return err
		}
		// The module's bytes are copied: the caller's buffer is theirs
		// again when the call returns, and objects are made from it later.
		h, err := loadModule(uint64(eh), goString(kind), append([]byte(nil), b...), goString(limits))
		if err != nil {
			return err
		}
		*moduleOut = C.arena_handle(h)
		return nil
	})
}

//export arena_module_info
func arena_module_info(mh C.arena_handle, jsonOut **C.char, errOut **C.char) C.int {
	return call(errOut, func() error {
		if jsonOut == nil {
			return badInput("a NULL result pointer")
		}
		s, err := infoOf(uint64(mh))
		if err != nil {
			return err
		}
		*jsonOut = C.CString(s)
		return nil
	})
}

//export arena_optimizer_new
func arena_optimizer_new(mh C.arena_handle, n C.int64_t, table *C.char, steps C.int64_t, optOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if optOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newOptimizer(uint64(mh), int64(n), goString(table), int64(steps))
		if err != nil {
			return err
		}
		*optOut = C.arena_handle(h)
		return nil
	})
}

//export arena_optimizer_tensors
func arena_optimizer_tensors(oh C.arena_handle, tensors *C.int, errOut **C.char) C.int {
	return call(errOut, func() error {
		if tensors == nil {
			return badInput("a NULL result pointer")
		}
		v2, err := optimizerTensors(uint64(oh))
		if err != nil {
			return err
		}
		*tensors = 0
		if v2 {
			*tensors = 1
		}
		return nil
	})
}

//export arena_optimizer_step
func arena_optimizer_step(oh C.arena_handle, t C.int64_t, params *C.double, grads *C.double, n C.int64_t, loss C.double, errOut **C.char) C.int {
	return call(errOut, func() error {
		p, err := float64s(params, n, "parameters")
		if err != nil {
			return err
		}
		g, err := float64s(grads, n, "gradients")
		if err != nil {
			return err
		}
		return optimizerStep(uint64(oh), int64(t), p, g, float64(loss))
	})
}

//export arena_schedule_new
func arena_schedule_new(mh C.arena_handle, total C.int64_t, schedOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if schedOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newSchedule(uint64(mh), int64(total))
		if err != nil {
			return err
		}
		*schedOut = C.arena_handle(h)
		return nil
	})
}

//export arena_schedule_lr
func arena_schedule_lr(sh C.arena_handle, t C.int64_t, loss C.double, lr *C.double, errOut **C.char) C.int {
	return call(errOut, func() error {
		if lr == nil {
			return badInput("a NULL result pointer")
		}
		rate, err := scheduleLR(uint64(sh), int64(t), float64(loss))
		if err != nil {
			return err
		}
		*lr = C.double(rate)
		return nil
	})
}

//export arena_grad_worker_new
func arena_grad_worker_new(mh C.arena_handle, worker, workers, n C.int64_t, table *C.char, budget, steps C.int64_t, workerOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if workerOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newGradWorker(uint64(mh), int64(worker), int64(workers), int64(n), goString(table), int64(budget), int64(steps))
		if err != nil {
			return err
		}
		*workerOut = C.arena_handle(h)
		return nil
	})
}

//export arena_grad_compress
func arena_grad_compress(wh C.arena_handle, t C.int64_t, grad *C.double, n C.int64_t, msg *C.uint8_t, capacity C.int64_t, size *C.int64_t, errOut **C.char) C.int {
	return call(errOut, func() error {
		if size == nil {
			return badInput("a NULL result pointer")
		}
		g, err := float64s(grad, n, "gradient")
		if err != nil {
			return err
		}
		m, err := bytesOf(msg, capacity, "message buffer")
		if err != nil {
			return err
		}
		k, err := gradCompress(uint64(wh), int64(t), g, m)
		if err != nil {
			return err
		}
		*size = C.int64_t(k)
		return nil
	})
}

//export arena_grad_aggregator_new
func arena_grad_aggregator_new(mh C.arena_handle, workers, n C.int64_t, table *C.char, budget, steps C.int64_t, aggOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if aggOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newGradAggregator(uint64(mh), int64(workers), int64(n), goString(table), int64(budget), int64(steps))
		if err != nil {
			return err
		}
		*aggOut = C.arena_handle(h)
		return nil
	})
}

//export arena_grad_decompress
func arena_grad_decompress(ah C.arena_handle, worker, t C.int64_t, msg *C.uint8_t, size C.int64_t, dst *C.double, n C.int64_t, errOut **C.char) C.int {
	return call(errOut, func() error {
		m, err := bytesOf(msg, size, "message")
		if err != nil {
			return err
		}
		o, err := float64s(dst, n, "output")
		if err != nil {
			return err
		}
		return gradDecompress(uint64(ah), int64(worker), int64(t), m, o)
	})
}

//export arena_activation_capacity
func arena_activation_capacity(size C.int64_t) C.int64_t {
	return C.int64_t(activationCapacity(int64(size)))
}

//export arena_activation_encoder_new
func arena_activation_encoder_new(mh C.arena_handle, size C.int64_t, encOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if encOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newActivationEncoder(uint64(mh), int64(size))
		if err != nil {
			return err
		}
		*encOut = C.arena_handle(h)
		return nil
	})
}

//export arena_activation_compress
func arena_activation_compress(eh C.arena_handle, direction, dtype C.int, rows, cols C.int64_t, data *C.uint8_t, n C.int64_t, msg *C.uint8_t, capacity C.int64_t, msgLen *C.int64_t, errOut **C.char) C.int {
	return encodeExport(activationCompress, eh, direction, dtype, rows, cols, data, n, msg, capacity, msgLen, errOut)
}

// encodeExport converts an encoding call's C arguments for encode
// (activationCompress or activationStageEncode).
func encodeExport(encode func(h uint64, direction, dtype int, rows, cols int64, data, msg []byte) (int, error),
	h C.arena_handle, direction, dtype C.int, rows, cols C.int64_t, data *C.uint8_t, n C.int64_t, msg *C.uint8_t, capacity C.int64_t, msgLen *C.int64_t, errOut **C.char) C.int {
	return call(errOut, func() error {
		if msgLen == nil {
			return badInput("a NULL result pointer")
		}
		d, err := bytesOf(data, n, "tensor")
		if err != nil {
			return err
		}
		m, err := bytesOf(msg, capacity, "message buffer")
		if err != nil {
			return err
		}
		k, err := encode(uint64(h), int(direction), int(dtype), int64(rows), int64(cols), d, m)
		if err != nil {
			return err
		}
		*msgLen = C.int64_t(k)
		return nil
	})
}

//export arena_activation_decoder_new
func arena_activation_decoder_new(mh C.arena_handle, size C.int64_t, decOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if decOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newActivationDecoder(uint64(mh), int64(size))
		if err != nil {
			return err
		}
		*decOut = C.arena_handle(h)
		return nil
	})
}

//export arena_activation_decompress
func arena_activation_decompress(dh C.arena_handle, direction, dtype C.int, rows, cols C.int64_t, msg *C.uint8_t, size C.int64_t, dst *C.uint8_t, n C.int64_t, errOut **C.char) C.int {
	return decodeExport(activationDecompress, dh, direction, dtype, rows, cols, msg, size, dst, n, errOut)
}

// decodeExport converts a decoding call's C arguments for decode
// (activationDecompress or activationStageDecode).
func decodeExport(decode func(h uint64, direction, dtype int, rows, cols int64, msg, out []byte) error,
	h C.arena_handle, direction, dtype C.int, rows, cols C.int64_t, msg *C.uint8_t, size C.int64_t, dst *C.uint8_t, n C.int64_t, errOut **C.char) C.int {
	return call(errOut, func() error {
		m, err := bytesOf(msg, size, "message")
		if err != nil {
			return err
		}
		o, err := bytesOf(dst, n, "output")
		if err != nil {
			return err
		}
		return decode(uint64(h), int(direction), int(dtype), int64(rows), int64(cols), m, o)
	})
}

//export arena_activation_stage_new
func arena_activation_stage_new(mh C.arena_handle, size C.int64_t, first C.int, stageOut *C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error {
		if stageOut == nil {
			return badInput("a NULL result pointer")
		}
		h, err := newActivationStage(uint64(mh), int64(size), int(first))
		if err != nil {
			return err
		}
		*stageOut = C.arena_handle(h)
		return nil
	})
}

//export arena_activation_stage_encode
func arena_activation_stage_encode(sh C.arena_handle, direction, dtype C.int, rows, cols C.int64_t, data *C.uint8_t, n C.int64_t, msg *C.uint8_t, capacity C.int64_t, msgLen *C.int64_t, errOut **C.char) C.int {
	return encodeExport(activationStageEncode, sh, direction, dtype, rows, cols, data, n, msg, capacity, msgLen, errOut)
}

//export arena_activation_stage_decode
func arena_activation_stage_decode(sh C.arena_handle, direction, dtype C.int, rows, cols C.int64_t, msg *C.uint8_t, size C.int64_t, dst *C.uint8_t, n C.int64_t, errOut **C.char) C.int {
	return decodeExport(activationStageDecode, sh, direction, dtype, rows, cols, msg, size, dst, n, errOut)
}

//export arena_fuel_used
func arena_fuel_used(h C.arena_handle, fuel *C.int64_t, errOut **C.char) C.int {
	return call(errOut, func() error {
		if fuel == nil {
			return badInput("a NULL result pointer")
		}
		f, err := fuelUsed(uint64(h))
		if err != nil {
			return err
		}
		*fuel = C.int64_t(f)
		return nil
	})
}

//export arena_log
func arena_log(h C.arena_handle, logOut **C.char, size *C.int64_t, errOut **C.char) C.int {
	return call(errOut, func() error {
		if logOut == nil || size == nil {
			return badInput("a NULL result pointer")
		}
		s, err := logOf(uint64(h))
		if err != nil {
			return err
		}
		// One byte more than the log, so an empty log is still a block
		// the caller can free, and a NUL ends it for C.
		p := (*C.char)(C.malloc(C.size_t(len(s) + 1)))
		buf := unsafe.Slice((*byte)(unsafe.Pointer(p)), len(s)+1)
		copy(buf, s)
		buf[len(s)] = 0
		*logOut, *size = p, C.int64_t(len(s))
		return nil
	})
}

//export arena_close
func arena_close(h C.arena_handle, errOut **C.char) C.int {
	return call(errOut, func() error { return closeHandle(uint64(h)) })
}
