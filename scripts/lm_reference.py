#!/usr/bin/env python3
"""PyTorch reference for the Go language model in package lm.

The Go package lm is a small decoder-only transformer with hand-written
forward and backward passes in float64. This script is the independent
reference it is tested against: the same architecture written once with
torch ops and differentiated by autograd.

  golden  writes lm/testdata/pytorch_golden.json: a few tiny configs with
          deterministic parameters and tokens, the loss, and d loss / d params.
          The Go tests check their loss and gradients against it within 1e-9
          relative. The file is committed, so `make test` needs no PyTorch.
  bench   times one training step (forward + backward + zeroing the
          gradients, no optimizer) of a config in float64 on one thread,
          to compare with the Go model's speed.

Regenerate the golden (run from the repository root):

  PY=$(scripts/torch.sh) && "$PY" scripts/lm_reference.py golden --out lm/testdata/pytorch_golden.json

Benchmark:

  "$PY" scripts/lm_reference.py bench --vocab 256 --width 32 --layers 2 --heads 2 --context 32 --batch 8 --steps 50

Architecture (the Go code implements the same): vocab V, width D, layers L,
heads H (head size D/H), context T, batch B, MLP hidden 4D, no biases,
LayerNorm with gain only (eps 1e-5, biased variance). Parameters form one
flat float64 vector; each tensor is stored row-major in the order of
tensor_table(), every weight matrix as [in x out] so that y = x @ W.
Forward: x = tok_emb[in] + pos_emb; per block
x += (causal softmax(q k^T / sqrt(Dh)) v) @ Wo with q,k,v = LN1(x) @ Wq,Wk,Wv,
then x += gelu_tanh(LN2(x) @ Win) @ Wout; logits = LN_f(x) @ head;
loss = mean cross-entropy over all B*T positions.

Debian's python3-torch calls the system's libblas.so.3, by default the
reference BLAS, which makes bench several times slower than with OpenBLAS
(libopenblas0-pthread); the golden differs between the two only in the last
few bits (about 1e-12 relative), well inside the Go tests' tolerance.

Parameters and tokens come from closed formulas and an LCG, never from
torch's RNG, so the golden is the same whatever the torch version.
"""

import argparse
import json
import math
import os
import sys
import time

# One thread everywhere, including a BLAS that torch does not steer
# (Debian's torch calls whatever libblas.so.3 the system has chosen).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

LN_EPS = 1e-5


# ---------------------------------------------------------------- layout

def tensor_table(cfg):
    """The tensor table: [{"name", "rows", "cols", "offset"}] in storage order."""
    V, D, L, T = cfg["vocab"], cfg["width"], cfg["layers"], cfg["context"]
    assert D % cfg["heads"] == 0, "width must be a multiple of heads"
    shapes = [("tok_emb", V, D), ("pos_emb", T, D)]
    for l in range(L):
        p = "blocks.%d." % l
        shapes += [
            (p + "norm1", 1, D),
            (p + "attn.q", D, D),
            (p + "attn.k", D, D),
            (p + "attn.v", D, D),
            (p + "attn.o", D, D),
            (p + "norm2", 1, D),
            (p + "mlp.in", D, 4 * D),
            (p + "mlp.out", 4 * D, D),
        ]
    shapes += [("norm_f", 1, D), ("head", D, V)]
    table, off = [], 0
    for name, r, c in shapes:
        table.append({"name": name, "rows": r, "cols": c, "offset": off})
        off += r * c
    return table


def param_count(cfg):
    """Closed-form parameter count, checked against the table."""
    V, D, L, T = cfg["vocab"], cfg["width"], cfg["layers"], cfg["context"]
    return V * D + T * D + L * (2 * D + 4 * D * D + 8 * D * D) + D + D * V


def table_total(table):
    last = table[-1]
    return last["offset"] + last["rows"] * last["cols"]


def check_table(cfg, table):
    off = 0
    for e in table:
        assert e["offset"] == off, e
        off += e["rows"] * e["cols"]
    assert off == table_total(table) == param_count(cfg), (off, param_count(cfg))


def is_gain(name):
    return name.endswith("norm1") or name.endswith("norm2") or name == "norm_f"


def views(flat, table):
    """Name -> tensor views into the flat parameter vector (shared storage)."""
    return {e["name"]: flat[e["offset"]:e["offset"] + e["rows"] * e["cols"]].view(e["rows"], e["cols"])
            for e in table}


# ---------------------------------------------------------------- model

