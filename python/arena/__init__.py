"""Arena strategy modules in a Python process.

A strategy module (a tournament's champion, pulled with `arena champion
pull`) runs here through libarena.so, Arena's C API over its Go package
strategy: the same sandbox, fuel metering and ABI code the workers scored
it with, so it behaves in your loop as it did in the tournament, and a
hostile module can neither crash nor hang your process. It raises
ModuleRejected (it failed validation), ModuleFailed (a trap, fuel
exhausted, a bad pointer, an invalid result) or, for your own mistakes,
ValueError.

The core needs nothing but the standard library; buffers are anything
with the buffer protocol or numpy's array interface (float64 where the ABI
takes doubles). `arena.torch` adapts it to PyTorch (an optimizer, an LR
scheduler, gradient and activation codecs) and imports torch only when
you import it. docs/python.md is the reference.

    import arena
    opt = arena.Optimizer("champion.wasm", n=1000, limits={"fuel_per_task": 10**8})
    opt.step(0, params, grads, loss)      # params updated in place

Limits are a challenge's (its "limits" object), applied per call: every
initialization and every step gets fuel_per_task fuel and task_timeout_ms
of wall time. After ModuleFailed an object refuses every later call with
the same error; after ValueError it carries on.
"""

import array
import ctypes
import json
import operator
import os
from collections import namedtuple

from . import _lib

__all__ = [
    "ArenaError", "ModuleRejected", "ModuleFailed",
    "Engine", "Module", "load", "default_engine",
    "Optimizer", "Schedule", "GradientWorker", "GradientAggregator",
    "ActivationEncoder", "ActivationDecoder", "ActivationStage",
    "Tensor", "ROLES", "KINDS", "BFLOAT16", "FLOAT32", "FORWARD", "BACKWARD", "activation_capacity", "challenge",
]

KINDS = ("optimizer", "lr_schedule", "grad_compression", "activation_compression")

# Tensor roles of the optimizer's ABI v2, by number (docs/optimizer-abi.md).
ROLES = ("flat", "embedding", "position", "attn_q", "attn_k", "attn_v", "attn_o",
         "mlp_in", "mlp_out", "norm_gain", "head")

# Activation element types, the ABI's dtype.
BFLOAT16, FLOAT32 = 0, 1
_ELEMENT_SIZE = {BFLOAT16: 2, FLOAT32: 4}

# Directions a tensor crosses a pipeline cut in, the ABI's direction: an
# activation goes forward, its gradient backward.
FORWARD, BACKWARD = 0, 1


class ArenaError(Exception):
    """Something went wrong in a module or in libarena; the message says what."""


class ModuleRejected(ArenaError):
    """The module failed validation: it never ran."""


class ModuleFailed(ArenaError):
    """The module misbehaved (a trap, fuel exhausted, a pointer outside its
    memory, an invalid result). Its object refuses every later call: start a
    new one or fall back."""


def _error(code, err):
    msg = "(no message)"
    if err.value:
        msg = ctypes.string_at(err.value).decode("utf-8", "replace")
        _lib.lib.arena_free(err.value)
    if code == _lib.REJECTED:
        return ModuleRejected(msg)
    if code == _lib.FAILED:
        return ModuleFailed(msg)
    if code == _lib.BAD_INPUT:
        return ValueError(msg)
    return ArenaError(msg)


def _call(fn, *args):
    err = ctypes.c_void_p()
    code = fn(*args, ctypes.byref(err))
    if code != _lib.OK:
        raise _error(code, err)


def _new(fn, *args):
    """Calls a constructor of arena.h and returns the handle it made."""
    h = _lib.handle()
    _call(fn, *args, ctypes.byref(h))
    return h.value


