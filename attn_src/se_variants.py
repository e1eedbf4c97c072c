"""Where an SE block sits in a residual block, and how other libraries size its bottleneck.

Hu, Shen, Albanie, Sun, Wu. *Squeeze-and-Excitation Networks*. TPAMI 2020, Section 6.5 and
Fig. 5 compare four places for SE in a residual unit ``y = relu(F(x) + x)``:

- ``"standard"``: SE rescales the residual branch before the sum, ``relu(SE(F(x)) + x)``;
- ``"pre"`` (SE-PRE): SE moved before the residual unit, ``relu(F(SE(x)) + x)``;
- ``"post"`` (SE-POST): SE after the sum and its ReLU, ``SE(relu(F(x) + x))``;
- ``"identity"`` (SE-Identity): SE on the identity connection, ``relu(F(x) + SE(x))``.

``"none"`` builds the plain residual block (He et al., CVPR 2016) for comparison.

:func:`timm_hidden_width` reproduces how timm's ``SEModule`` picks the bottleneck width
(``make_divisible(channels * rd_ratio, rd_divisor, round_limit=0)``), so the chapter can
compare parameter counts without installing timm.
"""
from __future__ import annotations

import numbers

import torch
from torch import nn

from ._validate import check_bool, check_choice, check_input, check_int
from .se import SE

SE_POSITIONS = ("none", "standard", "pre", "post", "identity")


class SEResBlock(nn.Module):
    """A basic residual block (two 3x3 conv + BN) with an SE block at ``position``.

    Args:
        channels: input and output channels C (the block keeps the shape, stride 1).
        position: one of ``"none"``, ``"standard"``, ``"pre"``, ``"post"``, ``"identity"``.
        reduction: SE's reduction ratio r.
        bias: whether SE's two layers have biases.

    Every position with SE adds the same ``2 * C * (C // r)`` weights (plus ``C // r + C``
    biases), because every position sees C channels; what changes is the function computed.
    """

    def __init__(self, channels: int, position: str = "standard", reduction: int = 16, bias: bool = True) -> None:
        super().__init__()
        self.channels = check_int("channels", channels)
        self.position = check_choice("position", position, SE_POSITIONS)
        check_int("reduction", reduction)
        check_bool("bias", bias)
        self.residual = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.se = nn.Identity() if position == "none" else SE(channels, reduction, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.channels)
        if self.position == "pre":
            return torch.relu(self.residual(self.se(x)) + x)
        if self.position == "post":
            return self.se(torch.relu(self.residual(x) + x))
        if self.position == "identity":
            return torch.relu(self.residual(x) + self.se(x))
        return torch.relu(self.se(self.residual(x)) + x)  # "standard" (and "none": se is the identity)

    def extra_repr(self) -> str:
        return f"position={self.position!r}"


def timm_hidden_width(channels: int, rd_ratio: float = 1 / 16, rd_divisor: int = 8) -> int:
    """The hidden width timm's ``SEModule(channels, rd_ratio, rd_divisor=rd_divisor)`` builds.

    timm rounds ``channels * rd_ratio`` to the nearest multiple of ``rd_divisor`` (halves round
    up) and never goes below ``rd_divisor``: ``max(d, int(v + d / 2) // d * d)`` with
    ``v = channels * rd_ratio``. So with the defaults, 64 channels get 8 hidden units, not 4.
    """
    check_int("channels", channels)
    if isinstance(rd_ratio, bool) or not isinstance(rd_ratio, numbers.Real):
        raise TypeError(f"rd_ratio must be a real number in (0, 1], got {rd_ratio!r} ({type(rd_ratio).__name__})")
    if not 0 < rd_ratio <= 1:
        raise ValueError(f"rd_ratio must be a real number in (0, 1], got {rd_ratio}")
    check_int("rd_divisor", rd_divisor)
    value = channels * rd_ratio
    return max(rd_divisor, int(value + rd_divisor / 2) // rd_divisor * rd_divisor)