def forward(P, cfg, tokens):
    """Mean cross-entropy loss of B sequences of T+1 tokens.

    P maps each tensor-table name to a (rows x cols) float64 tensor.
    tokens is a LongTensor B x (T+1).
    """
    D, L, H, T = cfg["width"], cfg["layers"], cfg["heads"], cfg["context"]
    V = cfg["vocab"]
    Dh = D // H
    B = tokens.shape[0]
    assert tokens.shape[1] == T + 1
    inp, tgt = tokens[:, :T], tokens[:, 1:]

    def ln(x, g):
        return F.layer_norm(x, (D,), weight=g.view(D), bias=None, eps=LN_EPS)

    causal = torch.ones(T, T, dtype=torch.bool).tril()
    scale = 1.0 / math.sqrt(Dh)

    x = P["tok_emb"][inp] + P["pos_emb"][:T]  # B x T x D
    for l in range(L):
        p = "blocks.%d." % l
        h = ln(x, P[p + "norm1"])
        # B x T x D -> B x H x T x Dh; head j is columns j*Dh:(j+1)*Dh.
        q = (h @ P[p + "attn.q"]).view(B, T, H, Dh).transpose(1, 2)
        k = (h @ P[p + "attn.k"]).view(B, T, H, Dh).transpose(1, 2)
        v = (h @ P[p + "attn.v"]).view(B, T, H, Dh).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) * scale
        scores = scores.masked_fill(~causal, float("-inf"))
        att = torch.softmax(scores, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + y @ P[p + "attn.o"]
        h2 = ln(x, P[p + "norm2"])
        x = x + F.gelu(h2 @ P[p + "mlp.in"], approximate="tanh") @ P[p + "mlp.out"]
    logits = ln(x, P["norm_f"]) @ P["head"]  # B x T x V
    return F.cross_entropy(logits.reshape(B * T, V), tgt.reshape(B * T))


# ---------------------------------------------------------------- deterministic inputs

def det_params(cfg, table, scale, gain_scale):
    """params[i] = scale*sin(0.7 i + 0.1 (i mod 7)); norm gains 1 + gain_scale*sin(i).

    i is the index in the flat vector.
    """
    n = table_total(table)
    out = [0.0] * n
    for e in table:
        for i in range(e["offset"], e["offset"] + e["rows"] * e["cols"]):
            if is_gain(e["name"]):
                out[i] = 1.0 + gain_scale * math.sin(i)
            else:
                out[i] = scale * math.sin(0.7 * i + 0.1 * (i % 7))
    return out


def lcg_tokens(cfg, batch, seed):
    """B rows of T+1 tokens: state = (1103515245 state + 12345) mod 2^31, token = (state >> 16) mod V."""
    s = seed
    rows = []
    for _ in range(batch):
        row = []
        for _ in range(cfg["context"] + 1):
            s = (1103515245 * s + 12345) % (1 << 31)
            row.append((s >> 16) % cfg["vocab"])
        rows.append(row)
    return rows


# ---------------------------------------------------------------- golden

GOLDEN_CASES = [
    # name, config, parameter scale, gain scale, token seed
    ("tiny", dict(vocab=23, width=8, layers=2, heads=2, context=6, batch=3), 0.3, 0.1, 12345),
    # Weights of scale 1.0 push attention and the output softmax towards
    # saturation (some probabilities near 0 and 1).
    ("saturating", dict(vocab=19, width=8, layers=1, heads=4, context=7, batch=2), 1.0, 0.5, 777),
]


def golden_case(name, cfg, scale, gain_scale, seed):
    table = tensor_table(cfg)
    check_table(cfg, table)
    params = det_params(cfg, table, scale, gain_scale)
    tokens = lcg_tokens(cfg, cfg["batch"], seed)

    flat = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    tok = torch.tensor(tokens, dtype=torch.long)
    loss = forward(views(flat, table), cfg, tok)
    loss.backward()
    grads = flat.grad.tolist()
    lossv = loss.item()
    assert len(params) == len(grads) == param_count(cfg)
    assert math.isfinite(lossv) and all(math.isfinite(g) for g in grads)

    # Sanity: central differences on a spread of coordinates agree with
    # autograd (checks the backward of this very forward, nothing more).
    # Step 1e-5: truncation ~1e-10 relative, rounding ~1e-10 absolute, so
    # the test is |fd - grad| <= 1e-8 + 1e-6 |grad|; worst is the largest
    # ratio of the error to that bound.
    worst = 0.0
    with torch.no_grad():
        n = len(params)
        for i in sorted(set([0, n - 1] + list(range(0, n, max(1, n // 40))))):
            hstep = 1e-5
            f2 = flat.detach().clone()
            f2[i] += hstep
            lp = forward(views(f2, table), cfg, tok).item()
            f2[i] -= 2 * hstep
            lm = forward(views(f2, table), cfg, tok).item()
            fd = (lp - lm) / (2 * hstep)
            worst = max(worst, abs(fd - grads[i]) / (1e-8 + 1e-6 * abs(grads[i])))
    assert worst < 1, "finite differences disagree with autograd: %g of the bound" % worst

    stats = saturation_stats(views(flat.detach(), table), cfg, tok)
    print("golden case %s: %d params, loss %.17g, fd check %.2g of bound, %s"
          % (name, len(params), lossv, worst, stats), file=sys.stderr)
    return {
        "name": name,
        "config": {k: cfg[k] for k in ("vocab", "width", "layers", "heads", "context", "batch")},
        "tokens": tokens,
        "params": params,
        "loss": lossv,
        "grads": grads,
        "table": table,
        "torch_version": torch.__version__,
    }


def saturation_stats(P, cfg, tokens):
    """Largest attention and output probabilities, to see how saturated a case is."""
    D, L, H, T, V = cfg["width"], cfg["layers"], cfg["heads"], cfg["context"], cfg["vocab"]
    Dh, B = D // H, tokens.shape[0]
    ln = lambda x, g: F.layer_norm(x, (D,), weight=g.view(D), bias=None, eps=LN_EPS)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    x = P["tok_emb"][tokens[:, :T]] + P["pos_emb"][:T]
    att_max, att_min = 0.0, 1.0
    for l in range(L):
        p = "blocks.%d." % l
        h = ln(x, P[p + "norm1"])
        q, k, v = [(h @ P[p + "attn." + c]).view(B, T, H, Dh).transpose(1, 2) for c in "qkv"]
        att = torch.softmax((q @ k.transpose(-1, -2) / math.sqrt(Dh)).masked_fill(~causal, float("-inf")), -1)
        # Rows past the first have a real choice; row 0 is always [1].
        att_max = max(att_max, att[:, :, 1:, :].max().item())
        att_min = min(att_min, att[:, :, 1:, :][att[:, :, 1:, :] > 0].min().item())
        x = x + (att @ v).transpose(1, 2).reshape(B, T, D) @ P[p + "attn.o"]
        x = x + F.gelu(ln(x, P[p + "norm2"]) @ P[p + "mlp.in"], approximate="tanh") @ P[p + "mlp.out"]
    prob = torch.softmax(ln(x, P["norm_f"]) @ P["head"], -1)
    return "attention probs in [%.3g, %.6g], max output prob %.6g, min %.3g" % (
        att_min, att_max, prob.max().item(), prob.min().item())


def cmd_golden(args):
    cases = [golden_case(*c) for c in GOLDEN_CASES]
    out = {"cases": cases}
    d = os.path.dirname(args.out)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        # json.dump writes floats with repr: they read back bit-identical.
        json.dump(out, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, args.out)
    # Round-trip check.
    with open(args.out) as f:
        back = json.load(f)
    for c, b in zip(cases, back["cases"]):
        assert b["params"] == c["params"] and b["grads"] == c["grads"] and b["loss"] == c["loss"]
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)), file=sys.stderr)


# ---------------------------------------------------------------- bench

def cmd_bench(args):
    cfg = dict(vocab=args.vocab, width=args.width, layers=args.layers, heads=args.heads,
               context=args.context, batch=args.batch)
    table = tensor_table(cfg)
    check_table(cfg, table)
    flat = torch.tensor(det_params(cfg, table, 0.3, 0.1), dtype=torch.float64)
    # Separate leaf tensors (as nn.Parameters would be), so backward does not
    # pay for scattering every slice's gradient into one flat vector.
    P = {k: t.clone().requires_grad_(True) for k, t in views(flat, table).items()}
    tok = torch.tensor(lcg_tokens(cfg, cfg["batch"], 12345), dtype=torch.long)

    def step():
        loss = forward(P, cfg, tok)
        loss.backward()
        for t in P.values():
            t.grad.zero_()
        return loss

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    mean = sum(times) / len(times)
    print(json.dumps({
        "ms_per_step": round(mean * 1e3, 4),
        "median_ms": round(times[len(times) // 2] * 1e3, 4),
        "min_ms": round(times[0] * 1e3, 4),
        "params": table_total(table),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "steps": args.steps,
        "config": cfg,
    }))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden", help="write the golden JSON for the Go tests")
    g.add_argument("--out", default="lm/testdata/pytorch_golden.json")
    b = sub.add_parser("bench", help="time one training step")
    b.add_argument("--vocab", type=int, default=256)
    b.add_argument("--width", type=int, default=32)
    b.add_argument("--layers", type=int, default=2)
    b.add_argument("--heads", type=int, default=2)
    b.add_argument("--context", type=int, default=32)
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--steps", type=int, default=50)
    b.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    if args.cmd == "golden":
        cmd_golden(args)
    else:
        cmd_bench(args)


if __name__ == "__main__":
    main()
