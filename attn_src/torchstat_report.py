"""``stat``: torchstat's per-layer report, mended for pandas 2/3 and numpy 1.24+, returned as a DataFrame.

torchstat 0.0.7 (the tool the blog post used) measures each *leaf* module by
replacing its class's ``__call__`` with a wrapper that records the input and
output shapes, the parameter count and its own MAdd, FLOPs and memory-traffic
formulas. Its report step no longer runs: it calls ``DataFrame.append``
(removed in pandas 2), formats blank cells as floats, and prints
"X is not supported!" for every leaf it has no formula for.

:func:`stat` keeps torchstat's measurement, the part worth keeping, and builds
the report itself:

- it runs torchstat's ``ModelHook`` on a *copy* of the model, puts every patched
  ``__call__`` back afterwards, and restores the random-number state torchstat
  consumes (``torch.rand`` for its input), so the caller's model and a seeded
  notebook are left exactly as they were;
- it returns a :class:`pandas.DataFrame`, one row per leaf module plus a
  ``total`` row, and prints nothing (torchstat's messages are swallowed; the
  leaves it cannot measure are listed in ``df.attrs["unsupported"]``).

What torchstat counts is unchanged, including its blind spots, which is the point
of showing it next to :func:`attn_src.count_ops`: a batch of 1; zero for every leaf
it has no formula for (``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``, ``Sigmoid``,
``Conv1d``, ``Hardswish``, ...); nothing at all for functional code in a
``forward`` (``x.mean``, ``torch.cat``, ``x * g``), which is not a module; a
module called twice (CBAM's shared MLP) is reported for its last call only (the ``calls``
column says how many calls ran); and a ``Linear`` on several rows has the MAdd of one row
(the fast CBAM runs its MLP once on both descriptors stacked), though its Flops count every row. One fix: torchstat's own total row
shows the *last* layer's MemRead/MemWrite; here the totals are sums.
"""
from __future__ import annotations

import contextlib
import copy
import io
import numbers
from collections import OrderedDict

import numpy as np
import pandas as pd
import torch
from torch import nn

# Importing torchstat sets three pandas display options globally; put them back.
with pd.option_context(
    "display.width", pd.get_option("display.width"),
    "display.max_rows", pd.get_option("display.max_rows"),
    "display.max_columns", pd.get_option("display.max_columns"),
):
    from torchstat.model_hook import ModelHook
    from torchstat.statistics import convert_leaf_modules_to_stat_tree

__all__ = ["COLUMNS", "stat"]

#: The report's columns, in order (torchstat's, less its single-call ``duration``, plus ``type`` and ``calls``).
COLUMNS = (
    "type", "input shape", "output shape", "params", "memory(MB)",
    "MAdd", "Flops", "MemRead(B)", "MemWrite(B)", "MemR+W(B)", "calls",
)
_SUMMED = ("params", "memory(MB)", "MAdd", "Flops", "MemRead(B)", "MemWrite(B)", "MemR+W(B)", "calls")
_MISSING = object()


def _check_args(model: object, input_size: object, query_granularity: object) -> tuple[int, int, int]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(input_size, (list, tuple)) or len(input_size) != 3:
        raise ValueError(
            f"input_size must be a list or tuple of 3 ints [C, H, W] (torchstat adds a batch of 1), got {input_size!r}"
        )
    for i, size in enumerate(input_size):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"input_size[{i}] must be an int >= 1, got {size!r} (input_size={input_size!r})")
    if isinstance(query_granularity, bool) or not isinstance(query_granularity, numbers.Integral):
        raise TypeError(f"query_granularity must be an int >= 1, got {query_granularity!r}")
    if query_granularity < 1:
        raise ValueError(f"query_granularity must be an int >= 1, got {query_granularity}")
    return tuple(int(s) for s in input_size)  # type: ignore[return-value]


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if not list(m.children())]


def _shape(buffer: torch.Tensor, called: bool) -> str:
    return " x ".join(str(int(s)) for s in buffer.tolist()) if called else ""


@contextlib.contextmanager
def _numpy_long():
    """Give numpy its ``np.long`` while torchstat runs: its hook asks for it, and numpy 1.24-1.26 lack it."""
    if "long" in vars(np):  # numpy >= 2 (numpy 1.x answers the name, if at all, with a warning)
        yield
        return
    np.long = np.int_  # C long, what the name meant before numpy 1.24
    try:
        yield
    finally:
        del np.long


