"""Checker for the comparison chapter's implementation exercise: SE with a max-pooling squeeze.

>>> from attn_src.checks.compare import check_max_se
>>> check_max_se(MaxSE)        # doctest: +SKIP
PASSED: a max-pooling SE (MaxSE) (7 checks)
"""
from __future__ import annotations

from typing import Callable

import torch

from ..se import SE
from ._core import CheckFailure, Verdict, expect_close, run_checks

__all__ = ["check_max_se"]

TITLE = "a max-pooling SE (MaxSE)"

# (N, C, H, W, reduction): H != W, a batch of one, a 1 x 1 map (where the maximum is the mean), wide C.
SHAPES = ((2, 64, 5, 7, 16), (1, 32, 4, 4, 4), (3, 16, 1, 1, 4), (2, 256, 7, 7, 16))


class ReferenceMaxSE(SE):
    """The reference: SE whose squeeze takes each channel's maximum over H and W (Eq. 2 with max for mean)."""

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=(2, 3))


def _build(cls: type, channels: int, reduction: int) -> tuple[SE, ReferenceMaxSE]:
    """The learner's module and the reference with the same weights."""
    mine = cls(channels, reduction)
    if not isinstance(mine, SE):
        raise CheckFailure(f"{cls.__name__}({channels}, {reduction}) is a {type(mine).__name__}, not an SE: "
                           f"write class {cls.__name__}(SE) and override squeeze only")
    reference = ReferenceMaxSE(channels, reduction)
    try:
        reference.load_state_dict(mine.state_dict())
    except RuntimeError as err:
        raise CheckFailure(f"{cls.__name__} has other parameters than SE's reduce and expand layers; keep SE's "
                           f"__init__ and override squeeze only ({str(err).splitlines()[0]})") from None
    return mine, reference


def _diagnose_squeeze(x: torch.Tensor, got: object) -> None:
    """Raise a CheckFailure naming the mistake when ``got`` is not each channel's maximum over H and W."""
    n, c, h, w = x.shape
    if isinstance(got, tuple):
        raise CheckFailure("squeeze returned a tuple: torch.max(x, dim) gives (values, indices). "
                           "Use x.amax(dim=(2, 3)), which returns the values only")
    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"squeeze should return a tensor of shape (N, C) = {(n, c)}, got {type(got).__name__}")
    shape = tuple(got.shape)
    if shape == (n, c, 1, 1):
        raise CheckFailure(f"squeeze returned shape {shape}, expected (N, C) = {(n, c)}: SE.gate adds the two "
                           "trailing dimensions itself (drop keepdim=True, or flatten a pooled map)")
    if shape in ((n, c, w), (n, c, h)) and shape != (n, c):
        raise CheckFailure(f"squeeze returned shape {shape}, expected (N, C) = {(n, c)}: you reduced one spatial "
                           "axis only; take the maximum over both H and W, dim=(2, 3)")
    if shape == (n, h, w):
        raise CheckFailure(f"squeeze returned shape {shape}, expected (N, C) = {(n, c)}: that is the maximum over "
                           "the channels (dim 1), CBAM's spatial pooling; SE pools each channel over H and W, dim=(2, 3)")
    if shape != (n, c):
        raise CheckFailure(f"squeeze returned shape {shape}, expected (N, C) = {(n, c)}: one number per channel, "
                           "the maximum over H and W")
    if torch.allclose(got, x.mean(dim=(2, 3)), atol=1e-6):
        raise CheckFailure("squeeze returns each channel's mean, SE's own squeeze: take the maximum instead, "
                           "x.amax(dim=(2, 3))")
    if torch.allclose(got, x.abs().amax(dim=(2, 3)), atol=1e-6):
        raise CheckFailure("squeeze returns each channel's largest absolute value; take the maximum of x itself "
                           "(a channel whose values are all negative has a negative maximum)")
    if torch.allclose(got, x.amin(dim=(2, 3)), atol=1e-6):
        raise CheckFailure("squeeze returns each channel's minimum; take the maximum, x.amax(dim=(2, 3))")
    expect_close("squeeze(x)", got, x.amax(dim=(2, 3)), atol=1e-6)


def check_max_se(cls: type) -> Verdict:
    """Check a ``MaxSE(channels, reduction)`` class against an SE whose squeeze is the maximum over H and W.

    First its ``squeeze`` alone, on inputs with negative channels (the maximum of an all-negative
    channel is negative); then its forward pass, with the reference's weights loaded, on several
    shapes and reductions. Typical mistakes get their own message: keeping the dimensions, reducing
    one axis or the channels, returning ``torch.max``'s (values, indices), the mean, the minimum or
    the largest absolute value.
    """
    if not isinstance(cls, type):
        raise TypeError(f"cls must be a class MaxSE(SE) (not an instance), got {type(cls).__name__}")

    def a_subclass_of_se() -> None:
        if not issubclass(cls, SE):
            raise CheckFailure(f"{cls.__name__} should subclass attn_src.SE (class {cls.__name__}(SE)) and "
                               "override squeeze only, so the excitation and the scale stay SE's")

    def squeeze_takes_the_maximum() -> None:
        module = cls(16, 4)
        x = torch.randn(2, 16, 5, 7, generator=torch.Generator().manual_seed(0))
        x[:, ::3] = -x[:, ::3].abs() - 0.1  # every third channel entirely negative
        got = module.squeeze(x)
        _diagnose_squeeze(x, got)

    def forward_matches(shape) -> Callable[[], None]:
        n, c, h, w, reduction = shape

        def check() -> None:
            mine, reference = _build(cls, c, reduction)
            x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(c + h))
            with torch.no_grad():
                expect_close(f"{cls.__name__}({c}, {reduction}) on {(n, c, h, w)}", mine(x), reference(x))
        return check

    checks = [("it is an SE", a_subclass_of_se), ("squeeze is each channel's maximum over H and W", squeeze_takes_the_maximum)]
    checks += [(f"the forward pass on (N, C, H, W) = {s[:4]}, reduction {s[4]}", forward_matches(s)) for s in SHAPES]
    return run_checks(TITLE, checks)
