"""Hostile modules (sandbox/testdata) raise the right exception, stopped by
their fuel rather than the clock, and the process carries on."""

import random
import time
import unittest

import numpy as np

import arena
from util import ENGINE, fixture, testdata

# Tight fuel and a far wall-clock net, so fuel is what stops them.
LIMITS = {"fuel_per_task": 10_000_000, "task_timeout_ms": 60_000}

_r = random.Random(1)
GARBAGE = bytes(_r.randrange(256) for _ in range(4096))

CASES = [
    # name, module, exception, reason
    ("garbage bytes", GARBAGE, arena.ModuleRejected, "not a WebAssembly module"),
    ("empty", b"", arena.ModuleRejected, "not a WebAssembly module"),
    ("allocation bomb", b"\x00asm\x01\x00\x00\x00\x07s\xfc\xfc\xfc\xfc\x02\n\r\x03\x05\x00A\x80\x08\x0b\x02\x00\x0b\x02\x00c",
     arena.ModuleRejected, "malformed"),
    ("unknown import", fixture("badimport"), arena.ModuleRejected, "env.open_socket is not allowed"),
    ("huge initial memory", fixture("bigmem"), arena.ModuleRejected, "2048 pages"),
    ("unbounded table growth", fixture("tablebomb"), arena.ModuleRejected, "no maximum"),
    ("infinite loop", fixture("loop"), arena.ModuleFailed, "fuel exhausted"),
    ("counted loop of 2^32 passes", fixture("countedbomb"), arena.ModuleFailed, "fuel exhausted"),
    ("deep recursion", fixture("recurse"), arena.ModuleFailed, "opt_step"),
    ("mutual recursion with loops", fixture("pingpong"), arena.ModuleFailed, "opt_step"),
    ("memory bomb", fixture("membomb"), arena.ModuleFailed, "fuel exhausted"),
    ("bulk memory bomb", fixture("bulkbomb"), arena.ModuleFailed, "fuel exhausted"),
    ("trap in opt_step", fixture("trap"), arena.ModuleFailed, "opt_step: wasm error: unreachable"),
    ("trap in opt_init", fixture("trapinit"), arena.ModuleFailed, "integer divide by zero"),
    ("trap in arena_alloc", fixture("trapalloc"), arena.ModuleFailed, "arena_alloc: wasm error: unreachable"),
    ("trap in the start function", fixture("trapstart"), arena.ModuleFailed, "arena_start"),
    ("trap in _initialize", fixture("trapinitialize"), arena.ModuleFailed, "_initialize"),
    ("pointer outside memory", fixture("badptr"), arena.ModuleFailed, "outside memory"),
    ("unaligned pointer", fixture("unaligned"), arena.ModuleFailed, "not 8-aligned"),
    ("proc_exit", fixture("procexit"), arena.ModuleFailed, "module exited with code 3"),
]


class HostileTest(unittest.TestCase):
    def test_every_hostile_module(self):
        good = testdata("examples/optimizer/signsgd.wasm")
        for name, module, exc, reason in CASES:
            with self.subTest(name):
                begin = time.monotonic()
                with self.assertRaises(exc) as caught:
                    _run(self, module)
                took = time.monotonic() - begin
                msg = str(caught.exception)
                self.assertIn(reason, msg)
                self.assertNotIn("time limit", msg)  # stopped by fuel, not the clock
                self.assertLess(took, 10, "%s took %.1fs" % (name, took))
                # The process keeps working: a fresh module loads and steps.
                opt = arena.Optimizer(good, 4, limits=LIMITS, engine=ENGINE)
                p = np.array([1.0, -1.0, 2.0, -2.0])
                opt.step(0, p, np.ones(4))
                self.assertEqual(p.tolist(), [0.95, -1.05, 1.95, -2.05])

    def test_the_wall_clock_net(self):
        # With fuel too plentiful to run out, the time limit ends the call,
        # and the optimizer refuses to go on.
        opt = arena.Optimizer(fixture("loop"), 4, limits={"fuel_per_task": 10**10, "task_timeout_ms": 200}, engine=ENGINE)
        begin = time.monotonic()
        with self.assertRaisesRegex(arena.ModuleFailed, "exceeded the time limit of 200ms"):
            opt.step(0, np.zeros(4), np.zeros(4))
        self.assertLess(time.monotonic() - begin, 10)
        with self.assertRaises(arena.ModuleFailed):
            opt.step(1, np.zeros(4), np.zeros(4))


