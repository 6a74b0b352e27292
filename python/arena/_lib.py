"""Loading libarena.so and declaring its functions (cabi/arena.h) to ctypes."""

import ctypes
import os

API_VERSION = 3

# Error classes, as arena.h defines them.
OK, REJECTED, FAILED, BAD_INPUT, INTERNAL = 0, 1, 2, 3, 4

_here = os.path.dirname(os.path.abspath(__file__))


def _path():
    explicit = os.environ.get("ARENA_LIB")
    if explicit:
        if not os.path.isfile(explicit):
            raise ImportError("ARENA_LIB is %r, which is not a file" % explicit)
        return explicit
    beside = os.path.join(_here, "libarena.so")
    if os.path.isfile(beside):
        return beside
    raise ImportError(
        "libarena.so is neither beside %s nor named by ARENA_LIB; "
        "build it with `make python` in the Arena repository" % _here
    )


handle = ctypes.c_uint64
i64 = ctypes.c_int64
cint = ctypes.c_int
err_p = ctypes.POINTER(ctypes.c_void_p)  # char **err, read as a raw pointer to free it
vp = ctypes.c_void_p  # buffers go in as addresses: no per-call conversion
cstr = ctypes.c_char_p
f64 = ctypes.c_double
P = ctypes.POINTER

# name: (result, argument types), in arena.h's order.
_PROTOTYPES = {
    "arena_version": (cint, []),
    "arena_free": (None, [vp]),
    "arena_engine_new": (cint, [i64, cstr, P(handle), err_p]),
    "arena_module_load": (cint, [handle, cstr, vp, i64, cstr, P(handle), err_p]),
    "arena_module_info": (cint, [handle, P(vp), err_p]),
    "arena_optimizer_new": (cint, [handle, i64, cstr, i64, P(handle), err_p]),
    "arena_optimizer_tensors": (cint, [handle, P(cint), err_p]),
    "arena_optimizer_step": (cint, [handle, i64, vp, vp, i64, f64, err_p]),
    "arena_schedule_new": (cint, [handle, i64, P(handle), err_p]),
    "arena_schedule_lr": (cint, [handle, i64, f64, P(f64), err_p]),
    "arena_grad_worker_new": (cint, [handle, i64, i64, i64, cstr, i64, i64, P(handle), err_p]),
    "arena_grad_compress": (cint, [handle, i64, vp, i64, vp, i64, P(i64), err_p]),
    "arena_grad_aggregator_new": (cint, [handle, i64, i64, cstr, i64, i64, P(handle), err_p]),
    "arena_grad_decompress": (cint, [handle, i64, i64, vp, i64, vp, i64, err_p]),
    "arena_activation_capacity": (i64, [i64]),
    "arena_activation_encoder_new": (cint, [handle, i64, P(handle), err_p]),
    "arena_activation_compress": (cint, [handle, cint, cint, i64, i64, vp, i64, vp, i64, P(i64), err_p]),
    "arena_activation_decoder_new": (cint, [handle, i64, P(handle), err_p]),
    "arena_activation_decompress": (cint, [handle, cint, cint, i64, i64, vp, i64, vp, i64, err_p]),
    "arena_activation_stage_new": (cint, [handle, i64, cint, P(handle), err_p]),
    "arena_activation_stage_encode": (cint, [handle, cint, cint, i64, i64, vp, i64, vp, i64, P(i64), err_p]),
    "arena_activation_stage_decode": (cint, [handle, cint, cint, i64, i64, vp, i64, vp, i64, err_p]),
    "arena_fuel_used": (cint, [handle, P(i64), err_p]),
    "arena_log": (cint, [handle, P(vp), P(i64), err_p]),
    "arena_close": (cint, [handle, err_p]),
}


def _load():
    path = _path()
    lib = ctypes.CDLL(path)
    for name, (res, args) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    version = lib.arena_version()
    if version != API_VERSION:
        raise ImportError("%s speaks C API version %d; this package needs %d: rebuild it with `make python`" % (path, version, API_VERSION))
    return lib, path


lib, path = _load()