def _measure(model: nn.Module, input_size: tuple[int, int, int]) -> tuple[nn.Module, dict[str, int], list[str]]:
    """Run torchstat's ModelHook on a copy; return the copy, calls per leaf and the unsupported leaf types."""
    work = copy.deepcopy(model).cpu()
    leaf_classes = {type(m) for _, m in _leaves(work)}
    saved = {cls: cls.__dict__.get("__call__", _MISSING) for cls in leaf_classes}
    calls = {name: 0 for name, _ in _leaves(work)}
    handles = [
        m.register_forward_pre_hook(lambda mod, args, name=name: calls.__setitem__(name, calls[name] + 1))
        for name, m in _leaves(work)
    ]
    printed = io.StringIO()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad(), contextlib.redirect_stdout(printed), \
                _numpy_long():
            ModelHook(work, list(input_size))  # patches __call__, runs torch.rand(1, C, H, W) through the copy
    except AssertionError as err:  # torchstat's formulas assert the layouts they know
        raise ValueError(
            f"torchstat cannot measure this model with input_size={list(input_size)}: one of its per-layer "
            "formulas rejected a layer's input (they assume a 2-D input to Linear and 4-D inputs to Conv2d, "
            "BatchNorm2d and pooling layers); attn_src.count_ops counts any model") from err
    finally:
        for cls, call in saved.items():  # torchstat never undoes its patch: every later call would be measured
            if call is _MISSING:
                if "__call__" in cls.__dict__:
                    delattr(cls, "__call__")
            else:
                cls.__call__ = call
        for handle in handles:
            handle.remove()
    unsupported = sorted({line.split(": ", 1)[1].split(" is not supported")[0]
                          for line in printed.getvalue().splitlines() if "is not supported" in line})
    return work, calls, unsupported


def stat(model: nn.Module, input_size, query_granularity: int = 1) -> pd.DataFrame:
    """torchstat's per-layer statistics of ``model`` for one input of size ``input_size``, as a DataFrame.

    Same arguments as ``torchstat.stat``, so ``stat(model, input_size=[320, 32, 32])`` works as
    in the blog post. Returns one row per leaf module (index: its dotted name) and a final
    ``total`` row, with the columns :data:`COLUMNS`; prints nothing. ``query_granularity``
    groups rows as torchstat does (1: every leaf; larger: parents of leaves, summed).
    ``df.attrs["unsupported"]`` lists the leaf types torchstat counted as 0.

    >>> from torch import nn
    >>> df = stat(nn.Conv2d(3, 8, 3, padding=1, bias=False), [3, 16, 16])
    >>> int(df.loc["total", "MAdd"]) == 8 * 16 * 16 * (2 * 3 * 3 * 3 - 1)
    True
    """
    input_size = _check_args(model, input_size, query_granularity)
    work, calls, unsupported = _measure(model, input_size)
    rows = {}
    for name, m in _leaves(work):
        called = calls[name] > 0
        read, write = (int(v) for v in m.Memory.tolist())
        rows[name or type(m).__name__] = {
            "type": type(m).__name__,
            "input shape": _shape(m.input_shape, called),
            "output shape": _shape(m.output_shape, called),
            "params": int(m.parameter_quantity.item()) if called else sum(p.numel() for p in m._parameters.values() if p is not None),
            "memory(MB)": round(float(m.inference_memory.item()), 3),
            "MAdd": int(m.MAdd.item()),
            "Flops": int(m.Flops.item()),
            "MemRead(B)": read,
            "MemWrite(B)": write,
            "MemR+W(B)": read + write,
            "calls": calls[name],
        }
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    if query_granularity > 1 and len(df) > 0:
        df = _group(work, df, query_granularity)
    total = {c: df[c].sum() for c in _SUMMED}
    total["memory(MB)"] = round(float(total["memory(MB)"]), 3)
    df.loc["total"] = {"type": "", "input shape": "", "output shape": "", **total}
    for column in _SUMMED:
        df[column] = df[column].astype("float64" if column == "memory(MB)" else "int64")
    df.index.name = "module name"
    df.attrs["unsupported"] = unsupported
    return df


def _group(work: nn.Module, df: pd.DataFrame, query_granularity: int) -> pd.DataFrame:
    """torchstat's grouping: the nodes its StatTree collects at this granularity, each summing its leaves."""
    tree = convert_leaf_modules_to_stat_tree(OrderedDict(_leaves(work)))
    groups = [node.name for node in tree.get_collected_stat_nodes(query_granularity)]
    out = {}
    for group in groups:
        members = df.loc[[n for n in df.index if n == group or n.startswith(group + ".")]]
        if members.empty:
            continue
        row = {c: members[c].sum() for c in _SUMMED}
        single = len(members) == 1
        out[group] = {
            "type": members["type"].iloc[0] if single else "",
            "input shape": members["input shape"].iloc[0],
            "output shape": members["output shape"].iloc[-1],
            **row,
        }
    return pd.DataFrame.from_dict(out, orient="index", columns=list(COLUMNS))
