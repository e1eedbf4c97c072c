"""The four modules with every speed trick of :mod:`attn_src.fast.ops`: the same functions, faster.

Each class subclasses the plain module (:mod:`attn_src.se`, ...): the same constructor, the same
parameters and ``state_dict`` (official weights load one to one), the same outputs and gradients
(``tests/test_fast.py``). Only the way each equation is computed changes:

- :class:`FastSE`, :class:`FastECA`: the squeeze is a sum divided by the count when autograd
  records (:func:`~attn_src.fast.ops.mean_pool`), whose backward writes no full-size tensor.
- :class:`FastCBAM`: both channel poolings in one pass over each image (:func:`~attn_src.fast.ops.pooled`), the shared MLP run once
  on both descriptors stacked, the channel mean as a matrix-vector product on large maps, the channel maximum in
  two stages (``amax`` without autograd, ``max`` with indices with it), the 2->1 conv's input
  channels-last while autograd records, and the second multiply in place.
- :class:`FastCoordAttention`: the two directional means as one matrix product on small maps
  (:func:`~attn_src.fast.ops.coordinate_pool`), and the second multiply in place.

Inside ``with block_bytes(CACHE_BLOCK):`` the fast CA and CBAM also take the batch a block of images
at a time without autograd, so that later passes over a block find it in cache, on a CPU whose cache
keeps it (off by default: :mod:`attn_src.fast.ops`).

:func:`convert` turns the plain modules of a network into their fast twins in place.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .._validate import check_4d, check_input
from ..cbam import CBAM, ChannelAttention, SpatialAttention
from ..coord import CoordAttention
from ..eca import ECA
from ..se import SE
from .ops import _tracked, channel_mean, coordinate_pool, gated, max_pool, mean_pool, pooled, rescale

__all__ = ["FastCBAM", "FastChannelAttention", "FastCoordAttention", "FastECA", "FastSE", "FastSpatialAttention",
           "convert"]


class FastSE(SE):
    """:class:`~attn_src.SE`, squeezing with :func:`~attn_src.fast.ops.mean_pool`."""

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return mean_pool(x, dim=(2, 3))


class FastECA(ECA):
    """:class:`~attn_src.ECA`, squeezing with :func:`~attn_src.fast.ops.mean_pool`."""

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.channels)
        n, c = x.shape[:2]
        y = mean_pool(x, dim=(2, 3)).view(n, 1, c)
        return torch.sigmoid(self.conv(y)).view(n, c, 1, 1)


class FastChannelAttention(ChannelAttention):
    """:class:`~attn_src.ChannelAttention`: both poolings per block, the shared MLP once on 2N rows."""

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.channels)
        # both poolings, on a block of images at a time where block_bytes asks for blocks
        avg, peak = pooled(x.flatten(2), partial(mean_pool, dim=2), partial(max_pool, dim=2))
        from_avg, from_max = self.mlp(torch.cat([avg, peak])).chunk(2)  # one call instead of two
        return torch.sigmoid(from_avg + from_max).view(*avg.shape, 1, 1)


class FastSpatialAttention(SpatialAttention):
    """:class:`~attn_src.SpatialAttention` with the channel mean and maximum of :mod:`attn_src.fast.ops`."""

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        check_4d(x)
        avg, peak = channel_mean(x), max_pool(x, dim=1, keepdim=True)
        maps = torch.cat([peak, avg] if self.max_first else [avg, peak], dim=1)
        if _tracked(maps):
            # oneDNN differentiates a conv with 2 input channels about 3x faster channels-last
            # (same values, another memory order); its forward is faster in the usual order.
            maps = maps.contiguous(memory_format=torch.channels_last)
        return torch.sigmoid(self.norm(self.conv(maps)))

    @property
    def uses_batch_statistics(self) -> bool:
        """Whether an image's gate depends on the other images of the batch (a BatchNorm in training)."""
        norm = self.norm
        return isinstance(norm, nn.BatchNorm2d) and (norm.training or norm.running_mean is None)


class FastCBAM(CBAM):
    """:class:`~attn_src.CBAM` with fast parts, both gates applied by :func:`~attn_src.fast.ops.gated`."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7, bias: bool = True,
                 norm: bool = True, max_first: bool = True) -> None:
        super().__init__(channels, reduction, kernel_size, bias, norm, max_first)
        convert(self)  # the parts become their fast twins, with the parameters just initialised

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spatial.uses_batch_statistics:  # M_s of one image needs the F' of the whole batch
            refined = self.channel(x)
            return rescale(refined, self.spatial.gate(refined))
        # F' = M_c(F) * F, then F'' = M_s(F') * F' (in place; per block of images with block_bytes)
        return gated(x, self.channel.gate, self.spatial.gate)


class FastCoordAttention(CoordAttention):
    """:class:`~attn_src.CoordAttention` pooling by :func:`~attn_src.fast.ops.coordinate_pool`."""

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_input(x, self.channels)
        n, c, h, w = x.shape
        f = self.act(self.norm(self.transform(coordinate_pool(x).unsqueeze(-1))))
        f_h, f_w = f.split([h, w], dim=2)
        return torch.sigmoid(self.to_gate_h(f_h)), torch.sigmoid(self.to_gate_w(f_w)).reshape(n, c, 1, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gated(x, *self.gates(x))


#: Each plain class and its fast twin.
FAST_TWINS: dict[type, type] = {SE: FastSE, ECA: FastECA, ChannelAttention: FastChannelAttention,
                                SpatialAttention: FastSpatialAttention, CBAM: FastCBAM,
                                CoordAttention: FastCoordAttention}


def convert(model: nn.Module) -> nn.Module:
    """Turn every plain attention module inside ``model`` (itself included) into its fast twin, in place.

    The modules keep their parameters, buffers and names; only their class changes, so weights
    loaded before or after load the same. Returns ``model``.

    >>> from attn_src import CBAM
    >>> type(convert(CBAM(64)).spatial).__name__
    'FastSpatialAttention'
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    for module in model.modules():
        twin = FAST_TWINS.get(type(module))
        if twin is not None:
            module.__class__ = twin
    return model
