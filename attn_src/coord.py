"""Coordinate Attention (CA).

Hou, Zhou, Feng. *Coordinate Attention for Efficient Mobile Network Design*. CVPR 2021.

Global pooling squeezes away *where* a feature is. CA pools along one spatial
direction at a time, so each descriptor keeps the other coordinate:

- Coordinate information embedding (Eqs. 4-5):
  ``z^h_c(h) = 1/W * sum_i x_c(h, i)`` (C x H) and ``z^w_c(w) = 1/H * sum_j x_c(j, w)`` (C x W).
- Coordinate attention generation (Eqs. 6-8):
  ``f = delta(F1([z^h, z^w]))`` with a shared 1x1 conv F1 (C -> C/r), BatchNorm and
  non-linearity delta; f is split back into f^h and f^w, and
  ``g^h = sigmoid(F_h(f^h))``, ``g^w = sigmoid(F_w(f^w))``.
- Output (Eq. 9): ``y_c(i, j) = x_c(i, j) * g^h_c(i) * g^w_c(j)``.

Defaults follow the official code (``Andrew-Qibin/CoordAttention``): reduction 32,
a hidden width of ``max(8, C // 32)``, convolutions with biases, and h-swish as
delta. The blog listing uses ReLU, reduction 16, no floor and no biases.
"""
from __future__ import annotations

import torch
from torch import nn

from ._validate import check_bool, check_choice, check_input, check_int, hidden_width

ACTIVATIONS = ("hswish", "relu")


class CoordAttention(nn.Module):
    """Coordinate Attention: ``x * g_h * g_w`` with direction-aware gates (Eqs. 4-9).

    Args:
        channels: number of input (and output) channels C.
        reduction: ratio r of the shared transform; hidden width ``max(min_hidden, C // r)``.
        min_hidden: floor on the hidden width (official: 8).
        activation: delta in Eq. 6, ``"hswish"`` (official) or ``"relu"`` (blog listing).
        bias: biases on the three 1x1 convs (official: yes).

    Extra parameters, with ``m`` the hidden width: ``C*m (+m)`` for F1, ``2m`` for the
    BatchNorm, and ``2 * (m*C (+C))`` for F_h and F_w.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 32,
        min_hidden: int = 8,
        activation: str = "hswish",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.reduction = check_int("reduction", reduction)
        self.min_hidden = check_int("min_hidden", min_hidden, minimum=0)
        check_choice("activation", activation, ACTIVATIONS)
        check_bool("bias", bias)
        hidden = hidden_width(self.channels, self.reduction, self.min_hidden)
        # 1x1 convs on (N, C, H + W, 1) maps: the official layout, so its weights load as they are.
        self.transform = nn.Conv2d(self.channels, hidden, 1, bias=bias)   # F1
        self.norm = nn.BatchNorm2d(hidden)
        self.act = nn.Hardswish() if activation == "hswish" else nn.ReLU()  # delta
        self.to_gate_h = nn.Conv2d(hidden, self.channels, 1, bias=bias)   # F_h
        self.to_gate_w = nn.Conv2d(hidden, self.channels, 1, bias=bias)   # F_w

    def gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(g^h, g^w)`` shaped (N, C, H, 1) and (N, C, 1, W), ready to broadcast."""
        check_input(x, self.channels)
        h, w = x.shape[2:]
        z_h = x.mean(3, keepdim=True)                     # Eq. 4, pooled along the width: (N, C, H, 1)
        z_w = x.mean(2, keepdim=True).transpose(2, 3)     # Eq. 5, pooled along the height: (N, C, W, 1)
        f = self.act(self.norm(self.transform(torch.cat([z_h, z_w], dim=2))))  # Eq. 6: (N, m, H + W, 1)
        f_h, f_w = f.split([h, w], dim=2)
        g_h = torch.sigmoid(self.to_gate_h(f_h))                   # Eq. 7: (N, C, H, 1)
        g_w = torch.sigmoid(self.to_gate_w(f_w)).transpose(2, 3)   # Eq. 8: (N, C, 1, W)
        return g_h, g_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g_h, g_w = self.gates(x)
        return x * g_h * g_w                                       # Eq. 9

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, min_hidden={self.min_hidden}"
