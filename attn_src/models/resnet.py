"""ResNets with an ``attention=`` switch: the ImageNet layouts (18, 34, 50) and a CIFAR-style ResNet.

He, Zhang, Ren, Sun. *Deep Residual Learning for Image Recognition*. CVPR 2016.

The ImageNet networks have torchvision's parameter layout and names (``conv1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, ``fc``, ...), so torchvision's ``state_dict`` loads into
``resnet50()`` as it is. The attention module is the block's ``attention`` child (an
``nn.Identity`` without attention, which has no parameters and leaves the names unchanged).

Where the attention goes (every official implementation agrees): at the end of the residual
branch, after its last BatchNorm and before the addition with the shortcut::

    out = bn3(conv3(...))            # residual branch
    out = attention(out)             # SENet (Fig. 3), CBAM (Fig. 3, Jongchan/attention-module),
                                     # ECA (BangguWu/ECANet, models/eca_resnet.py)
    out = relu(out + shortcut(x))

so the gate rescales only what the block adds to the identity path, never the identity itself.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .._validate import check_bool, check_int
from .factory import AttentionSpec, make_attention, per_stage_options


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


def _check_block_args(inplanes: object, planes: object, stride: object) -> None:
    check_int("inplanes", inplanes)
    check_int("planes", planes)
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"stride must be 1 or 2, got {stride!r}")


class BasicBlock(nn.Module):
    """Two 3x3 convs (ResNet-18/34 and the CIFAR ResNets); attention on their ``planes`` channels."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 attention: AttentionSpec = None, **options) -> None:
        super().__init__()
        _check_block_args(inplanes, planes, stride)
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attention = make_attention(attention, planes, **options)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.attention(out)  # after the branch's last BN, before the addition
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (ResNet-50); attention on the expanded ``4 * planes`` channels.

    ``stride_in_1x1=False`` puts the stride on the 3x3 conv (torchvision, "ResNet v1.5");
    ``True`` puts it on the first 1x1 conv as the original Caffe ResNet did. The parameters
    are the same; the multiply-adds are not (the papers' 3.86 GFLOPs are the Caffe layout's).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 attention: AttentionSpec = None, stride_in_1x1: bool = False, **options) -> None:
        super().__init__()
        _check_block_args(inplanes, planes, stride)
        check_bool("stride_in_1x1", stride_in_1x1)
        width = planes * self.expansion
        self.conv1 = conv1x1(inplanes, planes, stride if stride_in_1x1 else 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, 1 if stride_in_1x1 else stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, width)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.attention = make_attention(attention, width, **options)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = self.attention(out)  # after bn3, before the addition (SENet Fig. 3)
        return self.relu(out + identity)


def _init_backbone(model: nn.Module) -> None:
    """torchvision's initialisation for the backbone's convs and BNs; attention modules keep their own."""
    inside_attention = {
        id(m) for block in model.modules() if isinstance(block, (BasicBlock, Bottleneck))
        for m in block.attention.modules()
    }
    for m in model.modules():
        if id(m) in inside_attention:
            continue
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _check_layers(layers: object, count: int) -> tuple[int, ...]:
    if not isinstance(layers, (tuple, list)) or len(layers) != count:
        raise ValueError(f"layers must be a list of {count} block counts (one per stage), got {layers!r}")
    return tuple(check_int(f"layers[{i}]", n) for i, n in enumerate(layers))


