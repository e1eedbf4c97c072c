"""The fast path: the four modules computed with every speed trick this book measured, opt in.

The modules a chapter shows (``attn_src.SE``, ``CBAM``, ``ECA``, ``CoordAttention``) are the papers'
equations in plain torch. This package holds their fast twins, with the same constructors, parameters
and ``state_dict`` and the same outputs and gradients (``tests/test_fast.py``), and the operations
they are made of (:mod:`attn_src.fast.ops`). The chapter "Making attention fast" measures each trick.

>>> import torch
>>> from attn_src.fast import FastCBAM
>>> FastCBAM(64)(torch.randn(2, 64, 8, 8)).shape
torch.Size([2, 64, 8, 8])

In a backbone: ``resnet50("cbam", fast=True)`` or ``attach(model, "cbam", where=..., fast=True)``;
for a network already built (official weights loaded, say), :func:`convert`.
"""
import importlib
import logging

import torch
from torch import nn

from .modules import (FAST_TWINS, FastCBAM, FastChannelAttention, FastCoordAttention, FastECA, FastSE,
                      FastSpatialAttention, convert)
from .ops import CACHE_BLOCK, block_bytes

__all__ = ["FAST_TWINS", "FastCBAM", "FastChannelAttention", "FastCoordAttention", "FastECA", "FastSE",
           "FastSpatialAttention", "CACHE_BLOCK", "block_bytes", "compiled", "convert"]


def compiled(module: nn.Module) -> nn.Module:
    """``torch.compile(module, dynamic=False)``, one shape at a time, and quiet where it loads its compiler.

    A CUDA build of torch on a machine without a GPU but with a CUDA toolkit (Colab's CPU runtime)
    logs a warning, "No CUDA runtime is found", when inductor first loads its C++ toolchain
    (``torch.utils.cpp_extension``); on the CPU that toolchain needs no CUDA, so the warning is
    silenced while it loads.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        importlib.import_module("torch.utils.cpp_extension")  # logs on its first import only
    finally:
        logger.setLevel(level)
    return torch.compile(module, dynamic=False)
