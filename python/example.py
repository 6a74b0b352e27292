"""Trains a small PyTorch language model with an optimizer module, a
champion pulled from an Arena server, say, under its challenge's limits:

    ./bin/arena champion pull optimizer-demo -o champion.wasm
    PYTHONPATH=python python3 python/example.py champion.wasm --challenge optimizer-demo

The model learns sequences of a fixed rule (x[t+1] = 3·x[t] + 1 mod 64).
Should the module be refused or fail (a trap, fuel exhausted), training
goes on with torch's AdamW, as a trainer's loop would.
"""

import argparse
import math

import torch
import torch.nn.functional as F

import arena
import arena.torch


class LM(torch.nn.Module):
    """One transformer block over token and position embeddings."""

    def __init__(self, vocab=64, d=32, context=16):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(context, d)
        self.ln_1 = torch.nn.LayerNorm(d)
        self.attn = torch.nn.MultiheadAttention(d, 2, bias=False, batch_first=True)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.Sequential()
        self.mlp.add_module("fc", torch.nn.Linear(d, 4 * d))
        self.mlp.add_module("gelu", torch.nn.GELU())
        self.mlp.add_module("proj", torch.nn.Linear(4 * d, d))
        self.ln_f = torch.nn.LayerNorm(d)
        self.lm_head = torch.nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        h = self.ln_1(x)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        x = x + self.mlp(self.ln_2(x))
        return self.lm_head(self.ln_f(x))


def batch(gen, vocab=64, size=32, context=16):
    seq = [torch.randint(0, vocab, (size, 1), generator=gen)]
    for _ in range(context):
        seq.append((seq[-1] * 3 + 1) % vocab)
    s = torch.cat(seq, 1)
    return s[:, :-1], s[:, 1:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="the optimizer's .wasm")
    ap.add_argument("--challenge", help="take the limits of this challenge (from ARENA_URL or --url)")
    ap.add_argument("--url", help="the Arena server (default ARENA_URL, else http://localhost:8080)")
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()

    limits = arena.challenge(args.challenge, args.url)["limits"] if args.challenge else None
    torch.manual_seed(0)
    model = LM()
    try:
        opt = arena.torch.Optimizer(model.named_parameters(), args.module, limits=limits, steps=args.steps)
        print("module %s, %s; tensor table:" % (opt.arena.module.sha256[:12], "ABI v2" if opt.tensors else "ABI v1"))
        print(opt.layout)
    except (arena.ModuleRejected, arena.ModuleFailed) as e:
        print("the module cannot run (%s); training with torch's AdamW" % e)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    for step in range(args.steps):
        x, y = batch(gen)
        loss = F.cross_entropy(model(x).reshape(-1, 64), y.reshape(-1))
        loss.backward()
        try:
            if isinstance(opt, arena.torch.Optimizer):
                opt.step(loss=loss.item())  # the module is given the minibatch loss
            else:
                opt.step()
        except arena.ModuleFailed as e:
            print("step %d: the module failed (%s); carrying on with torch's AdamW" % (step, e))
            opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
            opt.step()
        opt.zero_grad()
        if step % 20 == 0 or step == args.steps - 1:
            print("step %4d  loss %.4f (uniform: %.4f)" % (step, loss.item(), math.log(64)))
    if isinstance(opt, arena.torch.Optimizer):
        print("fuel used: %d" % opt.fuel_used)


if __name__ == "__main__":
    main()
