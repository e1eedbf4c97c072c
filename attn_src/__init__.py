"""attn_src: the attention modules and tools behind *Attention in Convolutional Networks*.

>>> import torch
>>> from attn_src import SE
>>> SE(64)(torch.randn(2, 64, 8, 8)).shape
torch.Size([2, 64, 8, 8])

The modules are imported at once; the tools (``count_ops``, ``stat``, ``benchmark``, ``attach``)
load pandas and torchstat only when first used.
"""
from importlib import import_module

from .cbam import CBAM, ChannelAttention, SpatialAttention
from .coord import CoordAttention
from .device import DEVICE
from .eca import ECA, eca_kernel_size
from .registry import MODULES
from .se import SE
from .utils import glue, seed_everything, show_source

__version__ = "0.1.0"

#: Tools loaded on first use, by the submodule that defines them.
_LAZY = {"attach": ".models", "benchmark": ".timing", "benchmark_many": ".timing", "count_ops": ".opcount",
         "keep_freed_memory": ".timing", "stat": ".torchstat_report"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'attn_src' has no attribute {name!r}")


__all__ = [
    "CBAM",
    "ChannelAttention",
    "CoordAttention",
    "DEVICE",
    "ECA",
    "MODULES",
    "SE",
    "SpatialAttention",
    "attach",
    "benchmark",
    "benchmark_many",
    "count_ops",
    "eca_kernel_size",
    "glue",
    "keep_freed_memory",
    "seed_everything",
    "show_source",
    "stat",
]
