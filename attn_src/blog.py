"""The blog listings' modules, re-written in their straightforward style, for comparison.

The post this book started from gives one short listing per module. These classes
re-implement *its choices* (defaults, biases, pooling order, activations) in the
plain eager style such listings use: adaptive pooling layers, ``max`` with indices,
``expand_as`` and one multiply per gate. They serve two purposes:

- the chapters compare them with the official-code defaults of ``attn_src``'s modules;
- the benchmarks use them as the baseline that ``attn_src``'s modules must beat.

Differences from the official code, by module:

- ``BlogSE``: no biases in the two layers (SENet has them).
- ``BlogCBAM``: reduction 8 by default, no MLP biases, pooled maps stacked [mean; max],
  no BatchNorm after the spatial conv, kernel size restricted to 3 or 7.
- ``BlogECA``: the same computation as the official ``eca_layer`` with adaptive k.
- ``BlogCA``: ReLU instead of h-swish, reduction 16, no floor on the hidden width,
  no conv biases.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class BlogSE(nn.Module):
    """SE as the blog writes it: Linear layers without bias."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.mlp = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        weights = self.mlp(self.pool(x).view(n, c)).view(n, c, 1, 1)
        return x * weights


class BlogChannelAttention(nn.Module):
    """CBAM channel gate as the blog writes it: 1x1 convs without bias, two adaptive pools."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.squeeze = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.relu = nn.ReLU()
        self.unsqueeze = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from_avg = self.unsqueeze(self.relu(self.squeeze(self.avg_pool(x))))
        from_max = self.unsqueeze(self.relu(self.squeeze(self.max_pool(x))))
        return self.sigmoid(from_avg + from_max)  # the gate, (N, C, 1, 1)


class BlogSpatialAttention(nn.Module):
    """CBAM spatial gate as the blog writes it: [mean; max] maps, a conv without bias, no BatchNorm."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        if kernel_size not in (3, 7):
            raise ValueError(f"kernel_size must be 3 or 7 in the blog listing, got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean_map = torch.mean(x, dim=1, keepdim=True)
        max_map, _ = torch.max(x, dim=1, keepdim=True)
        return self.sigmoid(self.conv(torch.cat([mean_map, max_map], dim=1)))  # the gate, (N, 1, H, W)


class BlogCBAM(nn.Module):
    """CBAM as the blog composes it: ``x * M_c(x)``, then ``* M_s`` of that."""

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel_gate = BlogChannelAttention(channels, reduction)
        self.spatial_gate = BlogSpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_gate(x)
        return x * self.spatial_gate(x)


class BlogECA(nn.Module):
    """ECA as the blog (and the official ``eca_layer``) writes it: the squeeze/transpose dance."""

    def __init__(self, channels: int, b: int = 1, gamma: int = 2) -> None:
        super().__init__()
        self.channels = channels
        t = int(abs((math.log(channels, 2) + b) / gamma))
        k = t if t % 2 else t + 1
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(x)                                    # (N, C, 1, 1)
        y = y.squeeze(-1).transpose(-1, -2)                 # (N, 1, C): channels as a sequence
        y = self.conv(y).transpose(-1, -2).unsqueeze(-1)    # back to (N, C, 1, 1)
        return x * self.sigmoid(y).expand_as(x)


class BlogCA(nn.Module):
    """Coordinate attention as the blog writes it: ReLU, reduction 16, no floor, no biases."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = channels // reduction
        self.conv = nn.Conv2d(channels, hidden, 1, bias=False)
        self.bn = nn.BatchNorm2d(hidden)
        self.relu = nn.ReLU()
        self.conv_h = nn.Conv2d(hidden, channels, 1, bias=False)
        self.conv_w = nn.Conv2d(hidden, channels, 1, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        along_h = torch.mean(x, dim=3, keepdim=True).permute(0, 1, 3, 2)   # (N, C, 1, H)
        along_w = torch.mean(x, dim=2, keepdim=True)                       # (N, C, 1, W)
        y = self.relu(self.bn(self.conv(torch.cat((along_h, along_w), 3))))
        y_h, y_w = y.split([h, w], 3)
        gate_h = self.sigmoid(self.conv_h(y_h.permute(0, 1, 3, 2)))      # (N, C, H, 1)
        gate_w = self.sigmoid(self.conv_w(y_w))                          # (N, C, 1, W)
        return x * gate_h.expand_as(x) * gate_w.expand_as(x)


@torch.no_grad()
def to_attn_src(module: nn.Module) -> nn.Module:
    """The ``attn_src`` module configured like the blog ``module``, with the same weights.

    The outputs agree to float rounding: this is how the book and the benchmarks check
    that a faster implementation computes the same function.
    """
    from .cbam import CBAM
    from .coord import CoordAttention
    from .eca import ECA
    from .se import SE

    if isinstance(module, BlogSE):
        first, second = module.mlp[0], module.mlp[2]
        ours = SE(first.in_features, first.in_features // first.out_features, bias=False)
        ours.reduce.weight.copy_(first.weight)
        ours.expand.weight.copy_(second.weight)
    elif isinstance(module, BlogCBAM):
        gate = module.channel_gate
        channels, hidden = gate.squeeze.in_channels, gate.squeeze.out_channels
        ours = CBAM(channels, channels // hidden, module.spatial_gate.conv.kernel_size[0],
                    bias=False, norm=False, max_first=False)
        ours.channel.mlp[0].weight.copy_(gate.squeeze.weight.flatten(1))
        ours.channel.mlp[2].weight.copy_(gate.unsqueeze.weight.flatten(1))
        ours.spatial.conv.weight.copy_(module.spatial_gate.conv.weight)
    elif isinstance(module, BlogECA):
        k = module.conv.kernel_size[0]
        ours = ECA(module.channels, kernel_size=k)
        ours.conv.weight.copy_(module.conv.weight)
    elif isinstance(module, BlogCA):
        channels, hidden = module.conv.in_channels, module.conv.out_channels
        ours = CoordAttention(channels, channels // hidden, min_hidden=0, activation="relu", bias=False)
        ours.transform.weight.copy_(module.conv.weight)
        ours.norm.load_state_dict(module.bn.state_dict())
        ours.to_gate_h.weight.copy_(module.conv_h.weight)
        ours.to_gate_w.weight.copy_(module.conv_w.weight)
    else:
        raise TypeError(f"module must be BlogSE, BlogCBAM, BlogECA or BlogCA, got {type(module).__name__}")
    return ours.train(module.training)