def _int(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        try:
            v = operator.index(v)
        except TypeError:
            raise ValueError("%s must be an integer, not %r" % (what, v)) from None
    return v


# Buffers. The library reads and writes the caller's memory during a call
# only, so a numpy array, an array.array or a bytearray is passed by
# address with no copy.

def _contiguous(shape, strides, itemsize):
    if strides is None:
        return True
    step = itemsize
    for dim, stride in zip(reversed(shape), reversed(strides)):
        if dim > 1 and stride != step:
            return False
        step *= dim
    return True


def _address(obj, itemsize, typestrs, formats, writable, what):
    """The address and length (in items) of obj's memory, and an object to
    keep alive until the call returns. Read-only input that cannot be
    addressed (bytes-like read-only views) is copied."""
    ai = getattr(obj, "__array_interface__", None)
    if ai is not None:
        if ai["typestr"] not in typestrs:
            raise ValueError("%s: an array of %s, not %s" % (what, ai["typestr"], typestrs[0]))
        n = 1
        for dim in ai["shape"]:
            n *= dim
        if not _contiguous(ai["shape"], ai.get("strides"), itemsize):
            raise ValueError("%s: the array is not contiguous" % what)
        addr, readonly = ai["data"]
        if writable and readonly:
            raise ValueError("%s: the array is read-only" % what)
        return addr, n, obj
    if isinstance(obj, bytes) and not writable and itemsize == 1:
        return ctypes.cast(ctypes.c_char_p(obj), ctypes.c_void_p).value, len(obj), obj
    try:
        mv = memoryview(obj)
    except TypeError:
        raise ValueError("%s: %s is not a buffer (use a numpy array, an array.array or a bytearray)" % (what, type(obj).__name__)) from None
    if mv.format.lstrip("<=@") not in formats or mv.itemsize != itemsize:
        raise ValueError("%s: a buffer of format %r, not %r" % (what, mv.format, formats[0]))
    if not mv.c_contiguous:
        raise ValueError("%s: the buffer is not contiguous" % what)
    n = mv.nbytes // itemsize
    if n == 0:
        return None, 0, mv
    if mv.readonly:
        if writable:
            raise ValueError("%s: the buffer is read-only" % what)
        copy = ctypes.create_string_buffer(mv.tobytes(), mv.nbytes)
        return ctypes.addressof(copy), n, copy
    c = (ctypes.c_char * mv.nbytes).from_buffer(mv)
    return ctypes.addressof(c), n, c


def _doubles(obj, writable, what):
    return _address(obj, 8, ("<f8",), ("d",), writable, what)


def _bytes(obj, writable, what):
    return _address(obj, 1, ("|u1", "|i1", "|b1", "<u1"), ("B", "b", "c"), writable, what)


def _read_limits(limits):
    if limits is None:
        return None
    if isinstance(limits, (bytes, str)):
        return limits.encode() if isinstance(limits, str) else limits
    if not isinstance(limits, dict):
        raise ValueError("limits: a dict of a challenge's limits (or its JSON), not %r" % (limits,))
    return json.dumps(limits).encode()


def _read_module(wasm):
    if isinstance(wasm, (str, os.PathLike)):
        with open(wasm, "rb") as f:
            return f.read()
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        return bytes(wasm)
    raise ValueError("a module is its bytes or the path of a .wasm file, not %s" % type(wasm).__name__)


class _Handle:
    """A handle of the C API's, closed once: by close(), by leaving a with
    block or by the garbage collector; closing an engine closes what was
    made from it, and closing those afterwards is harmless."""

    _h = 0

    @property
    def closed(self):
        return not self._h

    def close(self):
        h, self._h = self._h, 0
        if h and _lib is not None and _lib.lib is not None:
            try:
                _call(_lib.lib.arena_close, h)
            except ValueError:
                pass  # closed with its engine

    def _closed_name(self):
        return type(self).__name__

    def _handle(self):
        if not self._h:
            raise ValueError("%s is closed" % self._closed_name())
        return self._h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Engine(_Handle):
    """Compiles modules (once per content hash and memory limit) and owns
    everything made from them: closing it closes them all. capacity bounds
    the compiled modules kept in memory; cache_dir, when given, keeps
    metered modules and machine code on disk across processes."""

    def __init__(self, capacity=16, cache_dir=None):
        capacity = _int(capacity, "capacity")
        d = os.fsencode(cache_dir) if cache_dir else None
        self._h = _new(_lib.lib.arena_engine_new, capacity, d)

    def _closed_name(self):
        return "the engine"

    def load(self, wasm, kind, limits=None):
        """Validates, meters and compiles a module of kind (one of KINDS)
        under a challenge's limits (a dict or JSON; missing fields take
        Arena's defaults). wasm is the module's bytes or a file's path."""
        return Module(self, wasm, kind, limits)



_default = None


def default_engine():
    """The engine used when none is given, made on first use; with
    ARENA_CACHE_DIR set it caches compiled modules there."""
    global _default
    if _default is None or _default.closed:
        _default = Engine(cache_dir=os.environ.get("ARENA_CACHE_DIR") or None)
    return _default


def load(wasm, kind, limits=None, engine=None):
    """Loads a module of kind into engine (default_engine() if None)."""
    return (engine or default_engine()).load(wasm, kind, limits)


class Module(_Handle):
    """A validated, compiled module with its limits. Objects made from it
    outlive it; its engine's closing ends them all."""

    def __init__(self, engine, wasm, kind, limits=None):
        if kind not in KINDS:
            raise ValueError("unknown kind %r: one of %s" % (kind, ", ".join(KINDS)))
        b = _read_module(wasm)
        self.engine, self.kind = engine, kind
        buf = ctypes.create_string_buffer(b, len(b))
        self._h = _new(_lib.lib.arena_module_load, engine._handle(), kind.encode(), ctypes.addressof(buf), len(b), _read_limits(limits))
        info = ctypes.c_void_p()
        _call(_lib.lib.arena_module_info, self._h, ctypes.byref(info))
        try:
            meta = json.loads(ctypes.string_at(info.value).decode())
        finally:
            _lib.lib.arena_free(info.value)
        self.sha256, self.size, self.limits = meta["sha256"], meta["bytes"], meta["limits"]

    def _closed_name(self):
        return "the module"

    def optimizer(self, n=None, table=None, steps=0):
        return Optimizer(self, n, table=table, steps=steps)

    def schedule(self, total):
        return Schedule(self, total)

    def gradient_worker(self, worker, workers, n, budget, table=None, steps=0):
        return GradientWorker(self, worker, workers, n, budget, table=table, steps=steps)

    def gradient_aggregator(self, workers, n, budget, table=None, steps=0):
        return GradientAggregator(self, workers, n, budget, table=table, steps=steps)

    def activation_encoder(self, size):
        return ActivationEncoder(self, size)

    def activation_decoder(self, size):
        return ActivationDecoder(self, size)

    def activation_stage(self, size, first):
        return ActivationStage(self, size, first)

    def __repr__(self):
        return "<arena.Module %s %s>" % (self.kind, self.sha256[:12])


def _module(module, kind, limits, engine):
    """module as a Module of kind: loaded from bytes or a path, or checked."""
    if isinstance(module, Module):
        if limits is not None or engine is not None:
            raise ValueError("limits and engine go with a module's bytes; a loaded Module has its own")
        if module.kind != kind:
            raise ValueError("the module was loaded as %s, not %s" % (module.kind, kind))
        return module
    return load(module, kind, limits, engine)


class _Object(_Handle):
    """What every per-kind object has: fuel, log, close."""

    def _open(self, module, kind, limits, engine, fn, *args):
        self.module = _module(module, kind, limits, engine)
        self.engine = self.module.engine  # keeps the engine (and so this object) alive
        self._h = _new(fn, self.module._handle(), *args)

    @property
    def fuel_used(self):
        """The fuel the module has spent so far, in every call."""
        v = ctypes.c_int64()
        _call(_lib.lib.arena_fuel_used, self._handle(), ctypes.byref(v))
        return v.value

    @property
    def log(self):
        """The tail of what the module wrote to stdout and stderr."""
        p, n = ctypes.c_void_p(), ctypes.c_int64()
        _call(_lib.lib.arena_log, self._handle(), ctypes.byref(p), ctypes.byref(n))
        try:
            return ctypes.string_at(p.value, n.value).decode("utf-8", "replace")
        finally:
            _lib.lib.arena_free(p.value)



Tensor = namedtuple("Tensor", "name role rows cols offset")
Tensor.__doc__ = """One entry of an optimizer's tensor table: a rows×cols matrix stored
row-major in the flat parameter vector from element offset on. role is
a name from ROLES (or its number)."""


def _table_json(table):
    entries = []
    for i, t in enumerate(table):
        if isinstance(t, dict):
            t = Tensor(**t)
        elif not isinstance(t, Tensor):
            t = Tensor(*t)
        role = t.role
        if isinstance(role, int) and not isinstance(role, bool):
            if not 0 <= role < len(ROLES):
                raise ValueError("tensor table: entry %d: unknown role %d" % (i, role))
            role = ROLES[role]
        entries.append({"name": t.name, "role": role, "rows": _int(t.rows, "rows"),
                        "cols": _int(t.cols, "cols"), "offset": _int(t.offset, "offset")})
    return json.dumps(entries).encode()


class Optimizer(_Object):
    """An optimizer module updating a flat float64 parameter vector.

    Given n alone it sees one flat vector (a module of ABI v2 is handed a
    one-entry table and no run length); given a table (Tensor entries,
    dicts or tuples) a module of ABI v2 sees the tensors and the run's
    length (steps, 0 when unknown) and one of ABI v1 opt_init(n)."""

    def __init__(self, module, n=None, *, table=None, steps=0, limits=None, engine=None):
        if table is None:
            if n is None:
                raise ValueError("an optimizer needs n or a table")
            self.n, tj = _int(n, "n"), None
        else:
            tj = _table_json(table)
            self.n = sum(_int(t["rows"], "rows") * _int(t["cols"], "cols") for t in json.loads(tj))
            if n is not None and _int(n, "n") != self.n:
                raise ValueError("n is %d but the table describes %d parameters" % (n, self.n))
        self._open(module, "optimizer", limits, engine, _lib.lib.arena_optimizer_new,
                   0 if tj else self.n, tj, _int(steps, "steps"))
        v = ctypes.c_int()
        _call(_lib.lib.arena_optimizer_tensors, self._h, ctypes.byref(v))
        self.tensors = bool(v.value)  # the module was given the table (ABI v2)

    def step(self, t, params, grads, loss=0.0):
        """Updates params (n float64, in place) at step t (from 0), given
        grads and the minibatch loss."""
        t, back = _int(t, "t"), None
        if isinstance(params, list):
            back, params = params, array.array("d", params)
        if isinstance(grads, (list, tuple)):
            grads = array.array("d", grads)
        p, np_, keep_p = _doubles(params, True, "params")
        g, ng, keep_g = _doubles(grads, False, "grads")
        if np_ != self.n or ng != self.n:
            raise ValueError("step %d: %d parameters and %d gradients for an optimizer of %d" % (t, np_, ng, self.n))
        self._step(t, p, g, loss)
        if back is not None:
            back[:] = params

    def _step(self, t, params_addr, grads_addr, loss):
        """step on raw addresses of n float64 each."""
        _call(_lib.lib.arena_optimizer_step, self._handle(), t, params_addr, grads_addr, self.n, float(loss))


class Schedule(_Object):
    """A learning-rate schedule module for a run of total steps."""

    def __init__(self, module, total, *, limits=None, engine=None):
        self.total = _int(total, "total")
        self._open(module, "lr_schedule", limits, engine, _lib.lib.arena_schedule_new, self.total)

    def lr(self, t, loss=0.0):
        """The rate for step t (from 0), given the last minibatch loss; it
        is always in [0, 1000]."""
        v = ctypes.c_double()
        _call(_lib.lib.arena_schedule_lr, self._handle(), _int(t, "t"), float(loss), ctypes.byref(v))
        return v.value


def _grad_table(n, table, what):
    """n and the table JSON (None without a table) of a gradient codec."""
    if table is None:
        if n is None:
            raise ValueError("a gradient %s needs n or a table" % what)
        return _int(n, "n"), None
    tj = _table_json(table)
    total = sum(_int(t["rows"], "rows") * _int(t["cols"], "cols") for t in json.loads(tj))
    if n is not None and _int(n, "n") != total:
        raise ValueError("n is %d but the table describes %d values" % (n, total))
    return total, tj


class GradientWorker(_Object):
    """The compressing side of a gradient codec: worker (0 to workers-1) of
    a data-parallel run, for messages of at most budget bytes. Given n
    alone, for flat gradients of n values; given a table (Tensor entries,
    dicts or tuples, as Optimizer takes), a module with gc_init2 sees the
    tensors and the run's length (steps, 0 when unknown), one with only
    gc_init the flat vector."""

    def __init__(self, module, worker, workers, n, budget, *, table=None, steps=0, limits=None, engine=None):
        self.worker, self.workers = _int(worker, "worker"), _int(workers, "workers")
        self.budget = _int(budget, "budget")
        self.n, tj = _grad_table(n, table, "worker")
        self._open(module, "grad_compression", limits, engine, _lib.lib.arena_grad_worker_new,
                   self.worker, self.workers, 0 if tj else self.n, tj, self.budget, _int(steps, "steps"))
        self._msg = ctypes.create_string_buffer(max(self.budget, 1))

    def compress(self, t, grad):
        """Step t's message (bytes) for grad (n float64)."""
        if isinstance(grad, (list, tuple)):
            grad = array.array("d", grad)
        g, n, keep = _doubles(grad, False, "grad")
        return self._compress(_int(t, "t"), g, n)

    def _compress(self, t, grad_addr, n):
        size = ctypes.c_int64()
        _call(_lib.lib.arena_grad_compress, self._handle(), t, grad_addr, n, ctypes.addressof(self._msg), self.budget, ctypes.byref(size))
        return ctypes.string_at(ctypes.addressof(self._msg), size.value)


class GradientAggregator(_Object):
    """The decompressing side of a gradient codec: it sees the workers'
    messages and nothing else. n, table and steps as the workers have
    them; decode each step's messages in worker order."""

    def __init__(self, module, workers, n, budget, *, table=None, steps=0, limits=None, engine=None):
        self.workers, self.budget = _int(workers, "workers"), _int(budget, "budget")
        self.n, tj = _grad_table(n, table, "aggregator")
        self._open(module, "grad_compression", limits, engine, _lib.lib.arena_grad_aggregator_new,
                   self.workers, 0 if tj else self.n, tj, self.budget, _int(steps, "steps"))

    def decompress(self, worker, t, msg, out=None):
        """Decodes worker's message of step t into out (n float64; a new
        array.array('d') when None) and returns out."""
        if out is None:
            out = array.array("d", bytes(8 * self.n))
        o, n, keep_o = _doubles(out, True, "out")
        m, k, keep_m = _bytes(msg, False, "msg")
        self._decompress(_int(worker, "worker"), _int(t, "t"), m, k, o, n)
        return out

    def _decompress(self, worker, t, msg_addr, msg_len, out_addr, n):
        _call(_lib.lib.arena_grad_decompress, self._handle(), worker, t, msg_addr, msg_len, out_addr, n)


def activation_capacity(size):
    """The room a message of a tensor of up to size bytes gets."""
    c = _lib.lib.arena_activation_capacity(_int(size, "size"))
    if c < 0:
        raise ValueError("tensors of 1 to 2^30 bytes, not %d" % size)
    return c


def _activation_bytes(dtype, rows, cols):
    if dtype not in _ELEMENT_SIZE:
        raise ValueError("dtype %r: arena.BFLOAT16 (0) or arena.FLOAT32 (1)" % (dtype,))
    return _int(rows, "rows") * _int(cols, "cols") * _ELEMENT_SIZE[dtype]


class _Encodes:
    """The encoding calls of an activation encoder or stage; fn is the C
    function that makes them, self._msg a buffer of self.capacity bytes."""

    def compress(self, dtype, rows, cols, data, direction=FORWARD):
        """The message (bytes) for a rows×cols tensor of dtype given as
        little-endian bytes, crossing a pipeline cut in direction (FORWARD
        or BACKWARD; a module of ABI v1 is not told)."""
        d, n, keep = _bytes(data, False, "data")
        return self._compress(_int(dtype, "dtype"), _int(rows, "rows"), _int(cols, "cols"), d, n, _int(direction, "direction"))

    def _compress(self, dtype, rows, cols, data_addr, n, direction=FORWARD):
        size = ctypes.c_int64()
        _call(self._encode_fn, self._handle(), direction, dtype, rows, cols, data_addr, n,
              ctypes.addressof(self._msg), self.capacity, ctypes.byref(size))
        return ctypes.string_at(ctypes.addressof(self._msg), size.value)


class _Decodes:
    """The decoding calls of an activation decoder or stage."""

    def decompress(self, dtype, rows, cols, msg, out=None, direction=FORWARD):
        """Decodes msg, which crossed in direction, into the rows×cols
        tensor of dtype: into out (a writable buffer of its size in bytes)
        or a new bytearray."""
        if out is None:
            out = bytearray(_activation_bytes(dtype, rows, cols))
        o, n, keep_o = _bytes(out, True, "out")
        m, k, keep_m = _bytes(msg, False, "msg")
        self._decompress(_int(dtype, "dtype"), _int(rows, "rows"), _int(cols, "cols"), m, k, o, n, _int(direction, "direction"))
        return out

    def _decompress(self, dtype, rows, cols, msg_addr, msg_len, out_addr, n, direction=FORWARD):
        _call(self._decode_fn, self._handle(), direction, dtype, rows, cols, msg_addr, msg_len, out_addr, n)


class ActivationEncoder(_Encodes, _Object):
    """The compressing side of an activation codec, for tensors of up to
    size bytes, in an instance of its own. For the two sides of a pipeline
    cut, ActivationStage holds them as the benchmark does."""

    def __init__(self, module, size, *, limits=None, engine=None):
        self.size = _int(size, "size")
        self.capacity = activation_capacity(self.size)
        self._encode_fn = _lib.lib.arena_activation_compress
        self._open(module, "activation_compression", limits, engine, _lib.lib.arena_activation_encoder_new, self.size)
        self._msg = ctypes.create_string_buffer(self.capacity)


class ActivationDecoder(_Decodes, _Object):
    """The decompressing side of an activation codec, for tensors of up to
    size bytes, in an instance of its own; it never sees the original."""

    def __init__(self, module, size, *, limits=None, engine=None):
        self.size = _int(size, "size")
        self._decode_fn = _lib.lib.arena_activation_decompress
        self._open(module, "activation_compression", limits, engine, _lib.lib.arena_activation_decoder_new, self.size)


class ActivationStage(_Encodes, _Decodes, _Object):
    """One pipeline stage of an activation cut, for tensors of up to size
    bytes: one instance of the codec that encodes what its stage sends and
    decodes what it receives, as the benchmark runs it. The stage before
    the cut (first=True) encodes activations (FORWARD) and decodes their
    gradients (BACKWARD); the one after it (first=False) decodes
    activations and encodes gradients. A codec that keeps state across the
    two directions behaves in a pair of stages as it was scored, which it
    need not in separate encoders and decoders (an instance each)."""

    def __init__(self, module, size, first, *, limits=None, engine=None):
        if first not in (True, False):
            raise ValueError("first is True (the stage before the cut) or False (the one after it), not %r" % (first,))
        self.size, self.first = _int(size, "size"), bool(first)
        self.capacity = activation_capacity(self.size)
        self._encode_fn = _lib.lib.arena_activation_stage_encode
        self._decode_fn = _lib.lib.arena_activation_stage_decode
        self._open(module, "activation_compression", limits, engine, _lib.lib.arena_activation_stage_new, self.size, int(self.first))
        self._msg = ctypes.create_string_buffer(self.capacity)


def challenge(slug, url=None, timeout=30):
    """A challenge as the server describes it (GET /api/v1/challenges/slug),
    with its "limits", which a champion should run under. url defaults to
    ARENA_URL, else http://localhost:8080. Pull the module itself with
    `arena champion pull`, which checks its sha256 and signed receipt."""
    import urllib.parse
    import urllib.request
    base = (url or os.environ.get("ARENA_URL") or "http://localhost:8080").rstrip("/")
    with urllib.request.urlopen("%s/api/v1/challenges/%s" % (base, urllib.parse.quote(slug)), timeout=timeout) as r:
        return json.loads(r.read().decode())


def __getattr__(name):
    # arena.torch on first use, so `import arena` never imports torch.
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError("module 'arena' has no attribute %r" % name)
