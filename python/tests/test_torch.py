"""arena.torch in real PyTorch loops: the optimizer against torch's own,
the tensor table a module sees, dtypes, the scheduler and both codecs."""

import io
import os
import re
import struct
import subprocess
import sys
import unittest

import torch
import torch.nn.functional as F

import arena
import arena.torch
from util import ENGINE, REPO, example, fixture, rolesgd, testdata

BIG = {"fuel_per_task": 1_000_000_000}


class Attention(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = torch.nn.Linear(d, d, bias=False)
        self.k_proj = torch.nn.Linear(d, d, bias=False)
        self.v_proj = torch.nn.Linear(d, d, bias=False)
        self.o_proj = torch.nn.Linear(d, d, bias=False)

    def forward(self, x):
        B, T, D = x.shape
        h = self.heads

        def split(y):
            return y.view(B, T, h, D // h).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        att = (q @ k.transpose(-2, -1)) / (D // h) ** 0.5
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        return self.o_proj((att @ v).transpose(1, 2).reshape(B, T, D))


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(d)
        self.attn = Attention(d, heads)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.Sequential()
        self.mlp.add_module("fc", torch.nn.Linear(d, 4 * d))
        self.mlp.add_module("act", torch.nn.GELU())
        self.mlp.add_module("proj", torch.nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TinyLM(torch.nn.Module):
    """A decoder-only transformer, GPT-2's layout and names in miniature."""

    def __init__(self, vocab=32, d=16, context=8, layers=2, heads=2):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(context, d)
        self.h = torch.nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d)
        self.lm_head = torch.nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def lm_batch(gen, vocab=32, batch=16, context=9):
    """Sequences of a fixed rule, x[t+1] = 3·x[t] + 1 mod vocab, from random starts."""
    x = torch.randint(0, vocab, (batch, 1), generator=gen)
    seq = [x]
    for _ in range(context - 1):
        seq.append((seq[-1] * 3 + 1) % vocab)
    s = torch.cat(seq, 1)
    return s[:, :-1], s[:, 1:]


def lm_loss(model, batch):
    x, y = batch
    return F.cross_entropy(model(x).reshape(-1, model.lm_head.out_features), y.reshape(-1))


def mlp(seed, dtype=torch.float32):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)).to(dtype)


