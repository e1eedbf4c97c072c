"""``count_ops``: count every aten op a forward pass runs, with one stated convention.

torchstat sees leaf modules only and FlopCounterMode counts matrix products only;
an attention module spends most of its operations (and nearly all its memory
traffic) in pooling, elementwise gates and broadcast multiplies. :func:`count_ops`
runs the forward under a :class:`~torch.utils._python_dispatch.TorchDispatchMode`,
so it sees every aten operator torch executes, functional code included, and
counts each one by the following **convention** (the closed forms in
:func:`closed_form` are derived by hand under the same rules and must agree exactly):

=====================================  =======================================================
op                                     FLOPs
=====================================  =======================================================
convolution, mm, addmm, bmm, mv, dot   2 per multiply-add (MAC); + 1 per output element for a
                                       bias (``addmm``, ``convolution`` with a bias). A conv's
                                       MACs are output elements x (C_in / groups) x kernel
                                       volume, padded positions included.
elementwise (add, mul, sigmoid, relu,  1 per output element, whatever the function
hardswish, ...: ``Tag.pointwise``)
reduction (mean, sum, amax, max.dim)   1 per *input* element (n inputs to 1 output: n - 1
                                       combines + 1 division for a mean; we count n for all)
pooling windows (avg/max_pool,         1 per element of each window, i.e. output elements x
adaptive pools)                        window size
batch norm                             2 per element in eval (``x * a + b`` with per-channel
                                       ``a, b``); 6 in training (+ 1 for the mean, + 3 for the
                                       variance). Per-channel O(C) work is not counted.
views (view, unsqueeze, t, split, ...) 0 FLOPs and 0 bytes: no data moves
cat, clone, copy, pad                  0 FLOPs; their bytes count
factories (zeros, new_full, ...)       0 FLOPs; they write their output and read nothing
=====================================  =======================================================

**Bytes.** An op reads every tensor argument once and writes every tensor it returns
once: ``bytes_read`` sums the distinct elements of its tensor inputs (a stride-0,
broadcast dimension counts once; the same tensor passed twice counts once) times the
element size, ``bytes_written`` the same over its outputs. An ``out=`` argument is
written, not read (``torch.mul(a, b, out=c)`` counts as ``a * b``). A view moves nothing;
``empty`` allocates without writing. This is the traffic a kernel that streams its
operands from memory must pay; a cache spares it where the same data is used again while
still cached (small operands such as weights and gates; the fast modules of :mod:`attn_src.fast`
pass over a block of images several times while it is in cache).

An op with no FLOP rule (say, a sort) is counted with 0 FLOPs, its bytes still
counted, and listed in :attr:`OpCount.uncounted`, so nothing is dropped silently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Cost", "OpCount", "closed_form", "count_ops"]

aten = torch.ops.aten

_MATMUL = {aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default,
           aten.mv.default, aten.dot.default, aten.addmv.default}
_CONV = {aten.convolution.default, aten._convolution.default, aten.convolution_overrideable.default}
_BATCH_NORM = {aten.native_batch_norm.default, aten._native_batch_norm_legit_no_training.default,
               aten._native_batch_norm_legit.default, aten._native_batch_norm_legit.no_stats,
               aten.cudnn_batch_norm.default, aten.miopen_batch_norm.default}
_POOL = {aten.avg_pool1d.default, aten.avg_pool2d.default, aten.avg_pool3d.default,
         aten.max_pool1d.default, aten.max_pool2d.default, aten.max_pool3d.default,
         aten.max_pool2d_with_indices.default, aten.max_pool3d_with_indices.default}
_ADAPTIVE_POOL = {aten._adaptive_avg_pool2d.default, aten._adaptive_avg_pool3d.default,
                  aten.adaptive_max_pool2d.default, aten.adaptive_max_pool3d.default,
                  aten.adaptive_max_pool1d.default, aten.adaptive_avg_pool1d.default}
# Elementwise functions torch does not tag as pointwise.
_ELEMENTWISE = {aten.hardswish.default, aten.hardswish_.default, aten.hardsigmoid.default,
                aten.hardsigmoid_.default, aten.silu.default, aten.silu_.default, aten.gelu.default,
                aten.mish.default, aten.elu.default, aten.leaky_relu.default, aten.softplus.default,
                aten.hardtanh.default, aten.hardtanh_.default}
_MOVE = {aten.cat.default, aten.clone.default, aten.copy_.default, aten._to_copy.default,
         aten.constant_pad_nd.default, aten.stack.default, aten.index_select.default,
         aten.repeat.default, aten.fill_.Scalar, aten.zero_.default}
# Factories: a tensor argument, if any, only lends its dtype and device, so nothing is read.
_FACTORY = {aten.zeros_like.default, aten.ones_like.default, aten.full_like.default, aten.new_zeros.default,
            aten.new_ones.default, aten.new_full.default, aten.zeros.default, aten.ones.default,
            aten.full.default, aten.arange.default, aten.arange.start, aten.arange.start_step, aten.scalar_tensor.default}
# Not aliasing by their schemas, but views in fact: they move nothing.
_VIEW_LIKE = {aten._unsafe_view.default, aten.lift_fresh.default}
_ALLOC = {aten.empty.memory_format, aten.empty_like.default, aten.new_empty.default,
          aten.empty_strided.default, aten.new_empty_strided.default}

# The overloads newer torch tags ``Tag.reduction`` (out= variants aside); torch 2.2 has no such tag.
_REDUCTION_NAMES = (
    "all.default", "all.dim", "all.dims", "amax.default", "amin.default", "aminmax.default", "any.default",
    "any.dim", "any.dims", "argmax.default", "argmin.default", "count_nonzero.default",
    "count_nonzero.dim_IntList", "linalg_vector_norm.default", "logsumexp.default", "max.default", "max.dim",
    "mean.default", "mean.dim", "min.default", "min.dim", "nansum.default", "norm.Scalar",
    "norm.ScalarOpt_dim", "norm.ScalarOpt_dim_dtype", "norm.ScalarOpt_dtype", "prod.default", "prod.dim_int",
    "std.default", "std.dim", "std.correction", "std_mean.default", "std_mean.dim", "std_mean.correction",
    "sum.dim_IntList", "sum.default", "var.default", "var.dim", "var.correction", "var_mean.default",
    "var_mean.dim", "var_mean.correction",
)


def _overloads(names: tuple[str, ...]) -> set:
    found = set()
    for name in names:
        packet, overload = name.split(".")
        op = getattr(getattr(aten, packet, None), overload, None)
        if op is not None:
            found.add(op)
    return found


_REDUCTION = None if hasattr(torch.Tag, "reduction") else _overloads(_REDUCTION_NAMES)


def _is_reduction(func) -> bool:
    return func in _REDUCTION if _REDUCTION is not None else torch.Tag.reduction in func.tags


def _tensors(tree) -> list[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _distinct_bytes(tensors: list[torch.Tensor]) -> int:
    """Bytes of the distinct elements of ``tensors`` (broadcast dims once; a repeated tensor once)."""
    seen, total = set(), 0
    for t in tensors:
        if not t.numel():
            continue
        # A meta tensor has no address: tell tensors apart by identity instead.
        key = ("id", id(t)) if t.device.type == "meta" else (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype)
        if key in seen:
            continue
        seen.add(key)
        total += math.prod(s for s, st in zip(t.shape, t.stride()) if st != 0) * t.element_size()
    return total


def _is_view(func) -> bool:
    returns = func._schema.returns
    return bool(returns) and all(r.alias_info is not None and not r.alias_info.is_write for r in returns)


def _adaptive_windows(in_sizes, out_sizes) -> int:
    """Sum over output cells of the adaptive-pool window size (windows [floor(i*I/O), ceil((i+1)*I/O)))."""
    total = 1
    for i_size, o_size in zip(in_sizes, out_sizes):
        total *= sum(-(-(j + 1) * i_size // o_size) - (j * i_size) // o_size for j in range(o_size))
    return total


def _spatial_dims(func) -> int:
    """1, 2 or 3: from the op's name (``max_pool2d`` -> 2)."""
    name = func._schema.name
    return next(d for d in (1, 2, 3) if f"{d}d" in name)


