"""The core package over ctypes, without torch: every kind, buffers,
handles and the caller's mistakes."""

import array
import hashlib
import math
import subprocess
import sys
import unittest

import numpy as np

import arena
from util import ENGINE, REPO, example, fixture, rolesgd, testdata

SMALL = {"fuel_per_task": 200_000}  # far below a whole loop's spending


class OptimizerTest(unittest.TestCase):
    def test_signsgd_runs_as_written(self):
        # signsgd moves each parameter 0.05/sqrt(t+1) against its
        # gradient's sign; here the gradient is the parameter (½‖x‖²).
        n, steps = 1000, 300
        opt = arena.Optimizer(testdata("examples/optimizer/signsgd.wasm"), n, limits=SMALL, engine=ENGINE)
        params = array.array("d", (float(i % 7) - 3 for i in range(n)))
        want = list(params)
        for t in range(steps):
            opt.step(t, params, params, sum(p * p for p in params) / 2)
            lr = 0.05 / math.sqrt(t + 1)
            want = [p - math.copysign(lr, p) if p != 0 else p for p in want]
        self.assertEqual(list(params), want)
        # Every call has its own allowance: the loop spends far more than one.
        self.assertGreater(opt.fuel_used, SMALL["fuel_per_task"])
        self.assertFalse(opt.tensors)

    def test_buffers(self):
        opt = ENGINE.load(testdata("examples/optimizer/signsgd.wasm"), "optimizer").optimizer(4)
        p = np.array([1.0, -2.0, 3.0, -4.0])
        opt.step(0, p, np.ones(4))
        self.assertEqual(p.tolist(), [0.95, -2.05, 2.95, -4.05])
        lst = [1.0, -1.0, 1.0, -1.0]
        opt.step(1, lst, (1.0, 1.0, -1.0, -1.0))  # a list is updated in place
        lr = 0.05 / math.sqrt(2)
        self.assertEqual(lst, [1 - lr, -1 - lr, 1 + lr, -1 + lr])
        ro = np.ones(4)
        ro.flags.writeable = False
        opt.step(2, p, ro)  # read-only gradients are fine
        for bad, msg in ((np.ones(4, dtype=np.float32), "<f4"), (np.ones(8)[::2], "not contiguous"),
                         (ro, "read-only"), ("text", "not a buffer"), (np.ones(3), "3 parameters")):
            with self.assertRaisesRegex(ValueError, msg):
                opt.step(3, bad, np.ones(4) if len(bad) != 3 else np.ones(3))
        opt.step(3, p, np.ones(4))  # and it carries on

    def test_a_table_for_a_tensor_aware_module(self):
        table = [arena.Tensor("wte", "embedding", 4, 3, 0), ("ln_f.g", "norm_gain", 1, 3, 12),
                 {"name": "head", "role": 10, "rows": 3, "cols": 4, "offset": 15}]
        opt = arena.Optimizer(rolesgd(), table=table, steps=7, engine=ENGINE)
        self.assertTrue(opt.tensors)
        self.assertEqual(opt.n, 27)
        self.assertEqual(opt.log, "init: 3 tensors, 7 steps\n"
                                  "wte embedding 4x3@0 hidden=false nil=true\n"
                                  "ln_f.g norm_gain 1x3@12 hidden=false nil=true\n"
                                  "head head 3x4@15 hidden=false nil=true\n")
        for table, msg in (([("a", "flat", 2, 2, 1)], "gap"), ([("a", "wheel", 2, 2, 0)], "unknown tensor role"),
                           ([("a", "flat", 1, 2, 0), ("a", "flat", 1, 2, 2)], "used twice"),
                           ([("x" * 32, "flat", 1, 1, 0)], "a name of 1 to 31 bytes")):
            with self.assertRaisesRegex(ValueError, msg):
                arena.Optimizer(rolesgd(), table=table, engine=ENGINE)
        with self.assertRaisesRegex(ValueError, "n is 5"):
            arena.Optimizer(rolesgd(), 5, table=[("a", "flat", 1, 4, 0)], engine=ENGINE)


