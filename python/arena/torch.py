"""PyTorch adapters for Arena strategy modules: an optimizer, an LR
scheduler, gradient codecs and activation codecs over torch tensors.

    import torch, arena
    module = open("champion.wasm", "rb").read()
    opt = arena.torch.Optimizer(model.named_parameters(), module, limits=challenge_limits)
    for batch in data:
        loss = model(batch).loss
        loss.backward()
        opt.step(loss=loss.item()); opt.zero_grad()

The ABIs speak flat float64 vectors. Every adapter maps a model's
parameters onto one through a TensorLayout: each parameter becomes one
rows×cols entry of the optimizer's tensor table, in the parameters' order.
A 2-D tensor is taken as it is, except that Linear weights, which torch
stores [out × in], are transposed to [in × out], the convention the
host's language model (and so every benchmark a module scored on) uses;
a 1-D tensor is 1×n, a scalar 1×1, and a tensor of more dimensions
rows = shape[0] by the rest. Roles come from module types and names
(docs/python.md lists the rules) and can be given explicitly. Values of
any floating dtype are copied into float64 buffers and written back in
the tensor's own dtype. This module imports torch; `import arena` does not.
"""

import math
import re
import warnings
from collections import namedtuple

import torch

from . import (ROLES, ActivationDecoder as _ActivationDecoder, ActivationEncoder as _ActivationEncoder,
               ActivationStage as _ActivationStage, BACKWARD, BFLOAT16, FLOAT32, FORWARD,
               GradientAggregator as _GradientAggregator, GradientWorker as _GradientWorker,
               Optimizer as _Optimizer, Schedule as _Schedule, Tensor, _bytes, _module)

__all__ = ["Optimizer", "LRScheduler", "GradientCompressor", "GradientAggregator",
           "ActivationEncoder", "ActivationDecoder", "ActivationStage", "ActivationCut", "TensorLayout", "Entry"]

Entry = namedtuple("Entry", "name table_name param role rows cols offset transposed")
Entry.__doc__ = """How one parameter sits in the flat vector: table_name is its name in
the tensor table (at most 31 bytes), role a name from arena.ROLES,
transposed whether a Linear weight [out × in] is stored [in × out]."""

# Names, matched against one segment of a parameter's dotted name.
_POSITION = re.compile(r"(wpe|pos|position|positions|pos_emb|pos_embed|pos_embedding|position_embeddings?|positional_embedding)$")
_EMBEDDING = re.compile(r"(wte|tok_embeddings|embed_tokens|word_embeddings|token_embeddings?|tok_emb|embeddings?|embed|emb|wtes?)$")
_HEAD = re.compile(r"(lm_head|head|output|unembed|out_head|classifier|logits)$")
_NORM = re.compile(r"(ln(_?[a-z0-9]+)?|.*norm.*)$")
_FUSED = re.compile(r"(c_attn|qkv|wqkv|qkv_proj|query_key_value|in_proj|in_proj_weight)$")
_ATTN_CONTEXT = re.compile(r".*(attn|attention).*")
_MLP_CONTEXT = re.compile(r"(.*(mlp|ffn|feed_?forward).*|ff)$")
_GAIN = ("weight", "gain", "g", "scale", "gamma")

# Inside an attention block or an MLP, and anywhere.
_ATTN_NAMES = (("attn_q", re.compile(r"(q|q_proj|wq|w_q|query|to_q|q_lin|c_q)$")),
               ("attn_k", re.compile(r"(k|k_proj|wk|w_k|key|to_k|k_lin|c_k)$")),
               ("attn_v", re.compile(r"(v|v_proj|wv|w_v|value|to_v|v_lin|c_v)$")),
               ("attn_o", re.compile(r"(o|o_proj|wo|w_o|out_proj|to_out|c_proj|proj|dense|out|out_lin|output_proj)$")))
_MLP_NAMES = (("mlp_in", re.compile(r"(fc|fc1|c_fc|up_proj|gate_proj|w1|w3|fc_in|dense_h_to_4h|wi|wi_0|wi_1|linear1|up|gate|w_in)$")),
              ("mlp_out", re.compile(r"(fc2|c_proj|proj|down_proj|w2|fc_out|dense_4h_to_h|wo|linear2|down|dense|out|w_out)$")))
