"""Efficient Channel Attention (ECA).

Wang, Wu, Zhu, Li, Zuo, Hu. *ECA-Net: Efficient Channel Attention for Deep
Convolutional Neural Networks*. CVPR 2020.

ECA keeps SE's squeeze (global average pooling) but replaces the bottleneck MLP
by a 1-D convolution of size k across the channel descriptor (Eq. 7 in its
1-D-conv form): every channel's gate depends on its k neighbours only, and no
dimensionality reduction happens::

    omega = sigmoid(C1D_k(y)),    y = GAP(x)

The kernel size is chosen from C by the inverse of the assumed mapping
``C = phi(k) = 2^(gamma * k - b)`` (Eqs. 12-13)::

    k = psi(C) = | log2(C) / gamma + b / gamma |_odd

where ``|t|_odd`` is "the nearest odd number". The code printed in the paper (its
Fig. 3) computes it as ``t = int(abs((log2(C) + b) / gamma))`` and adds 1 when ``t``
is even, which is what :func:`eca_kernel_size` does.

This adaptive rule is the paper's, not the official repository's: there,
``eca_layer(channel, k_size=3)`` defaults to k = 3 and never computes k from C, and
each network passes k in. The released ECA-ResNet-50 (``eca_resnet50_k3557``) uses
k = [3, 5, 5, 7] per stage, where psi gives [5, 5, 5, 7]; the first released
ECA-MobileNetV2 (``eca_mobilenetv2_k13``) uses k = 1 for its blocks of up to 96
channels and 3 above, [1, 1, 1, 1, 1, 3, 3] over its seven widths, while the
repository's code today gives k = 1 only below 96 channels. :class:`ECA` defaults to
psi and takes ``kernel_size=`` for those choices.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._validate import check_input, check_int, check_odd_kernel, check_positive_number, check_real


def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    """ECA's adaptive kernel size ``psi(C)`` (ECA-Net Eq. 13), as the code printed in the paper (Fig. 3) computes it.

    The official repository's ``eca_layer`` does not call such a rule: it takes ``k_size`` (default 3).

    >>> [eca_kernel_size(c) for c in (64, 128, 256, 512)]
    [3, 5, 5, 5]
    """
    channels = check_int("channels", channels)
    gamma = check_positive_number("gamma", gamma)
    b = check_real("b", b)
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


class ECA(nn.Module):
    """Efficient Channel Attention: ``x * sigmoid(conv1d_k(mean_hw(x)))``.

    Args:
        channels: number of input channels C (also sets k when ``kernel_size`` is None).
        kernel_size: odd size k of the 1-D convolution across channels;
            ``None`` picks ``eca_kernel_size(channels, gamma, b)``, the paper's adaptive
            rule (the official ``eca_layer`` has no such default: its ``k_size`` is 3).
        gamma, b: the constants of the mapping between C and k (paper: 2 and 1).

    Extra parameters: exactly k (the 1-D convolution has no bias).
    """

    def __init__(self, channels: int, kernel_size: int | None = None, gamma: float = 2, b: float = 1) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        if kernel_size is None:
            kernel_size = eca_kernel_size(self.channels, gamma, b)
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.conv = nn.Conv1d(1, 1, self.kernel_size, padding=self.kernel_size // 2, bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gate of ``x``, shaped (N, C, 1, 1)."""
        check_input(x, self.channels)
        n, c = x.shape[:2]
        y = x.mean((2, 3)).view(n, 1, c)  # squeeze (GAP), channels as a 1-D signal: (N, 1, C)
        return torch.sigmoid(self.conv(y)).view(n, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)

    def interaction_matrix(self) -> torch.Tensor:
        """The C x C banded matrix ``W`` with ``conv1d(y) == y @ W.T`` (the paper's Eq. 6 band)."""
        weight = self.conv.weight.detach().reshape(-1)
        eye = torch.eye(self.channels, dtype=weight.dtype, device=weight.device)
        return F.conv1d(eye.unsqueeze(1), weight.view(1, 1, -1), padding=self.kernel_size // 2).squeeze(1).T

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}"