class ModuleTest(unittest.TestCase):
    def test_module_info_and_limits(self):
        path = testdata("examples/optimizer/signsgd.wasm")
        with open(path, "rb") as f:
            b = f.read()
        mod = ENGINE.load(b, "optimizer", {"fuel_per_task": 5000})
        self.assertEqual(mod.sha256, hashlib.sha256(b).hexdigest())
        self.assertEqual(mod.size, len(b))
        self.assertEqual(mod.limits["fuel_per_task"], 5000)
        self.assertEqual(mod.limits["memory_pages"], 1024)  # a default
        for limits, msg in (({"fuel": 1}, 'unknown field "fuel"'), ({"fuel_per_task": 1}, "between 1000"),
                            ("{", "limits"), (7, "a dict")):
            with self.assertRaisesRegex(ValueError, msg):
                ENGINE.load(b, "optimizer", limits)
        with self.assertRaisesRegex(ValueError, "unknown kind"):
            ENGINE.load(b, "optimiser")
        with self.assertRaisesRegex(ValueError, "loaded as optimizer, not lr_schedule"):
            arena.Schedule(mod, 10)
        with self.assertRaisesRegex(ValueError, "limits and engine go with"):
            arena.Optimizer(mod, 4, limits={})
        with self.assertRaisesRegex(arena.ModuleRejected, "lr_init"):
            ENGINE.load(b, "lr_schedule")

    def test_closing(self):
        eng = arena.Engine()
        mod = eng.load(testdata("examples/optimizer/signsgd.wasm"), "optimizer")
        opt = mod.optimizer(2)
        mod.close()
        opt.step(0, array.array("d", [1, 2]), array.array("d", [1, 1]))  # outlives its module
        eng.close()
        with self.assertRaisesRegex(ValueError, "not open"):
            opt.step(1, array.array("d", [1, 2]), array.array("d", [1, 1]))
        with self.assertRaisesRegex(ValueError, "engine is closed"):
            eng.load(b"", "optimizer")
        opt.close()
        opt.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            opt.fuel_used

    def test_default_engine(self):
        opt = arena.Optimizer(testdata("examples/optimizer/signsgd.wasm"), 1)
        self.assertIs(opt.engine, arena.default_engine())

    def test_import_does_not_import_torch(self):
        code = "import sys, arena; assert 'torch' not in sys.modules; arena.torch.Optimizer; assert 'torch' in sys.modules"
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