_ANYWHERE = (("attn_q", re.compile(r"(q_proj|wq|query)$")), ("attn_k", re.compile(r"(k_proj|wk|key)$")),
             ("attn_v", re.compile(r"(v_proj|wv|value)$")), ("attn_o", re.compile(r"(o_proj|out_proj)$")),
             ("mlp_in", re.compile(r"(fc1|c_fc|up_proj|gate_proj|dense_h_to_4h|linear1)$")),
             ("mlp_out", re.compile(r"(fc2|down_proj|dense_4h_to_h|linear2)$")))


def _hidden_role(owner, context, rows, cols):
    """The role of a hidden weight matrix, stored [in × out] as rows × cols."""
    if _FUSED.match(owner):
        return "flat"  # q, k and v in one matrix fit no single role
    if any(_ATTN_CONTEXT.match(c) for c in context):
        for role, pat in _ATTN_NAMES:
            if pat.match(owner):
                return role
    if any(_MLP_CONTEXT.match(c) for c in context):
        for role, pat in _MLP_NAMES:
            if pat.match(owner):
                return role
    for role, pat in _ANYWHERE:
        if pat.match(owner):
            return role
    # By shape: widening is an MLP's up projection, narrowing its down
    # projection, and a square matrix is taken as attention's output.
    if cols > rows:
        return "mlp_in"
    if cols < rows:
        return "mlp_out"
    return "attn_o"


def _is_norm(mod):
    name = type(mod).__name__.lower()
    return isinstance(mod, (torch.nn.LayerNorm, torch.nn.GroupNorm)) or "norm" in name


def _owners(model):
    """Each parameter's module, by id, for a model given as an nn.Module."""
    owners = {}
    for _, mod in model.named_modules():
        for local, p in mod.named_parameters(recurse=False):
            owners.setdefault(id(p), (mod, local))
    return owners


def _shape2(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return 1, shape[0]
    return shape[0], math.prod(shape[1:])


def _describe(name, p, owner, vocab):
    """(role, transposed) for parameter name, given its owning module and
    local name when known (owner is None for bare named parameters)."""
    segs = name.lower().split(".")
    local = segs[-1]
    if owner is not None:
        mod, local = owner[0], owner[1].lower()
    mname = segs[-2] if len(segs) > 1 else ""
    context = segs[:-1]
    # A bare parameter (not weight or bias of a module) is named for itself.
    own = local if local not in ("weight", "bias") else mname
    if p.dim() <= 1:
        if local in _GAIN and (_NORM.match(own) or (owner is not None and _is_norm(mod))):
            return "norm_gain", False
        return "flat", False
    if p.dim() > 2:
        return "flat", False
    rows, cols = p.shape
    # nn.MultiheadAttention's own matrices are F.linear weights.
    mha = {"in_proj_weight": "flat", "q_proj_weight": "attn_q", "k_proj_weight": "attn_k", "v_proj_weight": "attn_v"}
    if local in mha and (owner is None or isinstance(mod, torch.nn.MultiheadAttention)):
        return mha[local], True
    if owner is not None:
        if isinstance(mod, torch.nn.Embedding):
            return ("position" if _POSITION.match(own) or "pos" in own else "embedding"), False
        if isinstance(mod, torch.nn.Linear) and local == "weight":
            return _linear_role(own, context, rows, cols, vocab), True
        if local in ("weight", "bias"):
            return "flat", False  # a 2-D parameter of another module type
    elif local == "weight":
        # Bare named parameters: a 2-D weight is an embedding by its name,
        # else taken for a Linear's.
        if _POSITION.match(own):
            return "position", False
        if _EMBEDDING.match(own):
            return "embedding", False
        return _linear_role(own, context, rows, cols, vocab), True
    # A 2-D parameter of its own (x @ W): used as it is stored.
    if _POSITION.match(own):
        return "position", False
    if _EMBEDDING.match(own):
        return "embedding", False
    if _HEAD.match(own):
        return "head", False
    for role, pat in _ANYWHERE:
        if pat.match(own):
            return role, False
    return "flat", False


def _linear_role(own, context, out_features, in_features, vocab):
    if _HEAD.match(own) or (vocab and out_features == vocab and out_features > in_features):
        return "head"
    return _hidden_role(own, context, in_features, out_features)


def _table_names(names):
    """Unique table names of at most 31 bytes: a long name keeps its last
    dotted segments, and a clash gets the entry's index."""
    out, seen = [], set()
    for i, full in enumerate(names):
        s = full
        if len(s.encode()) > 31 and s.endswith(".weight"):
            s = s[: -len(".weight")]
        if len(s.encode()) > 31:
            tail = s
            while len(tail.encode()) > 31:
                tail = tail[1:]
            s = tail.split(".", 1)[1] if "." in tail[1:] else tail
        if s in seen or not s:
            suffix = "#%d" % i
            while len((s + suffix).encode()) > 31:
                s = s[1:]
            s += suffix
        seen.add(s)
        out.append(s)
    return out


def _parameters(params):
    """(name, parameter, owner) triples from a model, named parameters or
    bare tensors."""
    if isinstance(params, torch.nn.Module):
        owners = _owners(params)
        return [(n, p, owners.get(id(p))) for n, p in params.named_parameters()]
    out = []
    for i, item in enumerate(params):
        if isinstance(item, torch.Tensor):
            out.append(("p%d" % i, item, None))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], torch.Tensor):
            out.append((str(item[0]), item[1], None))
        elif isinstance(item, dict):
            raise ValueError("parameter groups are not supported: pass the model, its named_parameters() or a list of tensors")
        else:
            raise ValueError("parameter %d: a tensor or a (name, tensor) pair, not %r" % (i, type(item).__name__))
    return out


