"""A tiny CNN for the chapters' experiments: trains on scikit-learn's digits in seconds on a CPU."""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_int
from .factory import AttentionSpec, make_attention


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyCNN(nn.Module):
    """Three conv stages, each followed by an (optional) attention module, then GAP and a classifier.

    Args:
        attention: ``None``, ``"se"``, ``"cbam"``, ``"eca"``, ``"ca"`` or a callable ``channels -> nn.Module``.
        in_channels: channels of the input image (1 for digits, 3 for colour).
        num_classes: outputs of the classifier.
        widths: channels of the three stages; stages 2 and 3 halve the resolution.
        **attention_options: passed to the attention module (e.g. ``reduction=4``).
    """

    def __init__(
        self,
        attention: AttentionSpec = None,
        in_channels: int = 1,
        num_classes: int = 10,
        widths: tuple[int, int, int] = (16, 32, 64),
        **attention_options,
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("num_classes", num_classes)
        if not isinstance(widths, (tuple, list)) or len(widths) != 3:
            raise ValueError(f"widths must be a tuple of 3 ints, got {widths!r}")
        widths = tuple(check_int(f"widths[{i}]", w) for i, w in enumerate(widths))
        stages, cin = [], in_channels
        for i, width in enumerate(widths):
            stages.append(nn.Sequential(
                conv_bn_relu(cin, width, stride=1 if i == 0 else 2),
                make_attention(attention, width, **attention_options),
            ))
            cin = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(widths[-1], num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))
