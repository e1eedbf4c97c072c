"""Convolutional Block Attention Module (CBAM).

Woo, Park, Lee, Kweon. *CBAM: Convolutional Block Attention Module*. ECCV 2018.

CBAM refines a feature map F in two steps, channel first (of the arrangements the paper's
ablation compares on ImageNet, the sequential ones beat the parallel one, and channel first
beat spatial first slightly)::

    F'  = M_c(F)  * F          (Eq. 1)
    F'' = M_s(F') * F'

- Channel attention (Eq. 2): ``M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))``,
  one MLP shared by both pooled descriptors.
- Spatial attention (Eq. 3): ``M_s(F) = sigmoid(f^{7x7}([AvgPool(F); MaxPool(F)]))``,
  the pooling running across channels.

Defaults follow the official code (``Jongchan/attention-module``) where it
differs from the paper's text or from the blog listing: the MLP has biases,
the channel-pooled maps are stacked max first (``ChannelPool``), and the 7x7
conv is followed by a BatchNorm (``BasicConv(..., bn=True, relu=False)``, momentum
0.01) before the sigmoid. With these defaults the official CBAM-ResNet weights load
one-to-one; ``max_first=False, norm=False, bias=False`` gives the blog's layout.

One difference is the initialisation, not the layout: the official ResNet
(``MODELS/model_resnet.py``) sets the weight of every BatchNorm inside a ``SpatialGate`` to 0
(and every bias in the network to 0), so each spatial gate starts as sigmoid(0) = 0.5 at every
position, whatever its input. :class:`SpatialAttention` keeps PyTorch's default weight of 1;
``nn.init.zeros_(module.spatial.norm.weight)`` starts a :class:`CBAM` the official way.
"""
from __future__ import annotations

import torch
from torch import nn

from ._validate import check_4d, check_bool, check_input, check_int, check_odd_kernel, hidden_width


class ChannelAttention(nn.Module):
    """CBAM's channel attention ``M_c`` (Eq. 2): a shared MLP over average- and max-pooled descriptors.

    Args:
        channels: number of input channels C.
        reduction: MLP bottleneck ratio r (hidden width ``C // r``).
        bias: whether the MLP's layers have biases (official code: yes).

    Extra parameters: ``2 * C * (C // r)`` weights, plus ``C // r + C`` biases.
    """

    def __init__(self, channels: int, reduction: int = 16, bias: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        check_bool("bias", bias)
        hidden = hidden_width(self.channels, self.reduction)
        self.mlp = nn.Sequential(
            nn.Linear(self.channels, hidden, bias=bias),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, self.channels, bias=bias),
        )

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """``M_c(x)``, shaped (N, C, 1, 1)."""
        check_input(x, self.channels)
        from_avg = self.mlp(x.mean((2, 3)))  # MLP(AvgPool(F)): (N, C)
        from_max = self.mlp(x.amax((2, 3)))  # MLP(MaxPool(F)), the same MLP: (N, C)
        return torch.sigmoid(from_avg + from_max)[:, :, None, None]  # Eq. 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"


class SpatialAttention(nn.Module):
    """CBAM's spatial attention ``M_s`` (Eq. 3): a k x k conv over channel-pooled maps.

    Args:
        kernel_size: odd size k of the conv (paper: 7).
        norm: BatchNorm after the conv, as in the official code (the conv then has no bias).
        max_first: stack the pooled maps as [max; mean] as the official code does;
            ``False`` gives the paper's text and the blog listing, [mean; max].

    Extra parameters: ``2 * k * k`` weights, plus 2 with ``norm`` (the BatchNorm's affine pair).
    """

    def __init__(self, kernel_size: int = 7, norm: bool = True, max_first: bool = True) -> None:
        super().__init__()
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.max_first = check_bool("max_first", max_first)
        check_bool("norm", norm)
        self.conv = nn.Conv2d(2, 1, self.kernel_size, padding=self.kernel_size // 2, bias=False)
        # Official BasicConv: BatchNorm2d(eps=1e-5, momentum=0.01).
        self.norm = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01) if norm else nn.Identity()

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """``M_s(x)``, shaped (N, 1, H, W)."""
        check_4d(x)
        avg = x.mean(1, keepdim=True)   # AvgPool across channels: (N, 1, H, W)
        peak = x.amax(1, keepdim=True)  # MaxPool across channels: (N, 1, H, W)
        maps = torch.cat([peak, avg] if self.max_first else [avg, peak], dim=1)  # (N, 2, H, W)
        return torch.sigmoid(self.norm(self.conv(maps)))  # Eq. 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, max_first={self.max_first}"


class CBAM(nn.Module):
    """CBAM: channel attention, then spatial attention on the refined map (Eq. 1).

    Args:
        channels: number of input channels C.
        reduction: channel-MLP bottleneck ratio (official: 16; the blog listing's default: 8).
        kernel_size: spatial conv size (7 or, on small maps, 3).
        bias: MLP biases (official: yes).
        norm: BatchNorm after the spatial conv (official: yes).
        max_first: pooled maps stacked [max; mean] (official) or [mean; max] (paper text, blog).
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        bias: bool = True,
        norm: bool = True,
        max_first: bool = True,
    ) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction, bias=bias)
        self.spatial = SpatialAttention(kernel_size, norm=norm, max_first=max_first)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        refined = self.channel(x)      # Eq. 1: F'  = M_c(F) * F
        return self.spatial(refined)   # Eq. 1: F'' = M_s(F') * F'