class TensorLayout:
    """The map between a model's parameters and the flat float64 vector the
    ABIs take, with the tensor table that describes it.

    params is an nn.Module (its parameters, roles from module types and
    names), its named_parameters() (roles from names and shapes) or a list
    of tensors (roles from shapes). Parameters that do not require grad are
    left out. roles maps parameter names to role names (or numbers) and
    transpose maps them to whether to store the tensor transposed, both
    overriding the rules for the names they give; transpose=False stores
    every tensor as torch does (the copies are cheaper, but the module sees
    Linear weights [out × in], not as it was scored), True every 2-D one
    transposed."""

    def __init__(self, params, roles=None, transpose=None):
        triples = [t for t in _parameters(params) if t[1].requires_grad]
        if not triples:
            raise ValueError("no parameters that require grad")
        names = [t[0] for t in triples]
        if len(set(names)) != len(names):
            raise ValueError("parameter names are not unique")
        ids = [id(t[1]) for t in triples]
        if len(set(ids)) != len(ids):
            raise ValueError("a parameter appears twice (tied weights are one parameter: pass it once)")
        # transpose=False (or True) decides for every 2-D tensor at once.
        everything = transpose if isinstance(transpose, bool) else None
        roles, transpose = dict(roles or {}), dict(transpose or {}) if everything is None else {}
        for what, given in (("roles", roles), ("transpose", transpose)):
            unknown = sorted(set(given) - set(names))
            if unknown:
                raise ValueError("%s names parameters the layout does not have: %s" % (what, ", ".join(unknown)))
        # A Linear that maps onto the embedding's vocabulary is the head.
        vocab = next((p.shape[0] for name, p, owner in triples if _describe(name, p, owner, 0)[0] == "embedding"), 0)
        self.entries, offset = [], 0
        for (name, p, owner), table_name in zip(triples, _table_names(names)):
            role, tr = _describe(name, p, owner, vocab)
            if name in roles:
                role = roles[name]
                if isinstance(role, int) and not isinstance(role, bool):
                    if not 0 <= role < len(ROLES):
                        raise ValueError("roles[%r]: unknown role %d" % (name, role))
                    role = ROLES[role]
                if role not in ROLES:
                    raise ValueError("roles[%r]: unknown role %r; one of %s" % (name, role, ", ".join(ROLES)))
            if everything is not None:
                tr = everything and p.dim() == 2
            if name in transpose:
                tr = bool(transpose[name])
                if tr and p.dim() != 2:
                    raise ValueError("transpose[%r]: only a 2-D tensor can be transposed, not one of shape %s" % (name, tuple(p.shape)))
            rows, cols = _shape2(tuple(p.shape))
            if tr:
                rows, cols = cols, rows
            if not p.is_floating_point():
                raise ValueError("parameter %s is %s, not floating point" % (name, p.dtype))
            self.entries.append(Entry(name, table_name, p, role, rows, cols, offset, tr))
            offset += rows * cols
        self.n = offset
        self.table = [Tensor(e.table_name, e.role, e.rows, e.cols, e.offset) for e in self.entries]
        self.params = [e.param for e in self.entries]

    def buffer(self):
        """A new flat float64 vector, with this layout's views into it."""
        return _Staging(self)

    def __repr__(self):
        lines = ["%-32s %-10s %6d×%-6d @%-8d%s" % (e.name, e.role, e.rows, e.cols, e.offset, " (transposed)" if e.transposed else "")
                 for e in self.entries]
        return "TensorLayout(%d parameters)\n  " % self.n + "\n  ".join(lines)


