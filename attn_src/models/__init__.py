"""Networks to put attention modules in.

- Small ones that train on a CPU in seconds: :class:`TinyCNN`, :func:`cifar_resnet20`.
- The papers' backbones, with torchvision's parameter layout: :func:`resnet18`, :func:`resnet34`,
  :func:`resnet50`, :func:`mobilenet_v2`.
- :func:`attach` adds attention modules to any existing network.

Every network takes ``attention=None | "se" | "cbam" | "eca" | "ca" | callable`` (see :func:`make_attention`).
"""
from .attach import attach, output_channels
from .factory import ATTENTION_NAMES, make_attention, per_stage_options
from .mobilenet import InvertedResidual, MobileNetV2, mobilenet_v2
from .resnet import BasicBlock, Bottleneck, CifarResNet, ResNet, cifar_resnet20, resnet18, resnet34, resnet50
from .small import TinyCNN
from .summary import conv_matmul_flops, count_parameters

__all__ = [
    "ATTENTION_NAMES",
    "BasicBlock",
    "Bottleneck",
    "CifarResNet",
    "InvertedResidual",
    "MobileNetV2",
    "ResNet",
    "TinyCNN",
    "attach",
    "cifar_resnet20",
    "conv_matmul_flops",
    "count_parameters",
    "make_attention",
    "mobilenet_v2",
    "output_channels",
    "per_stage_options",
    "resnet18",
    "resnet34",
    "resnet50",
]
