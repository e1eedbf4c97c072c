"""MobileNetV2 with an ``attention=`` switch, in torchvision's parameter layout.

Sandler, Howard, Zhu, Zhmoginov, Chen. *MobileNetV2: Inverted Residuals and Linear Bottlenecks*. CVPR 2018.

Without attention, ``mobilenet_v2()`` has torchvision's modules and names (``features.0.0``,
``features.2.conv.1.0``, ``classifier.1``, ...) and its 3,504,872 parameters. An inverted
residual expands the input ``t`` times with a 1x1 conv, filters each channel with a 3x3
depthwise conv, and projects back with a linear 1x1 conv (no activation). Attention goes in
one of two places, ``position``:

- ``"hidden"``: after the depthwise conv + BN + ReLU6, on the expanded (hidden) width, in
  blocks with ``t != 1`` only. This is where Coordinate Attention's official MobileNetV2
  puts it (``houqb/CoordAttention``, ``mbv2_ca.py``: ``CoordAtt(hidden_dim, hidden_dim)``
  between the depthwise and the projection) and the default for ``attention="ca"``.
- ``"output"``: after the projection's BN, before the residual addition, in all 17 blocks.
  This is where ECA's official MobileNetV2 puts it (``BangguWu/ECANet``,
  ``models/eca_mobilenetv2.py``: ``eca_layer(oup, k_size)`` appended after the projection),
  and the default for every other attention.

The official MobileNetV2-CA code is not torchvision's network with CA added, but the
differences change no parameter count at width 1.0: each block's layers are flat in its
``conv`` (no nested Conv-BN-ReLU, so the names differ), the last 1x1 conv is ``model.conv``
rather than ``features[18]``, its dropout is 0.1 (torchvision: 0.2), and it rounds widths to
multiples of 4 instead of 8 at ``width_mult=0.1`` (the same rounding at every other width).
"""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_choice, check_int, check_positive_number
from .factory import AttentionSpec, make_attention, per_stage_options

POSITIONS = ("hidden", "output")

# t (expansion), c (output channels), n (blocks), s (stride of the first block): Table 2 of the paper.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never down by more than 10% (TF/torchvision)."""
    value = check_positive_number("value", value)
    divisor = check_int("divisor", divisor)
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    """Conv (no bias), BatchNorm, ReLU6: torchvision's ``Conv2dNormActivation`` with its child names 0, 1, 2."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise (3x3), project (linear 1x1); a residual when the shapes allow.

    Args:
        cin, cout: input and output channels.
        stride: 1 or 2 (of the depthwise conv).
        expand_ratio: t; the hidden width is ``round(cin * t)``.
        attention: ``None``, a name or a callable ``channels -> nn.Module``.
        position: ``"hidden"`` or ``"output"`` (see the module docstring).
    """

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int, attention: AttentionSpec = None,
                 position: str = "output", **options) -> None:
        super().__init__()
        check_int("cin", cin)
        check_int("cout", cout)
        check_int("expand_ratio", expand_ratio)
        if stride not in (1, 2) or isinstance(stride, bool):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        check_choice("position", position, POSITIONS)
        if attention is None and options:
            raise ValueError(f"options {sorted(options)} were given, but attention=None builds no module")
        hidden = int(round(cin * expand_ratio))
        self.stride = stride
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU(cin, hidden, kernel_size=1))
        layers.append(ConvBNReLU(hidden, hidden, stride=stride, groups=hidden))  # depthwise
        if attention is not None and position == "hidden" and expand_ratio != 1:
            layers.append(make_attention(attention, hidden, **options))  # CA: on the hidden width
        layers += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]  # linear projection
        if attention is not None and position == "output":
            layers.append(make_attention(attention, cout, **options))  # ECA/SE: before the addition
        self.conv = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2: a 3x3 stem, 17 inverted residuals in 7 stages, a 1x1 conv to 1280, pool, classifier.

    Args:
        attention: ``None``, ``"se"``, ``"cbam"``, ``"eca"``, ``"ca"`` or a callable ``channels -> nn.Module``.
        num_classes: outputs of the classifier.
        width_mult: multiplies every width (rounded to a multiple of 8, as torchvision does).
        position: ``"hidden"`` or ``"output"``; ``None`` picks ``"hidden"`` for ``"ca"`` and
            ``"output"`` otherwise (the official positions).
        dropout: before the classifier (torchvision: 0.2; official CA code: 0.1).
        in_channels: channels of the input image.
        **attention_options: passed to every attention module; a list/tuple gives one value per
            stage (7 stages, the rows of the paper's Table 2), e.g. ECA's official
            ``kernel_size=[1, 1, 1, 1, 1, 3, 3]``.
    """

    def __init__(self, attention: AttentionSpec = None, num_classes: int = 1000, width_mult: float = 1.0,
                 position: str | None = None, dropout: float = 0.2, in_channels: int = 3,
                 **attention_options) -> None:
        super().__init__()
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        width_mult = check_positive_number("width_mult", width_mult)
        if not (isinstance(dropout, (int, float)) and not isinstance(dropout, bool) and 0 <= dropout < 1):
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        if position is None:
            position = "hidden" if attention == "ca" else "output"
        check_choice("position", position, POSITIONS)
        stage_options = per_stage_options(attention_options, len(INVERTED_RESIDUAL_SETTING))
        cin = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU(in_channels, cin, stride=2)]
        for (t, c, n, s), options in zip(INVERTED_RESIDUAL_SETTING, stage_options):
            cout = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, attention, position, **options))
                cin = cout
        features.append(ConvBNReLU(cin, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes))
        self._init_backbone()

    def _init_backbone(self) -> None:
        """torchvision's initialisation; attention modules (not Conv/BN/Linear of the backbone) keep theirs."""
        backbone = [self.features[0], self.features[-1], self.classifier]
        for block in self.features[1:-1]:
            backbone += [m for m in block.conv if isinstance(m, (ConvBNReLU, nn.Conv2d, nn.BatchNorm2d))]
        for part in backbone:
            for m in part.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(attention: AttentionSpec = None, **kwargs) -> MobileNetV2:
    """MobileNetV2 1.0 (3,504,872 parameters; 3,950,648 with ``attention="ca"``, the official MobileNetV2-CA).

    >>> from attn_src.models import mobilenet_v2
    >>> sum(p.numel() for p in mobilenet_v2("ca").parameters())
    3950648
    """
    return MobileNetV2(attention, **kwargs)
