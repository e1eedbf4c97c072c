"""Head to head: the tables of the comparison chapter, built from the tools, never typed in.

- :func:`cost_table`: SE, CBAM, ECA and CA at the same input shapes: parameters, the complete
  op count (:func:`attn_src.count_ops`) beside its closed form, torch's ``FlopCounterMode`` and
  torchstat's count (:func:`attn_src.stat`), and the bytes every op reads and writes.
- :func:`measured_copies`: their measured time in copies of the input (:func:`attn_src.benchmark`),
  forward and forward + backward; machine-dependent, so chapters print it in ignored cells.
- :func:`measured_functions`: the same for single operations (a reduction, a product), to see
  which part of a module a shape makes slow.
- :func:`backbone_grid`: ResNet-50 and MobileNetV2 with each module, our exact counts next to
  the figures the papers quote.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ._validate import check_bool, check_int, check_positive_number
from .models import mobilenet_v2, resnet50
from .models.summary import count_parameters
from .opcount import closed_form, count_ops
from .registry import MODULES
from .timing import benchmark
from .torchstat_report import stat

__all__ = ["BACKBONES", "MODULES", "PAPER", "SHAPES", "backbone_grid", "cost_table", "measured_copies",
           "measured_functions"]

#: A large early-stage map and a small late-stage one: (N, C, H, W).
SHAPES = ((8, 256, 56, 56), (32, 512, 7, 7))

#: (network, attention) -> builder. ECA in ResNet-50 uses the official per-stage kernels (and, in a
#: row of its own, the kernels psi(C) gives); CA in MobileNetV2 goes on the hidden width (its official
#: position), the others after the projection.
BACKBONES: dict[tuple[str, str], Callable[[], nn.Module]] = {
    **{("ResNet-50", name): (lambda a=attention, o=options: resnet50(a, **o)) for name, attention, options in [
        ("none", None, {}), ("SE", "se", {}), ("SE, no FC biases", "se", {"bias": False}), ("CBAM", "cbam", {}),
        ("ECA", "eca", {"kernel_size": [3, 5, 5, 7]}), ("ECA, k = psi(C)", "eca", {}), ("CA", "ca", {})]},
    **{("MobileNetV2", name): (lambda a=attention: mobilenet_v2(a)) for name, attention in [
        ("none", None), ("SE", "se"), ("CBAM", "cbam"), ("ECA", "eca"), ("CA", "ca")]},
}

#: The figures the papers print for each (network, attention): (params in M, multiply-adds in G,
#: bib key, where). Missing: the paper gives no figure for that configuration. The MobileNetV2 + SE /
#: CBAM figures are the CA paper's comparison, also in its official README.
PAPER: dict[tuple[str, str], tuple[float, float, str, str]] = {
    ("ResNet-50", "none"): (25.56, 3.858, "woo2018cbam", "CBAM, Table 4"),
    ("ResNet-50", "SE"): (28.09, 3.860, "woo2018cbam", "CBAM, Table 4"),
    ("ResNet-50", "CBAM"): (28.09, 3.864, "woo2018cbam", "CBAM, Table 4"),
    ("ResNet-50", "ECA"): (24.37, 3.86, "wang2020eca", "ECA, abstract; official README"),
    ("MobileNetV2", "none"): (3.5, 0.300, "hou2021coordinate", "CA paper; official README"),
    ("MobileNetV2", "SE"): (3.89, 0.300, "hou2021coordinate", "CA paper; official README"),
    ("MobileNetV2", "CBAM"): (3.89, 0.300, "hou2021coordinate", "CA paper; official README"),
    ("MobileNetV2", "CA"): (3.95, 0.310, "hou2021coordinate", "CA paper; official README"),
}


def _check_shapes(shapes) -> tuple[tuple[int, int, int, int], ...]:
    if not isinstance(shapes, (list, tuple)) or not shapes:
        raise ValueError(f"shapes must be a non-empty list of (N, C, H, W) tuples, got {shapes!r}")
    for shape in shapes:
        if not isinstance(shape, (list, tuple)) or len(shape) != 4 or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
            raise ValueError(f"every shape must be an (N, C, H, W) tuple of 4 ints >= 1, got {shape!r}")
    return tuple(tuple(s) for s in shapes)


def _check_modules(modules) -> dict[str, Callable[[int], nn.Module]]:
    modules = MODULES if modules is None else modules
    if not isinstance(modules, dict) or not modules or not all(callable(f) for f in modules.values()):
        raise TypeError(f"modules must be a non-empty dict {{name: factory(channels) -> nn.Module}}, got {modules!r}")
    return modules


def _label(shape) -> str:
    return " x ".join(str(s) for s in shape)


def cost_table(shapes=SHAPES, modules: dict | None = None) -> pd.DataFrame:
    """What each module costs at each input shape, by count (deterministic: no timing).

    One row per (module, input). Operation counts are **per image** (torchstat only knows a
    batch of 1, so every column of that group is measured on one image); memory traffic is
    for the **whole batch** of the given shape, which is what a timing measures.

    Columns:
        ``params``; ``FLOPs / image`` (:func:`attn_src.count_ops`: every aten op), ``closed form``
        (:func:`attn_src.opcount.closed_form`, derived by hand; empty for a module it has no formula
        for) and ``MACs / image`` (those of convolutions and matrix products); ``FlopCounterMode``
        (torch's own counter: convolutions and matrix products, 2 per MAC); ``torchstat Flops`` and
        ``torchstat MAdd`` (the ``total`` row of :func:`attn_src.stat`); ``MB read`` and
        ``MB written`` (count_ops' bytes for the batch, 10^6 bytes); ``copies (counted)`` (those
        bytes over one read and one write of the input); ``aten calls`` (operators one forward
        runs, views included: each costs a fixed overhead).

    Args:
        shapes: input shapes (N, C, H, W), float32.
        modules: ``{name: factory(channels) -> nn.Module}``; default :data:`attn_src.MODULES`.
    """
    shapes, modules = _check_shapes(shapes), _check_modules(modules)
    rows = []
    for shape in shapes:
        x = torch.zeros(shape)
        for name, factory in modules.items():
            module = factory(shape[1]).eval()
            one, batch = count_ops(module, x[:1]), count_ops(module, x)
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                module(x[:1])
            try:
                form = closed_form(module, (1, *shape[1:])).flops
            except TypeError:  # a module of the reader's own: no formula
                form = None
            report = stat(module, list(shape[1:]))
            rows.append({
                "module": name, "input": _label(shape),
                "params": count_parameters(module),
                "FLOPs / image": one.flops,
                "closed form": form,
                "MACs / image": one.macs,
                "FlopCounterMode": int(counter.get_total_flops()),
                "torchstat Flops": int(report.loc["total", "Flops"]),
                "torchstat MAdd": int(report.loc["total", "MAdd"]),
                "MB read": round(batch.bytes_read / 1e6, 2),
                "MB written": round(batch.bytes_written / 1e6, 2),
                "copies (counted)": round(batch.copies, 2),
                "aten calls": len(batch.records),
            })
    table = pd.DataFrame(rows).set_index(["module", "input"])
    return table.astype({"closed form": "Int64"})


def measured_copies(shapes=SHAPES, modules: dict | None = None, *, backward: bool = True,
                    repeats: int = 5, min_run_time: float = 0.05, clock: str = "cpu", seed: int = 0) -> pd.DataFrame:
    """Measured time of each module in copies of its input (:func:`attn_src.benchmark`), one thread.

    One row per (module, input); columns ``forward ms`` and ``forward copies`` (inference,
    no gradients), and with ``backward=True`` also ``fwd+bwd copies`` (gradients for the input
    and every parameter). Times depend on the machine: print them in cells that tests do not
    compare. ``clock="cpu"`` (the default) counts this thread's CPU time only, steadier than
    wall time while other processes load the machine; ``repeats``, ``min_run_time`` and ``clock``
    go to :func:`attn_src.benchmark`. ``seed`` draws the random input (a module's time does not depend
    on the values, but a zero input would make CBAM's max pooling see ties everywhere).
    """
    shapes, modules = _check_shapes(shapes), _check_modules(modules)
    check_bool("backward", backward)
    repeats = check_int("repeats", repeats)
    min_run_time = check_positive_number("min_run_time", min_run_time)
    check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for shape in shapes:
        x = torch.randn(shape, generator=gen)
        for name, factory in modules.items():
            module = factory(shape[1]).eval()
            forward = benchmark(module, x, repeats=repeats, min_run_time=min_run_time, clock=clock)
            row = {"module": name, "input": _label(shape), "forward ms": round(forward.median * 1e3, 2),
                   "forward copies": round(forward.copies, 1)}
            if backward:
                both = benchmark(module, x, backward=True, repeats=repeats, min_run_time=min_run_time, clock=clock)
                row["fwd+bwd copies"] = round(both.copies, 1)
            rows.append(row)
    return pd.DataFrame(rows).set_index(["module", "input"])


class _Function(nn.Module):
    """Wrap ``function(x)`` as a module, so :func:`attn_src.benchmark` can time it."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


def measured_functions(functions: dict, shapes=SHAPES, *, repeats: int = 5, min_run_time: float = 0.05,
                       clock: str = "cpu", seed: int = 0) -> pd.DataFrame:
    """Measured time of each ``function(x)`` in copies of ``x``, one row per function, one column per shape.

    ``functions`` maps a name to a function of the input tensor, e.g.
    ``{"mean over W": lambda x: x.mean(dim=3)}``; inference only (no gradients). Arguments as in
    :func:`measured_copies`; the numbers depend on the machine.
    """
    if not isinstance(functions, dict) or not functions or not all(callable(f) for f in functions.values()):
        raise TypeError(f"functions must be a non-empty dict {{name: function(x) -> tensor}}, got {functions!r}")
    shapes = _check_shapes(shapes)
    repeats = check_int("repeats", repeats)
    min_run_time = check_positive_number("min_run_time", min_run_time)
    check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    columns = {}
    for shape in shapes:
        x = torch.randn(shape, generator=gen)
        columns[_label(shape)] = [
            round(benchmark(_Function(f), x, repeats=repeats, min_run_time=min_run_time, clock=clock).copies, 1)
            for f in functions.values()]
    return pd.DataFrame(columns, index=pd.Index(list(functions), name="operation"))


def backbone_grid(size: int = 224) -> pd.DataFrame:
    """ResNet-50 and MobileNetV2, plain and with each module, next to the papers' figures: the book's one
    table of backbones.

    One row per (network, attention) of :data:`BACKBONES`, counted on the ``meta`` device (shapes
    only, no weights) for one ``size`` x ``size`` image. Columns: ``params`` (exact),
    ``+ params`` (over the plain network), ``GMACs`` (multiply-adds of convolutions and matrix
    products, the papers' "FLOPs"; equal to FlopCounterMode's FLOPs / 2), ``complete GFLOPs``
    (:func:`attn_src.count_ops`: every op, 2 per MAC), then the paper's ``paper params (M)`` and
    ``paper GMACs`` (NaN where it quotes none), ``source`` and ``cite`` (key in ``book/references.bib``).
    """
    size = check_int("size", size, minimum=32)
    rows, plain = [], {}
    for (network, attention), build in BACKBONES.items():
        with torch.device("meta"):
            model = build().eval()
            ops = count_ops(model, torch.zeros(1, 3, size, size))
        params = count_parameters(model)
        plain.setdefault(network, params)
        paper_params, paper_macs, cite, source = PAPER.get((network, attention), (None, None, "", ""))
        rows.append({
            "network": network, "attention": attention, "params": params, "+ params": params - plain[network],
            "GMACs": round(ops.macs / 1e9, 3), "complete GFLOPs": round(ops.flops / 1e9, 3),
            "paper params (M)": paper_params, "paper GMACs": paper_macs, "source": source, "cite": cite,
        })
    table = pd.DataFrame(rows).set_index(["network", "attention"])
    return table.astype({"paper params (M)": "float64", "paper GMACs": "float64"})
