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
=====================================  =======================================================

**Bytes.** An op reads every tensor argument once and writes every tensor it returns
once: ``bytes_read`` sums the distinct elements of its tensor inputs (a stride-0,
broadcast dimension counts once; the same tensor passed twice counts once) times the
element size, ``bytes_written`` the same over its outputs. A view moves nothing;
``empty`` allocates without writing. This is the traffic a kernel that streams its
operands once must pay; caches can only help small operands (weights, gates).

An op with no FLOP rule (say, a sort) is counted with 0 FLOPs, its bytes still
counted, and listed in :attr:`OpCount.uncounted`, so nothing is dropped silently.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ["OpCount", "count_ops"]

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
                aten.hardtanh.default, aten.hardtanh_.default, aten.relu6.default if hasattr(aten, "relu6") else None}
_ELEMENTWISE.discard(None)
_MOVE = {aten.cat.default, aten.clone.default, aten.copy_.default, aten._to_copy.default,
         aten.constant_pad_nd.default, aten.stack.default, aten.index_select.default,
         aten.repeat.default, aten.fill_.Scalar, aten.zero_.default, aten.zeros_like.default,
         aten.ones_like.default, aten.new_zeros.default, aten.zeros.default, aten.ones.default}
_ALLOC = {aten.empty.memory_format, aten.empty_like.default, aten.new_empty.default,
          aten.empty_strided.default, aten.new_empty_strided.default}


def _tensors(tree) -> list[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _distinct_bytes(tensors: list[torch.Tensor]) -> int:
    """Bytes of the distinct elements of ``tensors`` (broadcast dims once; a repeated tensor once)."""
    seen, total = set(), 0
    for t in tensors:
        key = (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype) if t.numel() else None
        if key is None or key in seen:
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
    if torch.Tag.reduction in func.tags:
        return "reduction", args[0].numel(), 0
    if func in _MOVE:
        return "move", 0, 0
    if func in _ALLOC:
        return "alloc", 0, 0
    if func in _ELEMENTWISE or torch.Tag.pointwise in func.tags:
        return "elementwise", first.numel() if first is not None else 0, 0
    return "uncounted", 0, 0


class _Counter(TorchDispatchMode):
    def __init__(self, stack: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.records: list[dict] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if _is_view(func) or torch.Tag.inplace_view in func.tags:
            rule, flops, macs, read, written = "view", 0, 0, 0, 0
        else:
            rule, flops, macs = _rule(func, args, kwargs, out)
            read = _distinct_bytes(_tensors((args, kwargs)))
            written = 0 if func in _ALLOC else _distinct_bytes(_tensors(out))
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
