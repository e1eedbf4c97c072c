"""Look inside a trained network: record the gates its attention modules compute."""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def record_gates(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor | tuple[torch.Tensor, ...]]:
    """Run ``model(x)`` (in eval mode) and return every attention gate it computed, by module name.

    A module counts as attention if it has a ``gate`` method (SE, ECA, ChannelAttention,
    SpatialAttention) or a ``gates`` method (CoordAttention, returning ``(g_h, g_w)``). The gate is
    recomputed from the module's input in a forward hook, so the model itself is unchanged.
    CBAM appears as its two parts, ``<name>.channel`` and ``<name>.spatial``. The model's attention
    modules must be the plain ones: the fast CBAM applies its gates without calling its parts.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    fast = [name or "the model" for name, m in model.named_modules() if type(m).__name__ == "FastCBAM"]
    if fast:
        raise ValueError(f"record_gates reads plain attention modules, but {fast[0]} is a FastCBAM, whose "
                         "spatial part never runs as a module; build the model with fast=False (same weights)")

    found: dict[str, torch.Tensor | tuple[torch.Tensor, ...]] = {}
    handles = []
    for name, module in model.named_modules():
        probe = getattr(module, "gates", None) or getattr(module, "gate", None)
        if callable(probe) and not isinstance(module, nn.Sequential):
            def hook(mod, inputs, output, name=name, probe=probe):
                found[name] = probe(inputs[0])
            handles.append(module.register_forward_hook(hook))
    modes = {module: module.training for module in model.modules()}  # restored one by one below
    model.eval()
    try:
        model(x)
    finally:
        for module, training in modes.items():
            module.training = training
        for handle in handles:
            handle.remove()
    return found