class _Staging:
    """One contiguous float64 vector and each parameter's block in it, so
    that gathering and scattering are a torch copy or two per parameter.

    A transposed block goes through a float64 scratch matrix in the
    parameter's shape. Torch transposes fast only between tensors of one
    dtype, reading the strided side (a copy that converts and transposes
    at once, or writes strided, is several times slower), so the dtype
    changes in a contiguous copy and the transpose happens in float64,
    always reading the transposed view."""

    def __init__(self, layout):
        self.layout = layout
        self.flat = torch.zeros(layout.n, dtype=torch.float64)
        self.blocks = []
        scratch = max((e.rows * e.cols for e in layout.entries if e.transposed), default=0)
        self._scratch = torch.empty(scratch, dtype=torch.float64)
        for e in layout.entries:
            block = self.flat[e.offset:e.offset + e.rows * e.cols].view(e.rows, e.cols)
            if e.transposed:
                via = self._scratch[:e.rows * e.cols].view(e.param.shape)
                self.blocks.append((e.param, block, via))
            else:
                self.blocks.append((e.param, block.view(e.param.shape), None))

    def address(self):
        return self.flat.data_ptr()

    @staticmethod
    def _gather(src, block, via):
        if via is None:
            block.copy_(src)
        elif src.dtype == torch.float64:
            block.copy_(src.t())
        else:
            via.copy_(src)
            block.copy_(via.t())

    @staticmethod
    def _scatter(dst, block, via):
        if via is None:
            dst.copy_(block)
        elif dst.dtype == torch.float64:
            dst.copy_(block.t())
        else:
            via.copy_(block.t())
            dst.copy_(via)

    def gather_params(self):
        for p, block, via in self.blocks:
            self._gather(p.detach(), block, via)

    def gather_grads(self):
        for p, block, via in self.blocks:
            if p.grad is None:
                block.zero_()
            else:
                self._gather(p.grad.detach(), block, via)

    def scatter_params(self):
        with torch.no_grad():
            for p, block, via in self.blocks:
                self._scatter(p, block, via)

    def scatter_grads(self):
        for p, block, via in self.blocks:
            if p.grad is None:
                p.grad = torch.empty_like(p)
            self._scatter(p.grad, block, via)


def _loss_value(loss):
    if loss is None:
        return 0.0
    if isinstance(loss, torch.Tensor):
        return float(loss.detach().item())
    return float(loss)


