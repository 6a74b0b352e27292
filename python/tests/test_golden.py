"""The Python path gives the same bits as package strategy: both run here,
now, on the same float64 inputs (cabi/goref is the Go side)."""

import random
import unittest

import numpy as np
import torch

import arena
import arena.torch
from util import ENGINE, example, goref, goref_cut, testdata

LIMITS = {"fuel_per_task": 200_000_000}


def inputs(n, seed):
    r = random.Random(seed)
    params = [r.uniform(-1, 1) for _ in range(n)]
    a = [r.uniform(0.5, 1.5) for _ in range(n)]
    b = [r.uniform(-1, 1) for _ in range(n)]
    return params, a, b


def python_run(opt, params, a, b, losses):
    p, a, b = np.array(params), np.array(a), np.array(b)
    for t, loss in enumerate(losses):
        g = p * a - b  # rounded after each operation, as goref's float64(p·a) - b
        opt.step(t, p, g, loss)
    return p.tolist()


class BitsTest(unittest.TestCase):
    def test_flat_adam(self):
        n, losses = 300, [1.0 / (t + 1) for t in range(40)]
        params, a, b = inputs(n, 1)
        wasm = example("optimizer", "adam")
        opt = arena.Optimizer(wasm, n, limits=LIMITS, engine=ENGINE)
        got = python_run(opt, params, a, b, losses)
        want = goref(wasm, params, a, b, losses, limits=LIMITS)
        self.assertEqual(got, want["params"])
        self.assertEqual(opt.fuel_used, want["fuel"])  # the same work, too
        self.assertNotEqual(got, params)

    def test_the_hand_written_adam_is_the_go_example(self):
        # python/bench.py compares the two as the same rule.
        n, losses = 257, [1.0] * 30
        params, a, b = inputs(n, 5)
        hand = arena.Optimizer(testdata("python/testdata/adam.wasm"), n, engine=ENGINE)
        go = arena.Optimizer(example("optimizer", "adam"), n, limits=LIMITS, engine=ENGINE)
        self.assertEqual(python_run(hand, params, a, b, losses), python_run(go, params, a, b, losses))
        self.assertLess(hand.fuel_used, go.fuel_used)

    def test_adamw_with_a_table(self):
        table = [arena.Tensor("wte", "embedding", 32, 8, 0), arena.Tensor("h0.attn.q", "attn_q", 8, 8, 256),
                 arena.Tensor("h0.mlp.in", "mlp_in", 8, 32, 320), arena.Tensor("ln_f.g", "norm_gain", 1, 8, 576),
                 arena.Tensor("lm_head", "head", 8, 32, 584)]
        n, steps = 840, 25
        losses = [2.0 - t / 100 for t in range(steps)]
        params, a, b = inputs(n, 2)
        wasm = example("optimizer", "adamw")
        opt = arena.Optimizer(wasm, table=table, steps=steps, limits=LIMITS, engine=ENGINE)
        self.assertTrue(opt.tensors)
        got = python_run(opt, params, a, b, losses)
        want = goref(wasm, params, a, b, losses, table=table, steps=steps, limits=LIMITS)
        self.assertTrue(want["tensors"])
        self.assertEqual(got, want["params"])
        self.assertEqual(opt.fuel_used, want["fuel"])

    def test_muon_through_torch(self):
        # arena.torch.Optimizer on a float64 model: the test lays the model
        # out itself (Linear weights transposed to [in × out]) and hands
        # that to goref; the final parameters must agree bit for bit.
        torch.manual_seed(3)
        model = torch.nn.ModuleDict({
            "wte": torch.nn.Embedding(24, 8),
            "ln": torch.nn.LayerNorm(8),
            "fc": torch.nn.Linear(8, 32, bias=False),
            "proj": torch.nn.Linear(32, 8, bias=False),
            "lm_head": torch.nn.Linear(8, 24, bias=False),
        }).double()
        steps = 12
        wasm = example("optimizer", "muon")
        opt = arena.torch.Optimizer(model, wasm, steps=steps, limits=LIMITS, engine=ENGINE)
        roles = [t.role for t in opt.table]
        self.assertEqual(roles, ["embedding", "norm_gain", "flat", "mlp_in", "mlp_out", "head"])

        def flat(tensors):
            parts = []
            for name, p in model.named_parameters():
                v = tensors[name]
                parts.append((v.t() if name in ("fc.weight", "proj.weight", "lm_head.weight") else v).reshape(-1))
            return torch.cat(parts).tolist()

        gen = torch.Generator().manual_seed(4)
        a = {n: torch.rand(p.shape, generator=gen, dtype=torch.float64) + 0.5 for n, p in model.named_parameters()}
        b = {n: torch.rand(p.shape, generator=gen, dtype=torch.float64) - 0.5 for n, p in model.named_parameters()}
        start = flat({n: p.detach().clone() for n, p in model.named_parameters()})
        losses = [1.5 - t / 50 for t in range(steps)]
        for t in range(steps):
            for n, p in model.named_parameters():
                p.grad = p.detach() * a[n] - b[n]
            opt.step(loss=losses[t])
        got = flat({n: p.detach() for n, p in model.named_parameters()})
        want = goref(wasm, start, flat(a), flat(b), losses, table=opt.table, steps=steps, limits=LIMITS)
        self.assertEqual(got, want["params"])
        self.assertNotEqual(got, start)
        self.assertEqual(opt.fuel_used, want["fuel"])


