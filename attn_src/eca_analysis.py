"""Looking inside ECA: the pieces of its kernel-size rule, effective interaction matrices, ECA layers of a network.

Wang et al., *ECA-Net*, CVPR 2020. The ECA chapter uses these to compare ECA with SE:

- :func:`kernel_size_target` is the real number ``log2(C)/gamma + b/gamma`` inside Eq. 13's
  ``|.|_odd``, before any rounding;
- :func:`excitation_jacobian` is the C x C matrix that says how the gate's logits respond to
  each channel of the descriptor: for ECA the banded matrix of its 1-D convolution (Eq. 6),
  for SE the Jacobian ``W2 diag(relu'(W1 z + b1)) W1`` of its bottleneck (SE Eq. 3) at ``z``;
- :func:`eca_layers` lists every ECA module of a network with its C, k and parameter count.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import check_int, check_positive_number, check_real
from .eca import ECA
from .se import SE


def kernel_size_target(channels: int, gamma: float = 2, b: float = 1) -> float:
    """The unrounded ``t = log2(C)/gamma + b/gamma`` of ECA-Net Eq. 13 (``k = |t|_odd``).

    >>> kernel_size_target(256)
    4.5
    """
    channels = check_int("channels", channels)
    gamma = check_positive_number("gamma", gamma)
    b = check_real("b", b)
    return math.log2(channels) / gamma + b / gamma


def _logits(module: nn.Module):
    """The map from the descriptor (C,) to the gate's pre-sigmoid logits (C,)."""
    if isinstance(module, ECA):
        return lambda y: module.conv(y.view(1, 1, -1)).view(-1)
    if isinstance(module, SE):
        return lambda z: module.expand(torch.relu(module.reduce(z)))
    raise TypeError(f"module must be an attn_src SE or ECA, got {type(module).__name__}")


def excitation_jacobian(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Jacobian ``d logits / d z`` (C x C) of an SE or ECA gate's pre-sigmoid logits at descriptor ``z``.

    Row i says how much each channel of the descriptor moves channel i's logit. For ECA the
    logits are linear in ``z``, so this is the same banded matrix at every ``z``
    (:meth:`ECA.interaction_matrix`). For SE it is ``W2 diag(1[W1 z + b1 > 0]) W1``: it depends
    on ``z`` through the ReLU, and its rank is at most the hidden width C // r.

    Args:
        module: an :class:`~attn_src.SE` or :class:`~attn_src.ECA`.
        z: one image's channel descriptor (the global average of its feature map), shape (C,).
    """
    logits = _logits(module)
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"z must be a torch.Tensor of shape (C,), got {type(z).__name__}")
    if tuple(z.shape) != (module.channels,):
        raise ValueError(
            f"z must have shape ({module.channels},) (one descriptor for this module's "
            f"{module.channels} channels), got {tuple(z.shape)}"
        )
    param = next(module.parameters())
    z = z.detach().to(dtype=param.dtype, device=param.device)
    return torch.autograd.functional.jacobian(logits, z)


def eca_layers(model: nn.Module) -> list[dict[str, object]]:
    """Every :class:`~attn_src.ECA` inside ``model``, in order: name, channels C, kernel size k, parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return [
        {"name": name, "channels": m.channels, "k": m.kernel_size, "params": sum(p.numel() for p in m.parameters())}
        for name, m in model.named_modules()
        if isinstance(m, ECA)
    ]
