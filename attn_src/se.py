"""Squeeze-and-Excitation (SE).

Hu, Shen, Albanie, Sun, Wu. *Squeeze-and-Excitation Networks*. CVPR 2018 / TPAMI 2020.

For an input U with C channels of size H x W:

- Squeeze (Eq. 2): ``z_c = 1/(H W) * sum_{i,j} u_c(i, j)``: one number per channel.
- Excitation (Eq. 3): ``s = sigma(W2 delta(W1 z))`` with ``W1`` of shape (C/r, C),
  ``delta`` = ReLU and ``W2`` of shape (C, C/r): a bottleneck of reduction ratio r.
- Scale (Eq. 4): ``x~_c = s_c * u_c``.

The official SENet uses biases in both layers (as 1x1 convolutions); the blog
listing this book started from uses ``nn.Linear(..., bias=False)``. Both are
available through ``bias``; the default follows the paper's code.
"""
from __future__ import annotations

import torch
from torch import nn

from ._validate import check_bool, check_input, check_int, hidden_width


class SE(nn.Module):
    """Squeeze-and-Excitation block: ``x * sigmoid(W2 relu(W1 mean_hw(x)))``.

    Args:
        channels: number of input (and output) channels C.
        reduction: bottleneck ratio r; the hidden layer has ``C // r`` units.
        bias: whether the two fully connected layers have biases (the
            original SENet: yes; the blog listing: no).

    Extra parameters: ``2 * C * (C // r)`` weights, plus ``C // r + C`` biases.
    """

    def __init__(self, channels: int, reduction: int = 16, bias: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        check_bool("bias", bias)
        hidden = hidden_width(self.channels, self.reduction)
        self.reduce = nn.Linear(self.channels, hidden, bias=bias)  # W1
        self.expand = nn.Linear(hidden, self.channels, bias=bias)  # W2

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 2: global average pooling, (N, C, H, W) -> (N, C)."""
        return x.mean((2, 3))

    def excite(self, z: torch.Tensor) -> torch.Tensor:
        """Eq. 3: the gate ``s = sigmoid(W2 relu(W1 z))``, (N, C) -> (N, C) in (0, 1)."""
        return torch.sigmoid(self.expand(torch.relu(self.reduce(z))))

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gate of ``x``, shaped (N, C, 1, 1) to broadcast over H, W."""
        check_input(x, self.channels)
        return self.excite(self.squeeze(x))[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)  # Eq. 4: scale each channel by its gate

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"
