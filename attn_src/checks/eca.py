"""Checkers for the ECA chapter's implementation exercise: psi(C) and the ECA forward pass.

>>> from attn_src.checks.eca import check_kernel_size, check_eca_forward
>>> check_kernel_size(my_kernel_size)        # doctest: +SKIP
PASSED: ECA kernel size psi(C) (8 checks)
>>> check_eca_forward(MyECA)                 # doctest: +SKIP
PASSED: ECA forward pass (8 checks)

While a part is still the exercise's stub, the verdict is ``NOT YET`` and names the stub that
raised and, when another part of the learner's code called it, that caller: the forward check
builds ``MyECA(C)``, whose ``__init__`` calls ``kernel_size``, so with both stubs in place it says
``in kernel_size, called by MyECA.__init__``, not something about the forward pass.
"""
from __future__ import annotations

import math
import numbers
import pathlib
import traceback
from types import FrameType
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..eca import ECA, eca_kernel_size
from ._core import CheckFailure, Verdict, expect_close, expect_shape, run_checks

__all__ = ["check_eca_forward", "check_kernel_size"]

# (gamma, b) pairs: the paper's (2, 1) first, then others that catch hard-coded constants.
KERNEL_SIZE_SETTINGS = ((2, 1), (1, 0), (3, 2), (2, 0), (1.5, 1), (2.5, -1))
MAX_CHANNELS = 4096


# Frames of these folders are the checker's or torch's, never the learner's.
_NOT_THE_LEARNERS = (pathlib.Path(__file__).resolve().parent, pathlib.Path(torch.__file__).resolve().parent)


def _is_learners(frame: FrameType) -> bool:
    path = pathlib.Path(frame.f_code.co_filename).resolve()
    return not any(folder == path or folder in path.parents for folder in _NOT_THE_LEARNERS)


def _frame_name(frame: FrameType) -> str:
    """``MyECA.forward`` for a method, ``kernel_size`` for a function."""
    owner = frame.f_locals.get("self")
    name = frame.f_code.co_name
    return f"{type(owner).__name__}.{name}" if owner is not None else name


def _unfinished(err: NotImplementedError) -> str:
    """The stub's message, prefixed with the learner's function that raised it and, if any, its caller."""
    frames = [frame for frame, _ in traceback.walk_tb(err.__traceback__) if _is_learners(frame)]
    if not frames:
        return str(err)
    where = _frame_name(frames[-1])
    if len(frames) > 1:
        where += f", called by {_frame_name(frames[-2])}"
    return f"in {where}: {err}" if str(err) else f"in {where}"


def _naming_the_stub(check: Callable[[], None]) -> Callable[[], None]:
    """``check``, with a NotImplementedError re-raised to say which of the learner's stubs is unfinished."""
    def named() -> None:
        try:
            check()
        except NotImplementedError as err:
            raise NotImplementedError(_unfinished(err)) from None
    return named


def _odd(n: int) -> int:
    return n if n % 2 else n + 1


def _why_kernel_differs(channels: int, gamma: float, b: float, got: object, expected: int) -> str:
    t = math.log2(channels) / gamma + b / gamma
    text = (
        f"for C={channels}, gamma={gamma:g}, b={b:g} yours is {got!r}, expected {expected} "
        f"(t = log2(C)/gamma + b/gamma = {t:.4g}, int(t) = {int(t)}"
        + (", even, so +1)" if int(t) % 2 == 0 else ", already odd)")
    )
    if (gamma, b) != (2, 1) and got == eca_kernel_size(channels):
        return text + ". Your function seems to ignore gamma and b (it gives the answer for gamma=2, b=1)"
    if isinstance(got, numbers.Integral) and got % 2 == 0:
        return text + ". k must be odd: add 1 when the truncated value is even"
    if got == _odd(round(t)):
        return text + ". Truncate t with int(t) before making it odd; do not round it"
    if got == _odd(int(abs((math.log(channels) + b) / gamma))):
        return text + ". Use the base-2 logarithm (math.log2), not the natural one"
    return text


