"""attn_src: the attention modules and tools behind *Attention in Convolutional Networks*.

>>> import torch
>>> from attn_src import SE
>>> SE(64)(torch.randn(2, 64, 8, 8)).shape
torch.Size([2, 64, 8, 8])
"""
from ._ops import block_bytes
from .cbam import CBAM, ChannelAttention, SpatialAttention
from .coord import CoordAttention
from .device import DEVICE
from .eca import ECA, eca_kernel_size
from .models import attach
from .opcount import count_ops
from .se import SE
from .timing import benchmark, benchmark_many
from .torchstat_report import stat
from .utils import seed_everything, show_source

__version__ = "0.1.0"

__all__ = [
    "CBAM",
    "ChannelAttention",
    "CoordAttention",
    "DEVICE",
    "ECA",
    "SE",
    "SpatialAttention",
    "attach",
    "benchmark",
    "benchmark_many",
    "block_bytes",
    "count_ops",
    "eca_kernel_size",
    "seed_everything",
    "show_source",
    "stat",
]