class Optimizer(torch.optim.Optimizer):
    """An optimizer module as a torch.optim.Optimizer.

    params is the model, its named_parameters() or a list of tensors (see
    TensorLayout, which also takes roles= and transpose=); module the
    optimizer's .wasm (bytes or a path) or an arena.Module; limits a
    challenge's limits (a dict, per call); steps the run's length, handed
    to a module of ABI v2 (0: unknown). Each step copies every parameter
    and its gradient (zeros when it has none) into float64, calls the
    module's step, and writes the parameters back in their own dtype.
    After arena.ModuleFailed the parameters are as they were before the
    step, and the optimizer refuses every later step.

    The module's state lives in its sandbox: state_dict() holds none of
    it, so a run resumed from a checkpoint starts the module afresh."""

    def __init__(self, params, module, *, limits=None, steps=0, roles=None, transpose=None, engine=None):
        self.layout = TensorLayout(params, roles=roles, transpose=transpose)
        self._adding = True
        super().__init__(self.layout.params, {})
        self._adding = False
        self.arena = _Optimizer(module, table=self.layout.table, steps=steps, limits=limits, engine=engine)
        self.tensors = self.arena.tensors  # whether the module was given the table (ABI v2)
        self._params = self.layout.buffer()
        self._grads = self.layout.buffer()
        self.t = 0  # steps taken, the next step's t

    def add_param_group(self, group):
        if not getattr(self, "_adding", False):
            raise ValueError("an arena optimizer's parameters are fixed by its tensor table; make a new one")
        super().add_param_group(group)

    @property
    def table(self):
        return self.layout.table

    @property
    def fuel_used(self):
        return self.arena.fuel_used

    @property
    def log(self):
        return self.arena.log

    @torch.no_grad()
    def step(self, closure=None, loss=None):
        """One step. loss is the minibatch loss the module is given (a
        float or a tensor; 0 when None), or closure's result."""
        result = None
        if closure is not None:
            with torch.enable_grad():
                result = closure()
            if loss is None:
                loss = result
        self._params.gather_params()
        self._grads.gather_grads()
        self.arena._step(self.t, self._params.address(), self._grads.address(), _loss_value(loss))
        self._params.scatter_params()
        self.t += 1
        return result

    def close(self):
        self.arena.close()


_LRSchedulerBase = getattr(torch.optim.lr_scheduler, "LRScheduler", None) or torch.optim.lr_scheduler._LRScheduler


class LRScheduler(_LRSchedulerBase):
    """A learning-rate schedule module driving a torch optimizer: every
    param group's lr is set to the module's rate for each step.

    Like torch's schedulers, it sets step 0's rate when made and the next
    step's rate on each step(), which comes after optimizer.step(). The
    module's rate for step t+1 is asked with the loss given to step()
    (the loss of step t, the latest a loop has then; the benchmark gives
    step t+1's own minibatch loss, which differs only for schedules that
    read the loss). No rate is asked past total_steps: the last one stays."""

    def __init__(self, optimizer, schedule, total_steps, *, limits=None, engine=None):
        self.total_steps = int(total_steps)
        self.schedule = _Schedule(schedule, self.total_steps, limits=limits, engine=engine)
        self._loss = 0.0
        self._rate = None
        super().__init__(optimizer)

    def get_lr(self):
        t = self.last_epoch
        if t < self.total_steps:
            self._rate = self.schedule.lr(t, self._loss)
        return [self._rate for _ in self.optimizer.param_groups]

    def step(self, loss=None):
        """Moves to the next step, whose rate the module is asked with loss."""
        self._loss = _loss_value(loss)
        with warnings.catch_warnings():
            # torch warns when the first step() comes before the
            # optimizer's, which is how its own schedulers begin too.
            warnings.simplefilter("ignore", UserWarning)
            super().step()

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedule")}

    def close(self):
        self.schedule.close()


class GradientCompressor:
    """The compressing side of a gradient codec for one data-parallel rank
    (worker of workers): compress() turns the parameters' gradients,
    flattened by their TensorLayout, into a message of at most budget
    bytes. The module is given the layout's tensor table (named_parameters'
    names and shapes, as Optimizer gives it) and the run's length (steps,
    0: unknown), so it can compress per tensor or per block; a module of
    ABI v1 sees the flat vector. Every rank and the aggregator must lay the
    parameters out the same way (the same model, roles and transpose)."""

    def __init__(self, params, module, worker, workers, budget, *, steps=0, limits=None, engine=None, roles=None, transpose=None):
        self.layout = TensorLayout(params, roles=roles, transpose=transpose)
        self.codec = _GradientWorker(module, worker, workers, self.layout.n, budget, table=self.layout.table,
                                     steps=steps, limits=limits, engine=engine)
        self._grads = self.layout.buffer()

    def compress(self, step):
        """Step's message (bytes) for the parameters' gradients."""
        self._grads.gather_grads()
        return self.codec._compress(step, self._grads.address(), self.layout.n)

    def close(self):
        self.codec.close()