def check_kernel_size(fn: Callable[..., int]) -> Verdict:
    """Check ``fn(channels, gamma=2, b=1)`` against ECA-Net's psi(C) for C = 1 ... 4096 and several (gamma, b).

    The reference is :func:`attn_src.eca_kernel_size`, which follows the paper's own code:
    ``t = int(abs((log2(C) + b) / gamma))``, plus 1 when ``t`` is even. The first C that differs is named.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function channels, gamma=2, b=1 -> int, got {type(fn).__name__}")

    def returns_int() -> None:
        got = fn(64, 2, 1)
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            raise CheckFailure(
                f"fn(64, 2, 1) returned {got!r} ({type(got).__name__}); a kernel size must be an int "
                f"(nn.Conv1d needs one): wrap the result in int(...)"
            )

    def defaults_are_the_papers() -> None:
        for channels in (16, 64, 256, 1024):
            got, expected = fn(channels), fn(channels, 2, 1)
            if got != expected:
                raise CheckFailure(
                    f"fn({channels}) = {got!r} but fn({channels}, 2, 1) = {expected!r}: "
                    f"the defaults should be the paper's gamma=2, b=1"
                )

    def agrees_over_all_channels(gamma: float, b: float) -> Callable[[], None]:
        def check() -> None:
            for channels in range(1, MAX_CHANNELS + 1):
                got, expected = fn(channels, gamma, b), eca_kernel_size(channels, gamma, b)
                if got != expected:
                    raise CheckFailure(_why_kernel_differs(channels, gamma, b, got, expected))
        return check

    checks = [
        ("the return type", returns_int),
        ("the default gamma and b", defaults_are_the_papers),
    ] + [
        (f"C = 1 ... {MAX_CHANNELS} with gamma={gamma:g}, b={b:g}", agrees_over_all_channels(gamma, b))
        for gamma, b in KERNEL_SIZE_SETTINGS
    ]
    return run_checks("ECA kernel size psi(C)", [(what, _naming_the_stub(check)) for what, check in checks])


# Shapes (N, C, H, W): a batch of one (where squeeze() without a dim breaks), H != W, C with k = 1, 3, 5, 7.
FORWARD_SHAPES = ((2, 64, 5, 7), (1, 64, 4, 4), (3, 8, 6, 3), (2, 4, 3, 3), (2, 256, 2, 3), (2, 2048, 1, 2))


def _build(cls: type, channels: int) -> tuple[nn.Module, ECA]:
    """The learner's module and a reference ECA holding the same weights."""
    mine = cls(channels)
    if not isinstance(mine, nn.Module):
        raise CheckFailure(f"{cls.__name__}({channels}) is a {type(mine).__name__}, expected an nn.Module subclass")
    k = eca_kernel_size(channels)
    params = list(mine.parameters())
    count = sum(p.numel() for p in params)
    if count != k:
        hint = ": the 1-D convolution must have bias=False" if count == k + 1 else ""
        raise CheckFailure(
            f"{cls.__name__}({channels}) has {count} parameters, expected exactly k = psi({channels}) = {k} "
            f"(one Conv1d(1, 1, k, bias=False)){hint}"
        )
    ref = ECA(channels)
    with torch.no_grad():
        # larger than the default initialisation, so mistakes show; seeded, so a rerun prints the same verdict
        ref.conv.weight.uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(channels))
        params[0].copy_(ref.conv.weight.view_as(params[0]))
    return mine, ref


def _diagnose(x: torch.Tensor, got: torch.Tensor, ref: ECA) -> str:
    """Name the usual mistake whose output ``got`` matches, or '' when none does."""
    k = ref.kernel_size
    w = ref.conv.weight
    y = x.mean(dim=(2, 3)).unsqueeze(1)
    candidates = {
        "the gate has no sigmoid: apply torch.sigmoid to the convolution's output":
            x * ref.conv(y).squeeze(1)[:, :, None, None],
        "the descriptor is the max over H and W; ECA squeezes with the mean (global average pooling)":
            x * torch.sigmoid(ref.conv(x.amax(dim=(2, 3)).unsqueeze(1))).squeeze(1)[:, :, None, None],
        "the kernel is flipped (this is a true convolution); use nn.Conv1d, which correlates":
            x * torch.sigmoid(F.conv1d(y, w.flip(-1), padding=k // 2)).squeeze(1)[:, :, None, None],
        "the channels are not padded with zeros at both ends: use padding=k // 2 (padding='same')":
            x * torch.sigmoid(F.conv1d(F.pad(y, (k // 2, k // 2), mode="replicate"), w)).squeeze(1)[:, :, None, None],
    }
    for message, candidate in candidates.items():
        if candidate.shape == got.shape and torch.allclose(got.double(), candidate.double(), atol=1e-5):
            return message
    return ""


def check_eca_forward(cls: type) -> Verdict:
    """Check an ECA class ``cls(channels)`` against :class:`attn_src.ECA`, with the reference's weights copied in.

    ``cls(channels)`` must pick k = psi(C) itself and hold exactly k parameters (one bias-free
    ``Conv1d``); its forward must return ``x * sigmoid(conv1d(mean_hw(x)))`` for every shape,
    each image on its own.
    """
    if not isinstance(cls, type):
        raise TypeError(f"cls must be a class (an nn.Module subclass), got {type(cls).__name__}")

    def same_as_reference(shape: tuple[int, ...]) -> Callable[[], None]:
        def check() -> None:
            mine, ref = _build(cls, shape[1])
            x = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
            x_in = x.clone()
            with torch.no_grad():
                got, expected = mine(x_in), ref(x)
            if not torch.equal(x_in, x):
                raise CheckFailure("your forward changed its input x in place; return a new tensor x * gate")
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (shape[0], shape[1], 1, 1):
                raise CheckFailure(
                    f"the output has shape {tuple(got.shape)}: that is the gate; return x * gate, shaped like x {shape}"
                )
            expect_shape("the output", got, shape)
            try:
                expect_close("the output", got, expected)
            except CheckFailure as err:
                hint = _diagnose(x, got, ref)
                raise CheckFailure(f"{err}\n  likely cause: {hint}" if hint else str(err)) from None
        return check

    def images_are_independent() -> None:
        mine, _ = _build(cls, 64)
        x = torch.randn(2, 64, 4, 4, generator=torch.Generator().manual_seed(1))
        other = x.clone()
        other[1] = 10 * torch.randn(64, 4, 4, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            first, changed = mine(x)[0], mine(other)[0]
        if not torch.allclose(first, changed, atol=1e-6):
            raise CheckFailure(
                "the output for image 0 changed when only image 1 changed: the 1-D convolution must run along "
                "the channels of each image, shaped (N, 1, C), not across the batch"
            )

    def kernel_follows_channels() -> None:
        for channels in (1, 8, 64, 256, 2048):
            _build(cls, channels)

    checks = [
        ("the parameter count for C = 1, 8, 64, 256, 2048", kernel_follows_channels),
        ("that each image of a batch is gated on its own", images_are_independent),
    ]
    checks += [(f"the output for an input of shape {shape}", same_as_reference(shape)) for shape in FORWARD_SHAPES]
    return run_checks("ECA forward pass", [(what, _naming_the_stub(check)) for what, check in checks])
