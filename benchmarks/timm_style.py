"""A second baseline for the benchmark: the four modules written with timm's choices of operations.

timm (``huggingface/pytorch-image-models``, ``timm/layers/``: ``SEModule``, ``EcaModule``,
``CbamModule``, ``CoordAttn``) is the implementation most readers would otherwise use, and it
cannot be installed beside this project's torch (it needs torchvision). These classes are our own
code that makes the same operation choices as timm's ``forward`` methods, so the benchmark can say
how ``attn_src`` compares with them:

- pooling with tensor methods, ``x.mean(dims, keepdim=True)`` and ``x.amax(...)`` (no indices, also
  in training, where ``amax``'s backward must search for the maxima again);
- the MLPs as 1x1 convolutions on (N, C, 1, 1) maps;
- every gate applied by one out-of-place multiply (CA: ``x * a_w * a_h``, two of them; ECA with
  ``expand_as``).

Each class is built from a blog-style reference (:mod:`attn_src.blog`) by :func:`from_blog`, with the
same weights and the same configuration (biases, activation, order of the pooled maps), so all three
implementations in the benchmark compute the same function and differ only in how. Where the
configuration differs from timm's defaults, the blog's is kept: CBAM's spatial gate has no BatchNorm
(timm's ``ConvNormAct`` has one) and CA uses ReLU and a plain ``C // r`` hidden width.
"""
from __future__ import annotations

import torch
from torch import nn

from attn_src.blog import BlogCA, BlogCBAM, BlogECA, BlogSE


class TimmStyleSE(nn.Module):
    """SE as timm's ``SEModule`` computes it: ``x.mean``, two 1x1 convs, one multiply."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(squeezed))))


class TimmStyleECA(nn.Module):
    """ECA as timm's ``EcaModule`` computes it: ``x.mean``, a Conv1d over channels, ``expand_as``."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        y = self.conv(x.mean((2, 3)).view(n, 1, -1))
        return x * torch.sigmoid(y).view(n, -1, 1, 1).expand_as(x)


class TimmStyleCBAM(nn.Module):
    """CBAM as timm's ``CbamModule`` computes it: ``mean`` and ``amax`` pooling, two multiplies."""

    def __init__(self, channels: int, hidden: int, kernel_size: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from_avg = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        from_max = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        x = x * torch.sigmoid(from_avg + from_max)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class TimmStyleCA(nn.Module):
    """Coordinate attention as timm's ``CoordAttn`` computes it: transposes around one shared conv."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.act = nn.ReLU()
        self.conv_h = nn.Conv2d(hidden, channels, 1, bias=False)
        self.conv_w = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        x_h = x.mean(3, keepdim=True)                         # (N, C, H, 1)
        x_w = x.mean(2, keepdim=True).transpose(-1, -2)       # (N, C, W, 1)
        y = self.act(self.bn1(self.conv1(torch.cat([x_h, x_w], dim=2))))
        y_h, y_w = torch.split(y, [h, w], dim=2)
        a_h = torch.sigmoid(self.conv_h(y_h))
        a_w = torch.sigmoid(self.conv_w(y_w.transpose(-1, -2)))
        return x * a_w * a_h


def from_blog(module: nn.Module) -> nn.Module:
    """The timm-style module with the configuration, weights, dtype and mode of the blog-style ``module``."""
    if isinstance(module, BlogSE):
        first, second = module.mlp[0], module.mlp[2]
        timm = TimmStyleSE(first.in_features, first.out_features)
        weights = {"fc1.weight": first.weight[:, :, None, None], "fc2.weight": second.weight[:, :, None, None]}
    elif isinstance(module, BlogECA):
        timm = TimmStyleECA(module.conv.kernel_size[0])
        weights = {"conv.weight": module.conv.weight}
    elif isinstance(module, BlogCBAM):
        gate, conv = module.channel_gate, module.spatial_gate.conv
        timm = TimmStyleCBAM(gate.squeeze.in_channels, gate.squeeze.out_channels, conv.kernel_size[0])
        weights = {"fc1.weight": gate.squeeze.weight, "fc2.weight": gate.unsqueeze.weight, "conv.weight": conv.weight}
    elif isinstance(module, BlogCA):
        timm = TimmStyleCA(module.conv.in_channels, module.conv.out_channels)
        weights = {"conv1.weight": module.conv.weight, "conv_h.weight": module.conv_h.weight,
                   "conv_w.weight": module.conv_w.weight,
                   **{f"bn1.{name}": value for name, value in module.bn.state_dict().items()}}
    else:
        raise TypeError(f"module must be BlogSE, BlogECA, BlogCBAM or BlogCA, got {type(module).__name__}")
    timm.to(next(module.parameters()).dtype).load_state_dict(weights)
    return timm.train(module.training)