class GradientAggregator:
    """The decompressing side of a gradient codec: it decodes each rank's
    message and averages them into the parameters' gradients, as the
    benchmark's host does (summed in float64 in rank order, then scaled by
    1/workers)."""

    def __init__(self, params, module, workers, budget, *, steps=0, limits=None, engine=None, roles=None, transpose=None):
        self.layout = TensorLayout(params, roles=roles, transpose=transpose)
        self.workers = int(workers)
        self.codec = _GradientAggregator(module, workers, self.layout.n, budget, table=self.layout.table,
                                         steps=steps, limits=limits, engine=engine)
        self._decoded = torch.zeros(self.layout.n, dtype=torch.float64)
        self._mean = self.layout.buffer()

    def decompress(self, worker, step, msg):
        """Worker's message of step, decoded: a new flat float64 tensor in
        the layout's order."""
        out = torch.empty(self.layout.n, dtype=torch.float64)
        self._decode(worker, step, msg, out)
        return out

    def _decode(self, worker, step, msg, out):
        buf = msg if isinstance(msg, bytes) else bytes(msg)
        addr, n, keep = _bytes(buf, False, "msg")
        self.codec._decompress(worker, step, addr, n, out.data_ptr(), self.layout.n)

    def aggregate(self, step, messages):
        """Decodes every rank's message of step (in rank order), sets each
        parameter's .grad to their mean, and returns the mean as a flat
        float64 tensor."""
        if len(messages) != self.workers:
            raise ValueError("%d messages for %d workers" % (len(messages), self.workers))
        mean = self._mean.flat
        mean.zero_()
        for k, msg in enumerate(messages):
            self._decode(k, step, msg, self._decoded)
            mean.add_(self._decoded)
        mean.mul_(1.0 / self.workers)
        self._mean.scatter_grads()
        return mean.clone()

    def close(self):
        self.codec.close()


_WIRE = {torch.bfloat16: BFLOAT16, torch.float32: FLOAT32}


def _direction(direction):
    if direction not in (FORWARD, BACKWARD):
        raise ValueError("direction %r: arena.FORWARD (0) or arena.BACKWARD (1)" % (direction,))
    return direction


def _matrix(shape):
    """A tensor's shape as the ABI's rows × cols (tokens × channels)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return 1, shape[0]
    return math.prod(shape[:-1]), shape[-1]


def _encode(codec, x, direction):
    """codec's message for x crossing the cut in direction."""
    if x.dtype not in _WIRE:
        raise ValueError("an activation of %s: bfloat16 or float32 (convert it first)" % x.dtype)
    x = x.detach().to("cpu").contiguous()
    rows, cols = _matrix(tuple(x.shape))
    return codec._compress(_WIRE[x.dtype], rows, cols, x.data_ptr(), x.numel() * x.element_size(), _direction(direction))


def _decode(codec, msg, shape, dtype, direction):
    """The tensor of shape and dtype codec decodes msg, which crossed in
    direction, into."""
    if dtype not in _WIRE:
        raise ValueError("an activation of %s: bfloat16 or float32" % dtype)
    out = torch.empty(tuple(shape), dtype=dtype)
    rows, cols = _matrix(tuple(out.shape))
    buf = msg if isinstance(msg, bytes) else bytes(msg)
    addr, n, keep = _bytes(buf, False, "msg")
    codec._decompress(_WIRE[dtype], rows, cols, addr, n, out.data_ptr(), out.numel() * out.element_size(), _direction(direction))
    return out


