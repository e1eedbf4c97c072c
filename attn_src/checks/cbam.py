"""Checker for the CBAM chapter's implementation exercise: write the spatial attention module.

The learner writes ``SpatialAttention(kernel_size=7)`` computing Eq. 3 of Woo et al. (2018) in the
paper's order and without a BatchNorm::

    M_s(F) = sigmoid(f^{k x k}([AvgPool(F); MaxPool(F)]))      (pooling across channels)
    forward(F) = M_s(F) * F

:func:`check_spatial_attention` copies the weight of :class:`attn_src.SpatialAttention`
(``norm=False, max_first=False``) into the learner's conv and compares the two, naming the
common mistakes (maps stacked [max; mean], pooling over the wrong dimension, missing sigmoid,
returning the gate instead of the refined map, a bias in the conv, padding that changes the size).
"""
from __future__ import annotations

import torch
from torch import nn

from ..cbam import SpatialAttention
from ._core import CheckFailure, Verdict, expect_close, expect_in_unit_interval, expect_param_count, expect_shape, run_checks

TITLE = "CBAM spatial attention"
KERNEL_SIZES = (7, 3)
# (N, C, H, W): odd and even sizes, non-square, one channel, a 1 x 1 map.
SHAPES = ((2, 8, 9, 9), (3, 5, 6, 10), (1, 1, 7, 7), (2, 16, 1, 1))


def _the_conv(module: nn.Module, k: int) -> nn.Conv2d:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != 1:
        raise CheckFailure(
            f"SpatialAttention(kernel_size={k}) should contain exactly one nn.Conv2d (2 pooled maps -> 1 map), "
            f"found {len(convs)}"
        )
    conv = convs[0]
    if tuple(conv.weight.shape) != (1, 2, k, k):
        raise CheckFailure(
            f"the conv's weight has shape {tuple(conv.weight.shape)}, expected (1, 2, {k}, {k}): "
            f"in_channels=2 (the mean map and the max map), out_channels=1, kernel_size={k}"
        )
    if conv.padding not in ("same", (k // 2, k // 2)) or conv.stride != (1, 1) or conv.dilation != (1, 1):
        raise CheckFailure(
            f"the conv has padding={conv.padding}, stride={conv.stride}, dilation={conv.dilation}: the map changes size; "
            f"pad the conv by kernel_size // 2 = {k // 2} on each side, with stride 1 and dilation 1"
        )
    return conv


def _pair(cls, k: int) -> tuple[nn.Module, SpatialAttention]:
    """The learner's module and the reference, with the same conv weight, in eval mode."""
    torch.manual_seed(k)
    reference = SpatialAttention(k, norm=False, max_first=False).eval()
    mine = cls(kernel_size=k)
    if not isinstance(mine, nn.Module):
        raise CheckFailure(f"SpatialAttention(kernel_size={k}) should be an nn.Module, got {type(mine).__name__}")
    with torch.no_grad():
        _the_conv(mine, k).weight.copy_(reference.conv.weight)
    return mine.eval(), reference


def _inputs(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    # Positive inputs, so the gate can be read back as output / input.
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5


def _check_constructs(cls) -> None:
    for k in KERNEL_SIZES:
        _pair(cls, k)


def _check_params(cls) -> None:
    for k in KERNEL_SIZES:
        expect_param_count(
            f"SpatialAttention(kernel_size={k})", cls(kernel_size=k), 2 * k * k,
            f"2 * {k} * {k} (one {k}x{k} filter per pooled map; Eq. 3 has no bias and no BatchNorm here)",
        )


def _check_shapes(cls) -> None:
    for k in KERNEL_SIZES:
        mine, _ = _pair(cls, k)
        for i, shape in enumerate(SHAPES):
            with torch.no_grad():
                out = mine(_inputs(shape, i))
            n, _, h, w = shape
            if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 1, h, w) and shape[1] != 1:
                raise CheckFailure(
                    f"forward returned shape {tuple(out.shape)}, the gate M_s(F); forward should return the "
                    f"refined map M_s(F) * F, shaped like its input {shape}"
                )
            if isinstance(out, torch.Tensor) and out.dim() == 4 and tuple(out.shape[2:]) != (h, w):
                raise CheckFailure(
                    f"with kernel_size={k} an input of shape {shape} gave {tuple(out.shape)}: the map changed size; "
                    f"pad the conv by kernel_size // 2 = {k // 2} on each side"
                )
            expect_shape(f"SpatialAttention(kernel_size={k}) output for input {shape}", out, shape)


def _gate_of(mine: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return mine(x) / x


def _check_gate(cls) -> None:
    for k in KERNEL_SIZES:
        mine, _ = _pair(cls, k)
        for i, shape in enumerate(SHAPES):
            gate = _gate_of(mine, _inputs(shape, i))
            expect_in_unit_interval(f"the gate output / input for input {shape} (did you apply the sigmoid?)", gate)
            spread = (gate - gate[:, :1]).abs().max().item()
            if spread > 1e-5:
                raise CheckFailure(
                    f"the gate output / input differs between channels at the same position (by up to {spread:.3g}) "
                    f"for input {shape}: a spatial gate is one map (N, 1, H, W), shared by every channel; "
                    f"pool across channels (dim=1, keepdim=True) and multiply the input by the gate"
                )


def _check_values(cls) -> None:
    for k in KERNEL_SIZES:
        mine, reference = _pair(cls, k)
        for i, shape in enumerate(SHAPES):
            x = _inputs(shape, 10 + i)
            with torch.no_grad():
                got, expected = mine(x), reference(x)
                swapped = SpatialAttention(k, norm=False, max_first=True).eval()
                swapped.conv.weight.copy_(reference.conv.weight)
                if shape[1] > 1 and torch.allclose(got, swapped(x), atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
                    raise CheckFailure(
                        "your maps are stacked [max; mean]; Eq. 3 stacks [AvgPool(F); MaxPool(F)], "
                        "mean first (torch.cat([avg, max], dim=1))"
                    )
            expect_close(f"SpatialAttention(kernel_size={k}) output for input {shape}", got, expected)


def check_spatial_attention(cls) -> Verdict:
    """Check a learner's ``SpatialAttention`` class against Eq. 3; print and return the verdict."""
    if not isinstance(cls, type):
        print(f"FAILED: {TITLE}\n  pass the class itself (SpatialAttention), not {type(cls).__name__}")
        return False
    return run_checks(TITLE, [
        ("SpatialAttention(kernel_size=k) builds, with one conv from 2 maps to 1", lambda: _check_constructs(cls)),
        ("parameter count is 2 * k * k", lambda: _check_params(cls)),
        ("the output has the input's shape", lambda: _check_shapes(cls)),
        ("the gate lies in (0, 1) and is shared by all channels", lambda: _check_gate(cls)),
        ("the output equals attn_src's, position by position", lambda: _check_values(cls)),
    ])