class OptimizerTest(unittest.TestCase):
    def test_adam_follows_torch_adam(self):
        # The shipped Adam example (lr 0.01, β 0.9/0.999, ε 1e-8) against
        # torch.optim.Adam with the same hyperparameters, step by step.
        for dtype, tol in ((torch.float32, 1e-5), (torch.float64, 1e-12)):
            with self.subTest(dtype=dtype):
                gen = torch.Generator().manual_seed(1)
                X, Y = torch.randn(64, 8, generator=gen, dtype=dtype), torch.randn(64, 1, generator=gen, dtype=dtype)
                ours, theirs = mlp(0, dtype), mlp(0, dtype)
                opt = arena.torch.Optimizer(ours.named_parameters(), example("optimizer", "adam"), limits=BIG, engine=ENGINE)
                ref = torch.optim.Adam(theirs.parameters(), lr=0.01, betas=(0.9, 0.999), eps=1e-8)
                for step in range(100):
                    for model, o in ((ours, opt), (theirs, ref)):
                        o.zero_grad()
                        loss = F.mse_loss(model(X), Y)
                        loss.backward()
                        if o is opt:
                            o.step(loss=loss.item())
                        else:
                            o.step()
                    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
                        diff = (p - q).abs().max().item()
                        self.assertLessEqual(diff, tol, "step %d %s: %g" % (step, name, diff))
                self.assertEqual(opt.t, 100)
                self.assertLess(loss.item(), 0.5)

    def test_the_table_a_module_sees(self):
        # rolesgd prints the table it was given; the roles come from the
        # module types and names, Linear weights [in × out].
        torch.manual_seed(0)
        model = TinyLM(vocab=32, d=16, context=8, layers=1)
        steps = 30
        opt = arena.torch.Optimizer(model, rolesgd(), steps=steps, limits=BIG, engine=ENGINE)
        self.assertTrue(opt.tensors)
        want = [("wte.weight", "embedding", 32, 16), ("wpe.weight", "position", 8, 16),
                ("h.0.ln_1.weight", "norm_gain", 1, 16), ("h.0.ln_1.bias", "flat", 1, 16),
                ("h.0.attn.q_proj.weight", "attn_q", 16, 16), ("h.0.attn.k_proj.weight", "attn_k", 16, 16),
                ("h.0.attn.v_proj.weight", "attn_v", 16, 16), ("h.0.attn.o_proj.weight", "attn_o", 16, 16),
                ("h.0.ln_2.weight", "norm_gain", 1, 16), ("h.0.ln_2.bias", "flat", 1, 16),
                ("h.0.mlp.fc.weight", "mlp_in", 16, 64), ("h.0.mlp.fc.bias", "flat", 1, 64),
                ("h.0.mlp.proj.weight", "mlp_out", 64, 16), ("h.0.mlp.proj.bias", "flat", 1, 16),
                ("ln_f.weight", "norm_gain", 1, 16), ("ln_f.bias", "flat", 1, 16), ("lm_head.weight", "head", 16, 32)]
        log, offset = "init: %d tensors, %d steps\n" % (len(want), steps), 0
        hidden = ("attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out")
        for name, role, rows, cols in want:
            log += "%s %s %dx%d@%d hidden=%s nil=true\n" % (name, role, rows, cols, offset, str(role in hidden).lower())
            offset += rows * cols
        self.assertEqual(opt.log, log)
        # The same rules from bare named parameters.
        self.assertEqual([(e.name, e.role, e.rows, e.cols) for e in arena.torch.TensorLayout(model.named_parameters()).entries], want)

        # One step: SGD at each role's rate, in float64, rounded to float32.
        gen = torch.Generator().manual_seed(2)
        lm_loss(model, lm_batch(gen)).backward()
        before = {n: (p.detach().double(), p.grad.double()) for n, p in model.named_parameters()}
        opt.step(loss=1.0)
        for (name, role, _, _), (n, p) in zip(want, model.named_parameters()):
            lr = 0.1 if role == "embedding" else 0.01
            rate = float(lr * float(steps - 0)) / float(steps)
            p0, g = before[n]
            self.assertTrue(torch.equal(p.detach(), (p0 - rate * g).float()), name)

    def test_dtypes_and_shapes(self):
        # abi_v1 steps plain SGD, p -= g/8. Each tensor comes back in its
        # own dtype, rounded from the float64 result; a parameter without a
        # gradient gets zeros; scalars and 3-D tensors are laid out too. A
        # bare "weight" is taken for a Linear's and transposed; another 2-D
        # parameter is used as it is stored.
        torch.manual_seed(5)
        params = [("bf16.weight", torch.nn.Parameter(torch.randn(4, 6).bfloat16())),
                  ("f32", torch.nn.Parameter(torch.randn(6))),
                  ("f64", torch.nn.Parameter(torch.randn(3, 2, 4, dtype=torch.float64))),
                  ("f64.weight", torch.nn.Parameter(torch.randn(3, 5, dtype=torch.float64))),
                  ("scalar", torch.nn.Parameter(torch.tensor(2.5, dtype=torch.float16))),
                  ("nograd", torch.nn.Parameter(torch.randn(2, 2)))]
        opt = arena.torch.Optimizer(params, fixture("abi_v1"), engine=ENGINE)
        self.assertEqual([(t.rows, t.cols) for t in opt.table], [(6, 4), (1, 6), (3, 8), (5, 3), (1, 1), (2, 2)])
        before = {}
        for name, p in params:
            if name != "nograd":
                p.grad = torch.randn(p.shape).to(p.dtype)
            before[name] = (p.detach().clone(), None if p.grad is None else p.grad.clone())
        opt.step()
        for name, p in params:
            p0, g = before[name]
            want = p0 if g is None else (p0.double() - g.double() * 0.125).to(p0.dtype)
            self.assertEqual(p.dtype, p0.dtype)
            self.assertTrue(torch.equal(p.detach(), want), name)

    def test_explicit_roles_and_bad_input(self):
        model = mlp(0)
        layout = arena.torch.TensorLayout(model, roles={"0.weight": "attn_v", "2.bias": 10}, transpose={"0.weight": False})
        self.assertEqual([(e.role, e.transposed) for e in layout.entries],
                         [("attn_v", False), ("flat", False), ("mlp_out", True), ("head", False)])
        self.assertEqual([e.transposed for e in arena.torch.TensorLayout(model, transpose=False).entries], [False] * 4)
        for kw, msg in (({"roles": {"nope": "flat"}}, "does not have: nope"), ({"roles": {"0.bias": "wheel"}}, "unknown role"),
                        ({"transpose": {"0.bias": True}}, "only a 2-D tensor")):
            with self.assertRaisesRegex(ValueError, msg):
                arena.torch.TensorLayout(model, **kw)
        with self.assertRaisesRegex(ValueError, "tied weights"):
            w = torch.nn.Parameter(torch.zeros(2, 2))
            arena.torch.TensorLayout([("a", w), ("b", w)])
        opt = arena.torch.Optimizer(model, example("optimizer", "adam"), limits=BIG, engine=ENGINE)
        with self.assertRaisesRegex(ValueError, "fixed by its tensor table"):
            opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))]})
        # Long names are cut to the table's 31 bytes, uniquely.
        long = [("transformer.h.%d.attention.query_key_value.weight" % i, torch.nn.Parameter(torch.zeros(2, 2))) for i in range(12)]
        names = [t.name for t in arena.torch.TensorLayout(long).table]
        self.assertEqual(len(set(names)), 12)
        self.assertTrue(all(len(n.encode()) <= 31 for n in names), names)
        self.assertEqual(names[10], "h.10.attention.query_key_value")

    def test_multihead_attention(self):
        # nn.MultiheadAttention's in_proj_weight is a fused q, k, v Linear
        # weight: transposed, and flat for want of one role.
        m = torch.nn.Module()
        m.attn = torch.nn.MultiheadAttention(8, 2, bias=False)
        for params in (m, m.named_parameters()):
            self.assertEqual([(e.name, e.role, e.rows, e.cols, e.transposed) for e in arena.torch.TensorLayout(params).entries],
                             [("attn.in_proj_weight", "flat", 8, 24, True), ("attn.out_proj.weight", "attn_o", 8, 8, True)])

    def test_the_example_trains(self):
        # python/example.py, which the README walks through: it trains, and
        # carries on with AdamW when the module fails.
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
        script = os.path.join(REPO, "python", "example.py")
        out = subprocess.run([sys.executable, script, example("optimizer", "adam"), "--steps", "41"],
                             capture_output=True, check=True, env=env, text=True).stdout
        losses = [float(x) for x in re.findall(r"loss (\d+\.\d+)", out)]
        self.assertLess(losses[-1], 0.5 * losses[0], out)
        self.assertIn("fuel used:", out)
        out = subprocess.run([sys.executable, script, fixture("trap"), "--steps", "41"],
                             capture_output=True, check=True, env=env, text=True).stdout
        self.assertIn("the module cannot run (strategy failed: arena_alloc: returned [0x400, 0x21f00), outside memory of 65536 bytes); training with torch's AdamW", out)
        losses = [float(x) for x in re.findall(r"loss (\d+\.\d+)", out)]
        self.assertLess(losses[-1], losses[0], out)

    def test_a_failure_leaves_the_parameters(self):
        model = mlp(0)
        opt = arena.torch.Optimizer(model, fixture("trap"), engine=ENGINE)
        F.mse_loss(model(torch.ones(2, 8)), torch.zeros(2, 1)).backward()
        before = [p.detach().clone() for p in model.parameters()]
        with self.assertRaisesRegex(arena.ModuleFailed, "unreachable"):
            opt.step()
        with self.assertRaises(arena.ModuleFailed):
            opt.step()
        for p, q in zip(model.parameters(), before):
            self.assertTrue(torch.equal(p.detach(), q))
        # A fresh optimizer takes over.
        arena.torch.Optimizer(model, example("optimizer", "adam"), limits=BIG, engine=ENGINE).step()
        self.assertFalse(torch.equal(next(model.parameters()).detach(), before[0]))

    def test_tensor_aware_examples_train_a_transformer(self):
        for name in ("adamw", "muon"):
            with self.subTest(name):
                torch.manual_seed(0)
                model = TinyLM()
                steps = 60
                opt = arena.torch.Optimizer(model.named_parameters(), example("optimizer", name), steps=steps, limits=BIG, engine=ENGINE)
                self.assertTrue(opt.tensors)
                gen = torch.Generator().manual_seed(1)
                losses = []
                for _ in range(steps):
                    loss = lm_loss(model, lm_batch(gen))
                    loss.backward()
                    opt.step(loss=loss)
                    opt.zero_grad()
                    losses.append(loss.item())
                self.assertLess(sum(losses[-5:]) / 5, 0.7 * sum(losses[:5]) / 5, losses)