class ResNet(nn.Module):
    """The ImageNet ResNet (7x7 stem, max-pool, four stages, global pool, ``fc``).

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        attention: ``None``, ``"se"``, ``"cbam"``, ``"eca"``, ``"ca"`` or a callable ``channels -> nn.Module``,
            put in every block (see the module docstring for where).
        num_classes: outputs of ``fc``.
        in_channels: channels of the input image.
        stride_in_1x1: Bottleneck only; see :class:`Bottleneck`.
        **attention_options: passed to every attention module; a list/tuple gives one value per
            stage (``kernel_size=[3, 5, 5, 7]``), see :func:`~attn_src.models.factory.per_stage_options`.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int],
                 attention: AttentionSpec = None, num_classes: int = 1000, in_channels: int = 3,
                 stride_in_1x1: bool = False, **attention_options) -> None:
        super().__init__()
        if block not in (BasicBlock, Bottleneck):
            raise TypeError(f"block must be BasicBlock or Bottleneck, got {block!r}")
        layers = _check_layers(layers, 4)
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        check_bool("stride_in_1x1", stride_in_1x1)
        if stride_in_1x1 and block is not Bottleneck:
            raise ValueError("stride_in_1x1=True needs block=Bottleneck (a BasicBlock has no 1x1 conv)")
        extra = {"stride_in_1x1": True} if stride_in_1x1 else {}
        stage_options = per_stage_options(attention_options, 4)
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage = self._make_layer(block, planes, blocks, 1 if i == 0 else 2, attention,
                                     **extra, **stage_options[i])
            self.add_module(f"layer{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_backbone(self)

    def _make_layer(self, block, planes: int, blocks: int, stride: int, attention: AttentionSpec,
                    **options) -> nn.Sequential:
        width = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != width:
            downsample = nn.Sequential(conv1x1(self.inplanes, width, stride), nn.BatchNorm2d(width))
        layers = [block(self.inplanes, planes, stride, downsample, attention, **options)]
        self.inplanes = width
        layers += [block(width, planes, 1, None, attention, **options) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def resnet18(attention: AttentionSpec = None, **kwargs) -> ResNet:
    """ResNet-18 (11,689,512 parameters without attention), attention in each of its 8 basic blocks."""
    return ResNet(BasicBlock, (2, 2, 2, 2), attention, **kwargs)


def resnet34(attention: AttentionSpec = None, **kwargs) -> ResNet:
    """ResNet-34 (21,797,672 parameters without attention), attention in each of its 16 basic blocks."""
    return ResNet(BasicBlock, (3, 4, 6, 3), attention, **kwargs)


def resnet50(attention: AttentionSpec = None, **kwargs) -> ResNet:
    """ResNet-50 (25,557,032 parameters without attention), attention in each of its 16 bottlenecks.

    >>> from attn_src.models import resnet50
    >>> sum(p.numel() for p in resnet50("eca", kernel_size=[3, 5, 5, 7]).parameters())
    25557112
    """
    return ResNet(Bottleneck, (3, 4, 6, 3), attention, **kwargs)


class ShortcutA(nn.Module):
    """He et al.'s CIFAR shortcut, option A: subsample by ``stride`` and zero-pad the new channels.

    It has no parameters, which is why ResNet-20 has 0.27M parameters (He et al. 2016, Table 6).
    """

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.pad, self.stride = cout - cin, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.pad))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, pad_channels={self.pad}"


class CifarResNet(nn.Module):
    """The CIFAR ResNet of He et al. (Sec. 4.2): a 3x3 stem, three stages of ``n`` basic blocks, 6n+2 layers.

    Args:
        depth: 6n + 2 (20, 32, 44, 56, 110).
        attention: as for :class:`ResNet`; in every block, before the addition.
        num_classes: outputs of ``fc``.
        in_channels: channels of the input image (3 for CIFAR, 1 for digits).
        widths: channels of the three stages (paper: 16, 32, 64); stages 2 and 3 halve the resolution.
        **attention_options: as for :class:`ResNet`, lists having one value per stage (3 stages).
    """

    def __init__(self, depth: int = 20, attention: AttentionSpec = None, num_classes: int = 10,
                 in_channels: int = 3, widths: Sequence[int] = (16, 32, 64), **attention_options) -> None:
        super().__init__()
        depth = check_int("depth", depth, minimum=8)
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got {depth}")
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        widths = _check_layers(widths, 3)
        n = (depth - 2) // 6
        stage_options = per_stage_options(attention_options, 3)
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        cin = widths[0]
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            blocks = []
            for j in range(n):
                s = stride if j == 0 else 1
                shortcut = ShortcutA(cin, width, s) if (s != 1 or cin != width) else None
                blocks.append(BasicBlock(cin, width, s, shortcut, attention, **stage_options[i]))
                cin = width
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)
        _init_backbone(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def cifar_resnet20(attention: AttentionSpec = None, **kwargs) -> CifarResNet:
    """ResNet-20 for 32x32 images (269,722 parameters without attention, 10 classes)."""
    return CifarResNet(20, attention, **kwargs)
