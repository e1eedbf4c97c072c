"""The backbones' sizes next to the figures the papers quote.

Parameters are counted exactly. Compute is counted by ``torch.utils.flop_counter.FlopCounterMode``,
which counts convolutions and matrix products only (2 FLOPs per multiply-add) and nothing else:
no BatchNorm, activation, pooling, or the gates' element-wise products. The papers' "GFLOPs"
and "MAdds" are multiply-adds, so the table divides by 2 (``GMACs``). Models are built and run
on the ``meta`` device: only shapes are computed, so the whole table takes a fraction of a second.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .._validate import check_bool, check_int
from .mobilenet import mobilenet_v2
from .resnet import resnet50

# Figures as the papers print them: (params in millions, multiply-adds in G, where).
# None: the paper gives no figure for this configuration.
PAPER_FIGURES = {
    "ResNet-50": (25.56, 3.858, "woo2018cbam", "CBAM, Table 4"),
    "SE-ResNet-50 (FC biases)": (28.09, 3.860, "woo2018cbam", "CBAM, Table 4"),
    "SE-ResNet-50 (no FC biases)": (None, None, "", ""),
    "CBAM-ResNet-50": (28.09, 3.864, "woo2018cbam", "CBAM, Table 4"),
    "ECA-ResNet-50, k = [3, 5, 5, 7]": (24.37, 3.86, "wang2020eca", "ECA, abstract; official README"),
    "ECA-ResNet-50, k = psi(C) = [5, 5, 5, 7]": (None, None, "", ""),
    "MobileNetV2 1.0": (3.5, 0.300, "hou2021coordinate", "CA paper; official README"),
    "MobileNetV2 + CA": (3.95, 0.310, "hou2021coordinate", "CA paper; official README"),
}

BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "ResNet-50": lambda: resnet50(),
    "SE-ResNet-50 (FC biases)": lambda: resnet50("se"),
    "SE-ResNet-50 (no FC biases)": lambda: resnet50("se", bias=False),
    "CBAM-ResNet-50": lambda: resnet50("cbam"),
    "ECA-ResNet-50, k = [3, 5, 5, 7]": lambda: resnet50("eca", kernel_size=[3, 5, 5, 7]),
    "ECA-ResNet-50, k = psi(C) = [5, 5, 5, 7]": lambda: resnet50("eca"),
    "MobileNetV2 1.0": lambda: mobilenet_v2(),
    "MobileNetV2 + CA": lambda: mobilenet_v2("ca"),
}


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not; BatchNorm's running statistics are buffers, not counted)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters())


def conv_matmul_flops(model: nn.Module, size: int = 224, in_channels: int = 3) -> int:
    """FLOPs of one ``size`` x ``size`` image through ``model``, as FlopCounterMode counts them.

    Only convolutions and matrix products count, 2 FLOPs per multiply-add. The model should
    be on the ``meta`` device (build it inside ``with torch.device("meta"):``) or on the CPU.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    size = check_int("size", size)
    in_channels = check_int("in_channels", in_channels)
    device = next(model.parameters()).device
    x = torch.zeros(1, in_channels, size, size, device=device)
    counter = FlopCounterMode(display=False)
    was_training = model.training
    model.eval()
    try:
        with counter, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops()


def backbone_table(size: int = 224, complete: bool = False) -> pd.DataFrame:
    """One row per backbone: our parameter count and GMACs next to the paper's quoted figures.

    Columns: ``model``, ``params`` (exact), ``paper params (M)``, ``GFLOPs`` (FlopCounterMode,
    2 per multiply-add), ``GMACs`` (= GFLOPs / 2, the papers' unit), ``paper GMACs``, ``source``
    (the paper quoted) and ``cite`` (its key in ``book/references.bib``). With ``complete=True``,
    a column ``complete GFLOPs`` adds :func:`attn_src.count_ops`' count of every operation
    (BatchNorm, activations, pooling, the gates' products included).
    """
    size = check_int("size", size)
    check_bool("complete", complete)
    if complete:
        from ..opcount import count_ops  # imported here: attn_src.opcount is optional for the table
    rows = []
    for name, build in BUILDERS.items():
        with torch.device("meta"):
            model = build()
        flops = conv_matmul_flops(model, size)
        paper_params, paper_macs, cite, source = PAPER_FIGURES[name]
        rows.append({
            "model": name,
            "params": count_parameters(model),
            "paper params (M)": paper_params,
            "GFLOPs": round(flops / 1e9, 3),
            "GMACs": round(flops / 2e9, 3),
            "paper GMACs": paper_macs,
            "source": source,
            "cite": cite,
        })
        if complete:
            with torch.device("meta"):
                ops = count_ops(model.eval(), torch.zeros(1, 3, size, size))
            rows[-1]["complete GFLOPs"] = round(ops.flops / 1e9, 3)
    return pd.DataFrame(rows)