class SchedulerTest(unittest.TestCase):
    def test_a_schedule_drives_adamw(self):
        torch.manual_seed(0)
        model = mlp(0)
        total = 50
        adamw = torch.optim.AdamW(model.parameters(), lr=1.0)
        sched = arena.torch.LRScheduler(adamw, example("lr_schedule", "cosine"), total, engine=ENGINE)
        check = arena.Schedule(example("lr_schedule", "cosine"), total, engine=ENGINE)
        gen = torch.Generator().manual_seed(1)
        X, Y = torch.randn(64, 8, generator=gen), torch.randn(64, 1, generator=gen)
        used = []
        for t in range(total):
            loss = F.mse_loss(model(X), Y)
            loss.backward()
            used.append(adamw.param_groups[0]["lr"])
            self.assertEqual(used[-1], check.lr(t))
            self.assertEqual(sched.get_last_lr(), [used[-1]])
            adamw.step()
            adamw.zero_grad()
            sched.step(loss.item())
        # Warmup to the peak the example ships (baseline.CosinePeak, 0.05),
        # then a half cosine down to 0.
        peak = max(used)
        self.assertAlmostEqual(peak, 0.05, places=9)
        self.assertLess(used[0], peak)
        self.assertLess(used[-1], 0.01)
        after = used[used.index(peak):]
        self.assertEqual(after, sorted(after, reverse=True))
        self.assertEqual(adamw.param_groups[0]["lr"], used[-1])  # no rate past the run
        buf = io.BytesIO()
        torch.save(sched.state_dict(), buf)  # checkpoints like torch's own