def _rule(func, args, kwargs, out) -> tuple[str, int, int]:
    """``(rule name, flops, macs)`` of one aten call under the module's convention."""
    outs = _tensors(out)
    first = outs[0] if outs else None
    if func in _CONV:
        x, w = args[0], args[1]
        bias = args[2] if len(args) > 2 else kwargs.get("bias")
        transposed = bool(args[6]) if len(args) > 6 else bool(kwargs.get("transposed", False))
        kernel = math.prod(w.shape[2:])
        macs = (x.numel() * w.shape[1] * kernel) if transposed else (first.numel() * w.shape[1] * kernel)
        return "conv", 2 * macs + (first.numel() if bias is not None else 0), macs
    if func in _MATMUL:
        if func in (aten.mm.default, aten.bmm.default):
            a, b = args[0], args[1]
            macs = a.numel() * b.shape[-1]
        elif func in (aten.addmm.default, aten.baddbmm.default):
            a, b = args[1], args[2]
            macs = a.numel() * b.shape[-1]
        elif func is aten.dot.default:
            macs = args[0].numel()
        else:  # mv, addmv
            macs = (args[1] if func is aten.addmv.default else args[0]).numel()
        biased = func in (aten.addmm.default, aten.baddbmm.default, aten.addmv.default)
        return "matmul", 2 * macs + (first.numel() if biased else 0), macs
    if func in _BATCH_NORM:
        if func is aten._native_batch_norm_legit_no_training.default:
            training = False
        else:
            training = bool(args[3] if func is aten._native_batch_norm_legit.no_stats else args[5])
        return "batch_norm", (6 if training else 2) * first.numel(), 0
    if func in _POOL:
        dims = _spatial_dims(func)
        kernel = list(args[1])
        kernel = kernel * dims if len(kernel) == 1 else kernel
        return "pool", first.numel() * math.prod(kernel), 0
    if func in _ADAPTIVE_POOL:
        dims = _spatial_dims(func)
        x = args[0]
        lead = math.prod(first.shape[:-dims])
        return "pool", lead * _adaptive_windows(x.shape[-dims:], first.shape[-dims:]), 0
    if _is_reduction(func):
        return "reduction", args[0].numel(), 0
    if func in _MOVE:
        return "move", 0, 0
    if func in _ALLOC:
        return "alloc", 0, 0
    if func in _FACTORY:
        return "factory", 0, 0
    if func in _ELEMENTWISE or torch.Tag.pointwise in func.tags:
        return "elementwise", first.numel() if first is not None else 0, 0
    return "uncounted", 0, 0