def wire(t):
    """A bfloat16 tensor's little-endian bytes, as they cross the cut."""
    return t.contiguous().view(torch.int16).numpy().tobytes()


def through(cut, xs, gs):
    """Sends each x forward through cut and its g back; returns the
    messages in the order they were sent (each step's forward one, then
    its backward one) and, per step, what came out each way."""
    sent = []
    for stage in cut.stages:
        def record(x, direction, encode=stage.encode):
            msg = encode(x, direction)
            sent.append(msg)
            return msg
        stage.encode = record
    out = []
    for x, g in zip(xs, gs):
        x = x.clone().requires_grad_()
        y = cut(x)
        y.backward(g)
        out.append((wire(y.detach()), wire(x.grad)))
    return sent, out


class CutTest(unittest.TestCase):
    ROWS, COLS, STEPS = 8, 16, 3
    SIZE = ROWS * COLS * 2

    def tensors(self, seed):
        gen = torch.Generator().manual_seed(seed)
        return [torch.randn(self.ROWS, self.COLS, generator=gen).bfloat16() for _ in range(self.STEPS)]

    def test_a_cut_is_the_benchmarks_two_stages(self):
        # arena.torch.ActivationCut's messages, tensors and fuel are those
        # of two strategy.ActivationStage sent across as scoring does.
        # keyed.wasm codes each gradient with the key its instance kept
        # from the forward pass, so a cut of an instance per direction and
        # side would send other backward messages (see below).
        xs, gs = self.tensors(1), self.tensors(2)
        for wasm in (testdata("strategy/testdata/keyed.wasm"), example("activation_compression", "int8"),
                     example("activation_compression", "lowrank")):
            with self.subTest(wasm):
                cut = arena.torch.ActivationCut(wasm, self.SIZE, limits=LIMITS, engine=ENGINE)
                sent, out = through(cut, xs, gs)
                want = goref_cut(wasm, self.SIZE, arena.BFLOAT16, self.ROWS, self.COLS,
                                 [(wire(x), wire(g)) for x, g in zip(xs, gs)], limits=LIMITS)
                for t, step in enumerate(want["steps"]):
                    self.assertEqual(sent[2 * t], step["forward_msg"], "step %d forward message" % t)
                    self.assertEqual(sent[2 * t + 1], step["backward_msg"], "step %d backward message" % t)
                    self.assertEqual(out[t], (step["forward"], step["backward"]), "step %d tensors" % t)
                self.assertEqual([s.fuel_used for s in cut.stages], want["fuel"])

    def test_separate_instances_differ_for_a_stateful_codec(self):
        # What the previous test rules out: with its own encoder and
        # decoder per direction, keyed.wasm's backward encoder never saw
        # the forward key, so its messages are not the benchmark's.
        wasm = testdata("strategy/testdata/keyed.wasm")
        xs, gs = self.tensors(1), self.tensors(2)
        want = goref_cut(wasm, self.SIZE, arena.BFLOAT16, self.ROWS, self.COLS,
                         [(wire(x), wire(g)) for x, g in zip(xs, gs)], limits=LIMITS)
        kw = dict(limits=LIMITS, engine=ENGINE)
        fwd = arena.torch.ActivationEncoder(wasm, self.SIZE, **kw), arena.torch.ActivationDecoder(wasm, self.SIZE, **kw)
        bwd = arena.torch.ActivationEncoder(wasm, self.SIZE, **kw), arena.torch.ActivationDecoder(wasm, self.SIZE, **kw)
        for t, (x, g) in enumerate(zip(xs, gs)):
            self.assertEqual(fwd[0].encode(x, arena.FORWARD), want["steps"][t]["forward_msg"])
            msg = bwd[0].encode(g, arena.BACKWARD)
            self.assertEqual(msg, wire(g))  # sent raw: no key
            self.assertNotEqual(msg, want["steps"][t]["backward_msg"])


if __name__ == "__main__":
    unittest.main()
