"""A network's size: its parameters, and the FLOPs of its convolutions and matrix products.

``FlopCounterMode`` counts convolutions and matrix products only (2 FLOPs per multiply-add) and
nothing else: no BatchNorm, activation, pooling, or the gates' element-wise products. The table
of backbones beside the papers' figures is :func:`attn_src.compare.backbone_grid`.
"""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_int


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
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    was_training = model.training
    model.eval()
    try:
        with counter, torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops()