def _out_arguments(func) -> set[str]:
    """Names of the out= arguments of an aten overload (keyword-only, written to): ``{"out"}`` for ``mul.out``."""
    return {a.name for a in func._schema.arguments
            if a.kwarg_only and a.alias_info is not None and a.alias_info.is_write}


class _Counter(TorchDispatchMode):
    def __init__(self, stack: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.records: list[dict] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if _is_view(func) or func in _VIEW_LIKE or torch.Tag.inplace_view in func.tags:
            rule, flops, macs, read, written = "view", 0, 0, 0, 0
        else:
            rule, flops, macs = _rule(func, args, kwargs, out)
            # An out= argument is where the result goes: written (it is returned), not read.
            inputs = (args, {k: v for k, v in kwargs.items() if k not in _out_arguments(func)})
            read = 0 if func in _ALLOC or func in _FACTORY else _distinct_bytes(_tensors(inputs))
            # Batch norm also returns per-channel statistics (O(C), and empty in eval on a CPU): not counted.
            written = 0 if func in _ALLOC else _distinct_bytes(_tensors(out[0] if func in _BATCH_NORM else out))
        self.records.append({
            "op": str(func), "module": self.stack[-1], "rule": rule, "flops": int(flops), "macs": int(macs),
            "bytes_read": int(read), "bytes_written": int(written),
        })
        return out


_RECORD_COLUMNS = ["op", "module", "rule", "flops", "macs", "bytes_read", "bytes_written"]


@dataclass(frozen=True)
class OpCount:
    """What :func:`count_ops` counted: one record per aten call, and their totals.

    ``flops`` and ``macs`` follow the module docstring's convention (``macs`` counts the
    multiply-adds of convolutions and matrix products only; each is 2 of the ``flops``);
    ``bytes_read`` / ``bytes_written`` are the memory traffic of every call, summed.
    """

    records: tuple = field(repr=False)
    input_bytes: int = field(repr=False, default=0)

    @property
    def flops(self) -> int:
        return sum(r["flops"] for r in self.records)

    @property
    def macs(self) -> int:
        return sum(r["macs"] for r in self.records)

    @property
    def bytes_read(self) -> int:
        return sum(r["bytes_read"] for r in self.records)

    @property
    def bytes_written(self) -> int:
        return sum(r["bytes_written"] for r in self.records)

    @property
    def bytes(self) -> int:
        """``bytes_read + bytes_written``."""
        return self.bytes_read + self.bytes_written

    @property
    def copies(self) -> float:
        """Memory traffic in units of one copy of the input (read it once, write it once)."""
        return self.bytes / (2 * self.input_bytes) if self.input_bytes else float("nan")

    @property
    def uncounted(self) -> tuple[str, ...]:
        """The aten ops that ran but have no FLOP rule (counted with 0 FLOPs)."""
        return tuple(sorted({r["op"] for r in self.records if r["rule"] == "uncounted"}))

    def calls(self) -> pd.DataFrame:
        """Every aten call in the order it ran: op, module (dotted name), rule, flops, macs, bytes."""
        import pandas as pd  # loaded when a table is asked for

        return pd.DataFrame(list(self.records), columns=_RECORD_COLUMNS)

    def _grouped(self, key: str) -> pd.DataFrame:
        df = self.calls()
        grouped = df.groupby(key, sort=False).agg(
            calls=("op", "size"), rule=("rule", "first"), flops=("flops", "sum"), macs=("macs", "sum"),
            bytes_read=("bytes_read", "sum"), bytes_written=("bytes_written", "sum"))
        if key != "op":
            grouped = grouped.drop(columns="rule")
        return grouped.astype({c: "int64" for c in grouped.columns if c != "rule"})

    def by_op(self) -> pd.DataFrame:
        """One row per aten op (in order of first call): calls, rule, flops, macs, bytes_read, bytes_written."""
        return self._grouped("op")

    def by_module(self) -> pd.DataFrame:
        """One row per module that ran ops itself (dotted name; ``""`` is the model's own forward)."""
        return self._grouped("module")

    def __repr__(self) -> str:
        return (f"OpCount(flops={self.flops:,}, macs={self.macs:,}, bytes_read={self.bytes_read:,}, "
                f"bytes_written={self.bytes_written:,}, calls={len(self.records)})")


def count_ops(model: nn.Module, x) -> OpCount:
    """Count every aten op of ``model(x)`` (no gradients recorded), attributing each to the module that ran it.

    ``x`` is a tensor, or a tuple of positional arguments. The model runs in whatever mode
    (train/eval) it is in. See the module docstring for what one FLOP and one byte mean.
    A model and input on the ``meta`` device (shapes only, nothing computed) give the same
    counts, at no cost: the way to count a large network.

    >>> import torch
    >>> from torch import nn
    >>> r = count_ops(nn.Linear(8, 4), torch.zeros(2, 8))
    >>> r.macs, r.flops  # 2*8*4 MACs; 2 FLOPs each, + 1 per output for the bias
    (64, 136)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    inputs = x if isinstance(x, tuple) else (x,)
    if not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise TypeError(f"x must be a torch.Tensor or a non-empty tuple of tensors, got {type(x).__name__}")
    stack = [""]
    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(lambda m, a, name=name: stack.append(name)))
            handles.append(module.register_forward_hook(lambda m, a, o: stack.pop() and None))  # None: keep the output
    counter = _Counter(stack)
    try:
        with torch.no_grad(), counter:
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return OpCount(tuple(counter.records), input_bytes=_distinct_bytes(list(inputs)))


# --------------------------------------------------------------------------------------------
# Closed forms: the same convention, derived by hand from each module's forward.
# --------------------------------------------------------------------------------------------


class Cost(NamedTuple):
    """FLOPs, MACs and bytes of a forward pass, as :func:`count_ops` counts them."""

    flops: int
    macs: int
    bytes_read: int
    bytes_written: int

    def __add__(self, other):  # type: ignore[override]  (sum of costs, not tuple concatenation)
        return Cost(*(a + b for a, b in zip(self, other)))

    @property
    def bytes(self) -> int:
        return self.bytes_read + self.bytes_written


_ZERO = Cost(0, 0, 0, 0)


def _elementwise(e: int, out: int, *inputs: int) -> Cost:
    """1 FLOP per output element; reads each (distinct) input, writes the output."""
    return Cost(out, 0, e * sum(inputs), e * out)


def _reduction(e: int, n_in: int, n_out: int) -> Cost:
    """1 FLOP per input element."""
    return Cost(n_in, 0, e * n_in, e * n_out)


def _move(e: int, n: int) -> Cost:
    """cat / copy: no FLOPs, read n elements and write n."""
    return Cost(0, 0, e * n, e * n)


def _matmul(e: int, rows: int, fin: int, fout: int, bias: bool) -> Cost:
    """A linear layer on (rows, fin): rows*fin*fout MACs = 2 FLOPs each, + 1 per output for the bias."""
    macs = rows * fin * fout
    return Cost(2 * macs + (rows * fout if bias else 0), macs,
                e * (rows * fin + fin * fout + (fout if bias else 0)), e * rows * fout)


def _conv(e: int, n_in: int, n_out: int, weight: int, per_output_macs: int, bias_len: int) -> Cost:
    """A convolution: per_output_macs = (C_in / groups) x kernel volume MACs per output element."""
    macs = n_out * per_output_macs
    return Cost(2 * macs + (n_out if bias_len else 0), macs, e * (n_in + weight + bias_len), e * n_out)


def _batch_norm_eval(e: int, n: int, channels: int) -> Cost:
    """Inference batch norm: 2 FLOPs per element; reads x and 4 per-channel vectors."""
    return Cost(2 * n, 0, e * (n + 4 * channels), e * n)


def _require_eval(module: nn.Module) -> None:
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in module.modules()):
        raise ValueError(
            f"closed_form covers inference only: {type(module).__name__} has a BatchNorm in training mode; "
            "call module.eval() first")


def _conv2d_cost(m: nn.Conv2d, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """``nn.Conv2d`` on (N, C, H, W), output (N, C', H', W') with
    ``H' = floor((H + 2p - d(k-1) - 1) / s) + 1``:
    MACs = N C' H' W' (C / g) k_h k_w; FLOPs = 2 MACs (+ N C' H' W' with a bias);
    read N C H W + C' (C / g) k_h k_w (+ C'); write N C' H' W'."""
    if isinstance(m.padding, str):
        pads = [0, 0] if m.padding == "valid" else [None, None]
    else:
        pads = list(m.padding)
    sizes = []
    for size, k, s, d, p in zip((h, w), m.kernel_size, m.stride, m.dilation, pads):
        sizes.append(size if p is None else (size + 2 * p - d * (k - 1) - 1) // s + 1)
    out = n * m.out_channels * sizes[0] * sizes[1]
    per_output = (c // m.groups) * m.kernel_size[0] * m.kernel_size[1]
    return _conv(e, n * c * h * w, out, m.weight.numel(), per_output, m.out_channels if m.bias is not None else 0)


def _linear_cost(m: nn.Linear, n: int, fin: int, e: int) -> Cost:
    """``nn.Linear`` on (N, F): MACs = N F F'; FLOPs = 2 N F F' (+ N F' with a bias);
    read N F + F F' (+ F'); write N F'."""
    return _matmul(e, n, fin, m.out_features, m.bias is not None)


def _se_cost(m, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """SE (``x * sigmoid(W2 relu(W1 mean_hw(x)))``), hidden width r' = C // r, with P = N C H W:

    mean (P FLOPs) -> linear C->r' -> relu (N r') -> linear r'->C -> sigmoid (N C) -> x * gate (P).
    FLOPs = 2P + 4 N C r' + N r' + N C (+ N r' + N C with biases);
    bytes read = 4 * (2P + 2 N C + N C + 2 N r' + 2 C r' + N C) (+ 4(r' + C)),
    written = 4 * (P + N C + 2 N r' + N C) for float32 (the view ``[:, :, None, None]`` moves nothing).
    """
    p, hid = n * c * h * w, m.reduce.out_features
    bias = m.reduce.bias is not None
    return (_reduction(e, p, n * c) + _matmul(e, n, c, hid, bias) + _elementwise(e, n * hid, n * hid)
            + _matmul(e, n, hid, c, bias) + _elementwise(e, n * c, n * c) + _elementwise(e, p, p, n * c))


def _channel_attention_cost(m, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """CBAM's M_c (Eq. 2), with P = N C H W and r' = C // r: the mean over H, W and the maximum
    (``amax``), P FLOPs each; the shared MLP on each descriptor (linear C->r', in-place ReLU, linear
    r'->C: its weights read twice); the sum of the two (N C), sigmoid (N C), ``x * gate`` (P).

    FLOPs = 3P + 2 (4 N C r' + N r') + 2 N C (+ 2 (N r' + N C) with biases)."""
    p, hid = n * c * h * w, m.mlp[0].out_features
    bias = m.mlp[0].bias is not None
    mlp = _matmul(e, n, c, hid, bias) + _elementwise(e, n * hid, n * hid) + _matmul(e, n, hid, c, bias)
    return (_reduction(e, p, n * c) + mlp + _reduction(e, p, n * c) + mlp
            + _elementwise(e, n * c, n * c, n * c) + _elementwise(e, n * c, n * c) + _elementwise(e, p, p, n * c))


def _spatial_attention_cost(m, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """CBAM's M_s (Eq. 3), with P = N C H W: the mean and the maximum across C (P FLOPs each, N H W
    written each), ``cat`` of the two (N, 1, H, W) maps (2 N H W moved), a 2->1 k x k conv without
    bias (N H W outputs x 2 k^2 MACs), BatchNorm (eval) if any, sigmoid (N H W) and ``x * gate`` (P).

    FLOPs = 2P + 4 N H W k^2 + [2 N H W] + N H W + P."""
    p, hw, k = n * c * h * w, n * h * w, m.kernel_size
    cost = (_reduction(e, p, hw) + _reduction(e, p, hw) + _move(e, 2 * hw)
            + _conv(e, 2 * hw, hw, 2 * k * k, 2 * k * k, 0))
    if isinstance(m.norm, nn.BatchNorm2d):
        cost = cost + _batch_norm_eval(e, hw, 1)
    return cost + _elementwise(e, hw, hw) + _elementwise(e, p, p, hw)


def _cbam_cost(m, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """CBAM (Eq. 1) = channel attention, then spatial attention on its output (same shape)."""
    return _channel_attention_cost(m.channel, n, c, h, w, e) + _spatial_attention_cost(m.spatial, n, c, h, w, e)


def _eca_cost(m, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """ECA: mean (P), a 1-D conv of size k over the C descriptors without bias
    (N C outputs x k MACs, reading N C + k), sigmoid (N C), x * gate (P).
    FLOPs = 2P + 2 N C k + N C."""
    p = n * c * h * w
    return (_reduction(e, p, n * c) + _conv(e, n * c, n * c, m.kernel_size, m.kernel_size, 0)
            + _elementwise(e, n * c, n * c) + _elementwise(e, p, p, n * c))


def _coord_cost(m, n: int, c: int, h: int, w: int, e: int) -> Cost:
    """Coordinate Attention (Eqs. 4-9), hidden width m', L = H + W, P = N C H W:
    the mean over W and over H (P FLOPs each), ``cat`` of the two (N C L moved), a 1x1 conv C->m'
    on N m' L outputs, BatchNorm (eval, 2 per element), the activation (N m' L), 1x1 convs m'->C
    on the H and W parts, two sigmoids (N C H, N C W), then ``x * g_h`` (P) and ``* g_w`` (P).

    FLOPs = 2P + 2 N m' L C (+ N m' L) + 2 N m' L + N m' L + 2 N C m' L (+ N C L) + N C L + 2P,
    the terms in parentheses with biases."""
    p, hid, length = n * c * h * w, m.transform.out_channels, h + w
    bias = m.transform.bias is not None
    to_c = c if bias else 0
    return (_reduction(e, p, n * c * h) + _reduction(e, p, n * c * w) + _move(e, n * c * length)
            + _conv(e, n * c * length, n * hid * length, hid * c, c, hid if bias else 0)
            + _batch_norm_eval(e, n * hid * length, hid) + _elementwise(e, n * hid * length, n * hid * length)
            + _conv(e, n * hid * h, n * c * h, c * hid, hid, to_c) + _elementwise(e, n * c * h, n * c * h)
            + _conv(e, n * hid * w, n * c * w, c * hid, hid, to_c) + _elementwise(e, n * c * w, n * c * w)
            + _elementwise(e, p, p, n * c * h) + _elementwise(e, p, p, n * c * w))


def closed_form(module: nn.Module, shape, dtype: torch.dtype = torch.float32) -> Cost:
    """The hand-derived :class:`Cost` of ``module`` on an input of ``shape``, in inference mode.

    Covers ``nn.Conv2d`` and ``nn.Linear`` (2-D input) and this package's SE, ECA,
    ChannelAttention, SpatialAttention, CBAM and CoordAttention (the plain modules: what the papers'
    equations compute); each formula is in the docstring of its ``_<name>_cost`` function.
    """
    from .cbam import CBAM, ChannelAttention, SpatialAttention
    from .coord import CoordAttention
    from .eca import ECA
    from .se import SE

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(shape, (tuple, list, torch.Size)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise ValueError(f"shape must be a tuple of ints >= 1, got {shape!r}")
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    e = torch.empty((), dtype=dtype).element_size()
    shape = tuple(shape)
    if isinstance(module, nn.Linear):
        if len(shape) != 2 or shape[1] != module.in_features:
            raise ValueError(f"shape must be (N, {module.in_features}) for {module}, got {shape}")
        return _linear_cost(module, *shape, e)
    forms = [(nn.Conv2d, _conv2d_cost), (SE, _se_cost), (ECA, _eca_cost), (ChannelAttention, _channel_attention_cost),
             (SpatialAttention, _spatial_attention_cost), (CBAM, _cbam_cost), (CoordAttention, _coord_cost)]
    for cls, form in forms:
        if type(module) is cls:
            if len(shape) != 4:
                raise ValueError(f"shape must be (N, C, H, W) for {cls.__name__}, got {shape}")
            expected = module.in_channels if cls is nn.Conv2d else getattr(module, "channels", None)
            if cls is CBAM:
                expected = module.channel.channels
            if expected is not None and shape[1] != expected:
                raise ValueError(f"shape has {shape[1]} channels, but the {cls.__name__} expects {expected}")
            _require_eval(module)
            return form(module, *shape, e)
    allowed = "Conv2d, Linear, SE, ECA, ChannelAttention, SpatialAttention, CBAM, CoordAttention"
    raise TypeError(f"closed_form has no formula for {type(module).__name__}; allowed: {allowed}")
