"""What the tests share: where the built modules are, one engine, and the
Go reference run (cabi/goref)."""

import base64
import json
import os
import struct
import subprocess

import arena

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ARENA_BIN") or os.path.join(REPO, "bin")

# One engine for the whole run, so each module compiles once.
ENGINE = arena.Engine(capacity=64)


def built(path, how):
    if not os.path.isfile(path):
        raise AssertionError("%s is missing: %s (make test-python builds it)" % (path, how))
    return path


def example(kind, name):
    """A shipped example, as `make examples` builds it."""
    return built(os.path.join(BIN, "examples", "%s-%s.wasm" % (kind, name)), "make examples")


def rolesgd():
    """strategy/testdata/rolesgd, the optimizer that prints its table."""
    return built(os.path.join(BIN, "testdata", "rolesgd.wasm"), "GOOS=wasip1 GOARCH=wasm go build ./strategy/testdata/rolesgd")


def fixture(name):
    """A hand-written module of sandbox/testdata."""
    return os.path.join(REPO, "sandbox", "testdata", name + ".wasm")


def testdata(path):
    """A module of the repository's, by its path from the root."""
    return os.path.join(REPO, path)


def bits(values):
    return list(struct.unpack("<%dQ" % len(values), struct.pack("<%dd" % len(values), *values)))


def floats(b):
    return list(struct.unpack("<%dd" % len(b), struct.pack("<%dQ" % len(b), *b)))


def goref(wasm, params, a, b, losses, n=None, table=None, steps=0, limits=None):
    """Runs the optimizer through package strategy (cabi/goref): step t's
    gradient is p·a - b from the parameters as they stand."""
    exe = built(os.path.join(BIN, "goref"), "go build -o bin/goref ./cabi/goref")
    payload = {"wasm": wasm, "limits": limits, "n": n or len(params), "steps": steps,
               "table": [dict(t._asdict()) for t in table] if table is not None else None,
               "params": bits(params), "a": bits(a), "b": bits(b), "loss": list(losses)}
    out = subprocess.run([exe], input=json.dumps(payload).encode(), capture_output=True, check=False)
    if out.returncode != 0:
        raise AssertionError("goref: %s" % out.stderr.decode())
    res = json.loads(out.stdout)
    res["params"] = floats(res["params"])
    return res


def goref_cut(wasm, size, dtype, rows, cols, steps, limits=None):
    """Sends each (forward, backward) pair of tensor bytes in steps across
    a cut of two strategy.ActivationStage (cabi/goref), as the benchmark
    holds one; returns per step the messages and what the receiving stage
    decoded, as bytes, and each stage's fuel."""
    exe = built(os.path.join(BIN, "goref"), "go build -o bin/goref ./cabi/goref")
    b64 = lambda b: base64.b64encode(b).decode()
    payload = {"wasm": wasm, "limits": limits,
               "cut": {"size": size, "dtype": dtype, "rows": rows, "cols": cols,
                       "steps": [{"forward": b64(f), "backward": b64(b)} for f, b in steps]}}
    out = subprocess.run([exe], input=json.dumps(payload).encode(), capture_output=True, check=False)
    if out.returncode != 0:
        raise AssertionError("goref: %s" % out.stderr.decode())
    cut = json.loads(out.stdout)["cut"]
    cut["steps"] = [{k: base64.b64decode(v) for k, v in s.items()} for s in cut["steps"]]
    return cut