class OtherKindsTest(unittest.TestCase):
    def test_schedule(self):
        sched = arena.Schedule(testdata("strategy/testdata/lineardecay.wasm"), 2000, limits=SMALL, engine=ENGINE)
        for t in (0, 500, 999):
            self.assertEqual(sched.lr(t, 1.0), 0.1 * (1 - t / 2000))
        with self.assertRaisesRegex(ValueError, "steps count from 0"):
            sched.lr(-1)
        with self.assertRaisesRegex(arena.ModuleFailed, r"returned -1 at step 1000; a learning rate must be between 0 and 1000"):
            sched.lr(1000)
        with self.assertRaises(arena.ModuleFailed):  # and it stays failed
            sched.lr(0)
        with self.assertRaisesRegex(ValueError, "a schedule runs 1"):
            arena.Schedule(testdata("strategy/testdata/lineardecay.wasm"), 0, engine=ENGINE)

    def test_gradient_codec(self):
        # prefix sends the first budget/8 values; the aggregator zeroes the rest.
        module = ENGINE.load(testdata("strategy/testdata/prefix.wasm"), "grad_compression")
        workers, n, budget = 2, 10, 32
        ws = [module.gradient_worker(k, workers, n, budget) for k in range(workers)]
        agg = module.gradient_aggregator(workers, n, budget)
        for t in range(3):
            for k, w in enumerate(ws):
                grad = np.arange(n, dtype=np.float64) + 10 * k + t
                msg = w.compress(t, grad)
                self.assertEqual(len(msg), budget)
                out = agg.decompress(k, t, msg)
                self.assertEqual(list(out), list(grad[:4]) + [0.0] * 6)
        with self.assertRaisesRegex(ValueError, "a gradient of 9 values"):
            ws[0].compress(3, np.zeros(9))
        with self.assertRaisesRegex(ValueError, "worker 2 of 2"):
            agg.decompress(2, 3, b"")
        with self.assertRaisesRegex(ValueError, "over the budget"):
            agg.decompress(0, 3, bytes(33))
        self.assertEqual(len(ws[0].compress(3, np.zeros(n))), budget)

    def test_activation_codec(self):
        module = ENGINE.load(testdata("strategy/testdata/copy.wasm"), "activation_compression")
        enc, dec = module.activation_encoder(1024), module.activation_decoder(1024)
        data = bytes(range(256)) * 2  # a 16×16 bfloat16 tensor
        msg = enc.compress(arena.BFLOAT16, 16, 16, data)
        self.assertEqual(msg, data)
        self.assertEqual(bytes(dec.decompress(arena.BFLOAT16, 16, 16, msg)), data)
        out = np.zeros(512, dtype=np.uint8)
        dec.decompress(arena.BFLOAT16, 16, 16, msg, out)
        self.assertEqual(out.tobytes(), data)
        self.assertEqual(enc.capacity, arena.activation_capacity(1024))
        for args, msg in (((2, 16, 16, data), "dtype 2"), ((arena.FLOAT32, 16, 16, data), "is 1024 bytes, not 512"),
                          ((arena.BFLOAT16, 0, 16, b""), "at least 1")):
            with self.assertRaisesRegex(ValueError, msg):
                enc.compress(*args)
        with self.assertRaisesRegex(ValueError, "over the codec's 1024"):
            enc.compress(arena.FLOAT32, 16, 32, bytes(2048))
        self.assertEqual(enc.compress(arena.FLOAT32, 2, 2, bytes(16)), bytes(16))
        with self.assertRaisesRegex(ValueError, "direction 2"):
            enc.compress(arena.BFLOAT16, 16, 16, data, direction=2)
        with self.assertRaisesRegex(ValueError, "direction -1"):
            dec.decompress(arena.BFLOAT16, 16, 16, data, direction=-1)

    def test_activation_codec_is_told_the_direction(self):
        # The fixture's decoder traps unless it is told the direction its
        # encoder wrote into the message.
        module = ENGINE.load(testdata("strategy/testdata/direction.wasm"), "activation_compression")
        enc = module.activation_encoder(64)
        data = bytes(range(64))
        for direction in (arena.FORWARD, arena.BACKWARD):
            dec = module.activation_decoder(64)
            msg = enc.compress(arena.BFLOAT16, 4, 8, data, direction=direction)
            self.assertEqual(msg, bytes([direction]) + data)
            self.assertEqual(bytes(dec.decompress(arena.BFLOAT16, 4, 8, msg, direction=direction)), data)
            with self.assertRaises(arena.ModuleFailed):
                dec.decompress(arena.BFLOAT16, 4, 8, msg, direction=1 - direction)

    def test_activation_stages(self):
        # keyed.wasm codes the gradient with the key the stage's instance
        # kept from the activation: a pair of stages passes it on.
        module = ENGINE.load(testdata("strategy/testdata/keyed.wasm"), "activation_compression")
        a, b = module.activation_stage(64, True), arena.ActivationStage(module, 64, first=False)
        self.assertEqual((a.first, b.first, a.capacity), (True, False, arena.activation_capacity(64)))
        x, g = bytes(range(64)), bytes(range(100, 164))
        msg = a.compress(arena.BFLOAT16, 4, 8, x)
        key = msg[0]
        self.assertEqual(bytes(b.decompress(arena.BFLOAT16, 4, 8, msg)), x)
        msg = b.compress(arena.BFLOAT16, 4, 8, g, direction=arena.BACKWARD)
        self.assertEqual(msg, bytes(v ^ key for v in g))
        self.assertEqual(bytes(a.decompress(arena.BFLOAT16, 4, 8, msg, direction=arena.BACKWARD)), g)
        # The encoder's and decoder's checks, from the same code.
        with self.assertRaisesRegex(ValueError, "direction 2"):
            a.compress(arena.BFLOAT16, 4, 8, x, direction=2)
        with self.assertRaisesRegex(ValueError, "is 64 bytes, not 32"):
            a.decompress(arena.BFLOAT16, 4, 8, msg, out=bytearray(32))
        with self.assertRaisesRegex(ValueError, "over the codec's 64"):
            a.compress(arena.FLOAT32, 4, 8, bytes(128))
        with self.assertRaisesRegex(ValueError, "over the codec's capacity"):
            a.decompress(arena.BFLOAT16, 4, 8, bytes(a.capacity + 1), direction=arena.BACKWARD)
        with self.assertRaisesRegex(ValueError, "first is True"):
            arena.ActivationStage(module, 64, 2)
        self.assertGreater(a.fuel_used, 0)
        a.close()
        with self.assertRaisesRegex(ValueError, "ActivationStage is closed"):
            a.compress(arena.BFLOAT16, 4, 8, x)
        self.assertEqual(bytes(b.decompress(arena.BFLOAT16, 4, 8, b"\x01" + bytes(64))), bytes([1]) * 64)


if __name__ == "__main__":
    unittest.main()