class ActivationEncoder:
    """The compressing side of an activation codec, for bfloat16 or float32
    tensors of up to max_bytes, in an instance of its own (for a pipeline
    cut, see ActivationStage and ActivationCut). A tensor of any shape is
    sent as rows × cols with cols its last dimension."""

    def __init__(self, module, max_bytes, *, limits=None, engine=None):
        self.codec = _ActivationEncoder(module, max_bytes, limits=limits, engine=engine)

    def encode(self, x, direction=FORWARD):
        """The message for x crossing the cut in direction: FORWARD for an
        activation, BACKWARD for its gradient."""
        return _encode(self.codec, x, direction)

    def close(self):
        self.codec.close()


class ActivationDecoder:
    """The decompressing side of an activation codec, for tensors of up to
    max_bytes, in an instance of its own; it never sees the original."""

    def __init__(self, module, max_bytes, *, limits=None, engine=None):
        self.codec = _ActivationDecoder(module, max_bytes, limits=limits, engine=engine)

    def decode(self, msg, shape, dtype, direction=FORWARD):
        """The tensor of shape and dtype (bfloat16 or float32) msg, which
        crossed in direction, encodes."""
        return _decode(self.codec, msg, shape, dtype, direction)

    def close(self):
        self.codec.close()


class ActivationStage:
    """One pipeline stage of an activation cut, for bfloat16 or float32
    tensors of up to max_bytes: one instance of the codec that encodes
    what the stage sends and decodes what it receives, as the benchmark
    holds it. The stage before the cut (first=True) encodes activations
    and decodes their gradients; the one after it (first=False) decodes
    activations and encodes their gradients. Tensors are sent as
    ActivationEncoder sends them."""

    def __init__(self, module, max_bytes, first, *, limits=None, engine=None):
        self.codec = _ActivationStage(module, max_bytes, first, limits=limits, engine=engine)
        self.first = self.codec.first

    def encode(self, x, direction):
        """The message for x, which this stage sends across the cut in
        direction: FORWARD from the first stage, BACKWARD from the second."""
        return _encode(self.codec, x, direction)

    def decode(self, msg, shape, dtype, direction):
        """The tensor of shape and dtype msg, which this stage received
        from across the cut in direction, encodes."""
        return _decode(self.codec, msg, shape, dtype, direction)

    @property
    def fuel_used(self):
        return self.codec.fuel_used

    def close(self):
        self.codec.close()


class _Cut(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, cut):
        ctx.cut = cut
        return cut._send(x, FORWARD)

    @staticmethod
    def backward(ctx, grad):
        return ctx.cut._send(grad, BACKWARD), None


class ActivationCut(torch.nn.Module):
    """A pipeline cut: the activations that cross it going forward, and
    their gradients going back, are each sent through the codec in
    wire_dtype (bfloat16 or float32; None: the tensor's own). As in the
    benchmark, the cut is two stages (stages, an ActivationStage each),
    one instance of the codec apiece: the first encodes the activation
    and decodes its gradient, the second decodes the activation and
    encodes the gradient, so a codec that keeps state across the
    directions behaves as it was scored. bytes_raw and bytes_sent count
    what crossed, before and after coding."""

    def __init__(self, module, max_bytes, *, wire_dtype=torch.bfloat16, limits=None, engine=None):
        super().__init__()
        if wire_dtype is not None and wire_dtype not in _WIRE:
            raise ValueError("wire_dtype %s: bfloat16, float32 or None" % wire_dtype)
        self.wire_dtype = wire_dtype
        # Loaded once for both stages, which instantiate it each.
        module = _module(module, "activation_compression", limits, engine)
        self.stages = (ActivationStage(module, max_bytes, True), ActivationStage(module, max_bytes, False))
        self.bytes_raw = 0
        self.bytes_sent = 0

    def _send(self, x, direction):
        # The sender encodes, the stage across the cut decodes.
        enc, dec = self.stages if direction == FORWARD else self.stages[::-1]
        wire = x.detach().to(self.wire_dtype or x.dtype)
        msg = enc.encode(wire, direction)
        self.bytes_raw += wire.numel() * wire.element_size()
        self.bytes_sent += len(msg)
        return dec.decode(msg, wire.shape, wire.dtype, direction).to(x.dtype)

    def forward(self, x):
        return _Cut.apply(x, self)

    def close(self):
        for stage in self.stages:
            stage.close()
