"""Times arena.torch.Optimizer's step next to torch.optim.AdamW's on the
same 1M-parameter transformer, on CPU, and how much of the bridge's step
is copying.

    make bench-python        # or: PYTHONPATH=python python3 python/bench.py

The bridge runs four modules: the shipped AdamW (examples/optimizer/adamw,
Go-built, ABI v2) and Adam (Go-built, ABI v1), a hand-written Adam with the
same arithmetic as the Go one (python/testdata/adam.wat), and a module
whose step does nothing (python/testdata/null.wat), which costs the copies
alone: the parameters and gradients into float64 on the Python side, into
the sandbox's memory and back on the Go side. The null module runs once
more with transpose=False, which leaves Linear weights [out × in] and
skips the transposes. Rounds alternate between the contenders so that a
busy machine slows all of them alike; the table shows medians. One thread
for torch, as the module has one.
"""

import argparse
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

import torch  # noqa: E402

import arena  # noqa: E402
import arena.torch  # noqa: E402

REPO = os.path.dirname(here)


class Block(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(d)
        self.attn = torch.nn.ModuleDict({k: torch.nn.Linear(d, d, bias=False) for k in ("q_proj", "k_proj", "v_proj", "o_proj")})
        self.ln_2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.ModuleDict({"fc": torch.nn.Linear(d, 4 * d), "proj": torch.nn.Linear(4 * d, d)})

    def forward(self, x):
        h = self.ln_1(x)
        B, T, D = h.shape
        q, k, v = (self.attn[n](h) for n in ("q_proj", "k_proj", "v_proj"))
        att = torch.softmax((q @ k.transpose(1, 2)) / D ** 0.5 + torch.triu(torch.full((T, T), float("-inf")), 1), -1)
        x = x + self.attn["o_proj"](att @ v)
        return x + self.mlp["proj"](torch.nn.functional.gelu(self.mlp["fc"](self.ln_2(x))))


class LM(torch.nn.Module):
    def __init__(self, vocab=1024, d=128, layers=4, context=64):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(context, d)
        self.h = torch.nn.ModuleList([Block(d) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d)
        self.lm_head = torch.nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.h:
            x = b(x)
        return self.lm_head(self.ln_f(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=3, help="steps per contender per round")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = LM()
    n = sum(p.numel() for p in model.parameters())
    idx = torch.randint(0, 1024, (8, 64))
    loss = torch.nn.functional.cross_entropy(model(idx).reshape(-1, 1024), idx.reshape(-1))
    loss.backward()

    limits = {"fuel_per_task": 10**10, "memory_pages": 2048}
    engine = arena.Engine()
    mods = [("arena adamw (Go-built example, ABI v2)", os.path.join(REPO, "bin", "examples", "optimizer-adamw.wasm")),
            ("arena adam (Go-built example, ABI v1)", os.path.join(REPO, "bin", "examples", "optimizer-adam.wasm")),
            ("arena adam (hand-written wat)", os.path.join(here, "testdata", "adam.wasm")),
            ("arena null (copies only)", os.path.join(here, "testdata", "null.wasm")),
            ("arena null, transpose=False", os.path.join(here, "testdata", "null.wasm"))]
    for _, path in mods:
        if not os.path.isfile(path):
            sys.exit("bench: %s is missing (make examples)" % path)

    # Each contender steps its own copy of the model, so none feeds another.
    contenders = []
    ref_model = LM()
    ref_model.load_state_dict(model.state_dict())
    for p, q in zip(ref_model.parameters(), model.parameters()):
        p.grad = q.grad.clone()
    adamw = torch.optim.AdamW(ref_model.parameters(), lr=3e-3, weight_decay=0.1)
    contenders.append(("torch.optim.AdamW", lambda: adamw.step(), None))
    for label, path in mods:
        m = LM()
        m.load_state_dict(model.state_dict())
        for p, q in zip(m.parameters(), model.parameters()):
            p.grad = q.grad.clone()
        opt = arena.torch.Optimizer(m, path, limits=limits, steps=10**6, engine=engine,
                                    transpose=False if "transpose=False" in label else None)
        contenders.append((label, (lambda o: lambda: o.step(loss=1.0))(opt), opt))

    times = {label: [] for label, _, _ in contenders}
    copies = {label: [] for label, _, _ in contenders}
    for fn in (c[1] for c in contenders):
        fn()  # warm up: first-touch pages, the module's first call
    for _ in range(args.rounds):
        for label, fn, opt in contenders:
            for _ in range(args.steps):
                t0 = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - t0)
            if opt is not None:
                # The Python side of the copy path, on its own.
                t0 = time.perf_counter()
                opt._params.gather_params()
                opt._grads.gather_grads()
                opt._params.scatter_params()
                copies[label].append(time.perf_counter() - t0)

    base = statistics.median(times["torch.optim.AdamW"])
    go_copy = statistics.median(times["arena null (copies only)"]) - statistics.median(copies["arena null (copies only)"])
    print("%d parameters in %d tensors, CPU, %d torch thread(s), %d×%d steps per contender\n"
          % (n, len(list(model.parameters())), args.threads, args.rounds, args.steps))
    print("| step | ms | × AdamW | Python copies, ms | in the C call, ms | copying, share of the step | fuel per step |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, _, opt in contenders:
        t = statistics.median(times[label])
        if opt is None:
            print("| %s | %.2f | 1.0 | | | | |" % (label, t * 1e3))
            continue
        c = statistics.median(copies[label])
        share = min(1.0, (c + go_copy) / t)
        print("| %s | %.2f | %.1f | %.2f | %.2f | %.0f%% | %d |"
              % (label, t * 1e3, t / base, c * 1e3, (t - c) * 1e3, 100 * share, opt.fuel_used // max(opt.t, 1)))
    print("\nCopying is the Python side (every parameter and gradient into one float64 buffer,\n"
          "Linear weights transposed, and the parameters back) plus the Go side (the buffers\n"
          "into the sandbox's memory and back), measured with the null module: %.2f ms." % (go_copy * 1e3))


if __name__ == "__main__":
    main()