class StageTest(unittest.TestCase):
    def test_hostile_activation_stages(self):
        # Modules that cannot be an activation codec are refused when a
        # stage is made; one that misbehaves fails the call it misbehaves in.
        for name, module, exc, reason in [
                ("garbage bytes", GARBAGE, arena.ModuleRejected, "not a WebAssembly module"),
                ("an optimizer", testdata("examples/optimizer/signsgd.wasm"), arena.ModuleRejected, "ac_encode"),
                ("an unknown import", fixture("badimport"), arena.ModuleRejected, "env.open_socket is not allowed")]:
            with self.subTest(name), self.assertRaisesRegex(exc, reason):
                arena.ActivationStage(module, 64, True, limits=LIMITS, engine=ENGINE)
        stage = arena.ActivationStage(testdata("scoring/testdata/overcap.wasm"), 64, True, limits=LIMITS, engine=ENGINE)
        with self.assertRaises(arena.ModuleFailed):
            stage.compress(arena.BFLOAT16, 4, 8, bytes(64))

    def test_a_stage_fails_as_one_instance(self):
        # spindecode's ac_decode never returns. The decoding stage fails on
        # fuel, and its encoder, the same instance, refuses from then on
        # with the same error; the other stage carries on.
        module = ENGINE.load(testdata("python/testdata/spindecode.wasm"), "activation_compression", LIMITS)
        a, b = arena.ActivationStage(module, 64, True), arena.ActivationStage(module, 64, False)
        data = bytes(range(64))
        msg = a.compress(arena.BFLOAT16, 4, 8, data)
        self.assertEqual(msg, data)
        begin = time.monotonic()
        with self.assertRaisesRegex(arena.ModuleFailed, "fuel exhausted") as first:
            b.decompress(arena.BFLOAT16, 4, 8, msg)
        self.assertLess(time.monotonic() - begin, 10)
        with self.assertRaises(arena.ModuleFailed) as again:
            b.compress(arena.BFLOAT16, 4, 8, data, direction=arena.BACKWARD)
        self.assertEqual(str(again.exception), str(first.exception))
        self.assertEqual(a.compress(arena.BFLOAT16, 4, 8, data), data)

    def test_a_hostile_cut_raises(self):
        # Through arena.torch the failure is a Python exception in the
        # forward pass, and the process goes on.
        import torch
        import arena.torch
        cut = arena.torch.ActivationCut(testdata("python/testdata/spindecode.wasm"), 64, limits=LIMITS, engine=ENGINE)
        with self.assertRaisesRegex(arena.ModuleFailed, "fuel exhausted"):
            cut(torch.randn(4, 8, requires_grad=True))
        self.assertEqual(cut.bytes_sent, 64)  # the message was sent; its decoding failed


def _run(test, module):
    """Makes an optimizer of module and steps it; a failure must repeat."""
    opt = arena.Optimizer(module, 64, limits=LIMITS, engine=ENGINE)
    p, g = np.zeros(64), np.ones(64)
    try:
        opt.step(0, p, g, 1.0)
    except arena.ModuleFailed as first:
        with test.assertRaises(arena.ModuleFailed) as again:
            opt.step(1, p, g, 1.0)
        test.assertEqual(str(again.exception), str(first))
        raise


if __name__ == "__main__":
    unittest.main()