class GradientCodecTest(unittest.TestCase):
    def test_the_layout_reaches_the_message(self):
        # prefix sends the first budget/8 values of the flat gradient: a
        # Linear weight's, transposed to [in × out].
        layer = torch.nn.Linear(3, 5, bias=False)
        layer.weight.grad = torch.arange(15.0).view(5, 3)
        w = arena.torch.GradientCompressor(layer, testdata("strategy/testdata/prefix.wasm"), 0, 1, 32, engine=ENGINE)
        msg = w.compress(0)
        self.assertEqual(list(struct.unpack("<4d", msg)), layer.weight.grad.t().reshape(-1)[:4].tolist())
        agg = arena.torch.GradientAggregator(layer, testdata("strategy/testdata/prefix.wasm"), 1, 32, engine=ENGINE)
        mean = agg.aggregate(0, [msg])
        self.assertEqual(mean.tolist()[:4], [0.0, 3.0, 6.0, 9.0])
        self.assertEqual(layer.weight.grad[:, 0].tolist(), [0.0, 3.0, 6.0, 9.0, 0.0])

    def test_data_parallel_training(self):
        # Two ranks, each with its own shard, through topk-ef. With room for
        # every coordinate the aggregate is the plain mean, bit for bit;
        # with an eighth of them, training still converges.
        gen = torch.Generator().manual_seed(1)
        X, Y = torch.randn(64, 8, generator=gen), torch.randn(64, 1, generator=gen)
        shards = [(X[:32], Y[:32]), (X[32:], Y[32:])]
        module = ENGINE.load(example("grad_compression", "topk-ef"), "grad_compression", BIG)

        def train(model, budget, steps=30):
            n = sum(p.numel() for p in model.parameters())
            workers = [arena.torch.GradientCompressor(model, module, k, 2, budget or 8 * n) for k in range(2)]
            agg = arena.torch.GradientAggregator(model, module, 2, budget or 8 * n)
            sgd = torch.optim.SGD(model.parameters(), lr=0.1)
            losses = []
            for t in range(steps):
                msgs, total = [], 0.0
                for k, (x, y) in enumerate(shards):
                    sgd.zero_grad()
                    loss = F.mse_loss(model(x), y)
                    loss.backward()
                    total += loss.item()
                    msgs.append(workers[k].compress(t))
                    self.assertLessEqual(len(msgs[-1]), budget or 8 * n)
                agg.aggregate(t, msgs)
                sgd.step()
                losses.append(total / 2)
            return losses

        def plain(model, steps=30):
            sgd = torch.optim.SGD(model.parameters(), lr=0.1)
            for t in range(steps):
                grads = []
                for x, y in shards:
                    sgd.zero_grad()
                    F.mse_loss(model(x), y).backward()
                    grads.append([p.grad.double() for p in model.parameters()])
                for p, g0, g1 in zip(model.parameters(), *grads):
                    p.grad = ((g0 + g1) * 0.5).float()
                sgd.step()

        full, ref = mlp(0), mlp(0)
        train(full, None)
        plain(ref)
        for p, q in zip(full.parameters(), ref.parameters()):
            self.assertTrue(torch.equal(p, q))
        small = mlp(0)
        n = sum(p.numel() for p in small.parameters())
        losses = train(small, 8 * (n // 8), steps=60)
        self.assertLess(losses[-1], 0.8 * losses[0], losses)


class _CastCut(torch.autograd.Function):
    """The reference cut: a bfloat16 round trip each way."""

    @staticmethod
    def forward(ctx, x):
        return x.bfloat16().float()

    @staticmethod
    def backward(ctx, g):
        return g.bfloat16().float()


class ActivationCodecTest(unittest.TestCase):
    def test_a_pipeline_cut(self):
        # A lossless codec at a cut gives exactly what a bfloat16 round trip
        # gives, forward and backward, through a whole training run.
        gen = torch.Generator().manual_seed(1)
        X, Y = torch.randn(16, 8, generator=gen), torch.randn(16, 1, generator=gen)
        for name in ("byteplane", "identity"):
            with self.subTest(name):
                cut = arena.torch.ActivationCut(example("activation_compression", name), 16 * 32 * 4, limits=BIG, engine=ENGINE)
                ours, ref = mlp(0), mlp(0)
                for model, through in ((ours, cut), (ref, _CastCut.apply)):
                    sgd = torch.optim.SGD(model.parameters(), lr=0.05)
                    for _ in range(20):
                        sgd.zero_grad()
                        h = torch.tanh(model[0](X))
                        F.mse_loss(model[2](through(h)), Y).backward()
                        sgd.step()
                for p, q in zip(ours.parameters(), ref.parameters()):
                    self.assertTrue(torch.equal(p, q))
                self.assertEqual(cut.bytes_raw, 2 * 20 * 16 * 32 * 2)
                if name == "identity":
                    self.assertEqual(cut.bytes_sent, cut.bytes_raw)

    def test_a_lossy_cut(self):
        # int8 at the cut: the forward activation and the backward gradient
        # each cross as 8-bit rows, close to what went in, in 18 of 32
        # bytes a row of 16 bfloat16 values.
        cut = arena.torch.ActivationCut(example("activation_compression", "int8"), 64 * 16 * 2, limits=BIG, engine=ENGINE)
        x = torch.randn(64, 16, requires_grad=True)
        y = cut(x)
        self.assertGreater(F.cosine_similarity(y.detach().flatten(), x.detach().flatten(), dim=0).item(), 0.999)
        g = torch.randn(64, 16)
        y.backward(g)
        self.assertGreater(F.cosine_similarity(x.grad.flatten(), g.flatten(), dim=0).item(), 0.999)
        self.assertFalse(torch.equal(x.grad, g.bfloat16().float()))
        self.assertEqual((cut.bytes_raw, cut.bytes_sent), (2 * 64 * 16 * 2, 2 * 64 * 18))

    def test_the_cut_passes_the_direction(self):
        cut = arena.torch.ActivationCut(testdata("strategy/testdata/direction.wasm"), 8 * 4 * 2, limits=BIG, engine=ENGINE)
        x = torch.randn(8, 4, requires_grad=True)
        cut(x).sum().backward()
        self.assertTrue(torch.equal(x.grad, torch.ones(8, 4)))
        self.assertEqual(cut.bytes_sent, cut.bytes_raw + 2)

    def test_encoder_and_decoder(self):
        module = ENGINE.load(example("activation_compression", "byteplane"), "activation_compression", BIG)
        enc, dec = arena.torch.ActivationEncoder(module, 1 << 16), arena.torch.ActivationDecoder(module, 1 << 16)
        x = torch.randn(4, 8, 32).bfloat16()  # [batch, tokens, width]: sent as 32 × 32
        msg = enc.encode(x)
        self.assertTrue(torch.equal(dec.decode(msg, x.shape, torch.bfloat16), x))
        y = torch.randn(8, 16)
        self.assertTrue(torch.equal(dec.decode(enc.encode(y), y.shape, torch.float32), y))
        with self.assertRaisesRegex(ValueError, "bfloat16 or float32"):
            enc.encode(torch.zeros(4, dtype=torch.float64))


if __name__ == "__main__":
    unittest.main()
