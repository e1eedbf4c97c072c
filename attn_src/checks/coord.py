"""Checkers for the Coordinate Attention chapter's implementation exercise: the pooling and the split.

The learner writes two functions (Hou et al., 2021, Eqs. 4-5 and the split before Eqs. 7-8)::

    coordinate_pooling(x) -> (z_h, z_w)
        x (N, C, H, W); z_h (N, C, H, 1) averages over the width, z_w (N, C, 1, W) over the height.
    split_hw(f, h, w) -> (f_h, f_w)
        f (N, m, H + W, 1) holds [f^h, f^w] stacked along dim 2 (f^w transposed to (N, m, W, 1));
        f_h (N, m, H, 1) is the first H rows, f_w (N, m, 1, W) the last W rows, transposed back.

:func:`check_coordinate_pooling` and :func:`check_split` compare them with the reference on
shapes where H != W (so a swapped axis shows in the shape) and H == W (so it must show in the
values), and name the common mistakes: the wrong axis, a missing ``keepdim``, a sum or a
maximum instead of the mean, the two halves swapped, f^w left untransposed, an input modified
in place.
"""
from __future__ import annotations

from typing import Callable

import torch

from ._core import CheckFailure, Verdict, expect_close, run_checks

# (N, C, H, W): taller than wide, wider than tall, square, a single row, a single column.
SHAPES = ((2, 3, 5, 7), (1, 4, 9, 4), (3, 2, 6, 6), (2, 5, 1, 8), (1, 3, 8, 1))


def _check_callable(name: str, fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be a function, got {fn!r} ({type(fn).__name__})")


def _input(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _pair(what: str, result: object) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(result, tuple) and len(result) == 2):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise CheckFailure(f"{what} should return a tuple of two tensors, got {got}")
    for name, t in zip(("first", "second"), result):
        if not isinstance(t, torch.Tensor):
            raise CheckFailure(f"{what}'s {name} result should be a torch.Tensor, got {type(t).__name__}")
    return result


def _reference_pooling(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eqs. 4-5: ``z^h`` (N, C, H, 1) = mean over the width, ``z^w`` (N, C, 1, W) = mean over the height."""
    return x.mean(dim=3, keepdim=True), x.mean(dim=2, keepdim=True)


# ---- coordinate pooling ---------------------------------------------------------------------

def _pooling_shape_hint(name: str, got: tuple[int, ...], shape: tuple[int, ...]) -> str:
    n, c, h, w = shape
    keeps = {"z_h": ("H", h, "width (dim=3)"), "z_w": ("W", w, "height (dim=2)")}[name]
    if len(got) == 3:
        return f"keep the pooled dimension (keepdim=True), so {name} broadcasts against x"
    if name == "z_h" and got == (n, c, 1, w) or name == "z_w" and got == (n, c, h, 1):
        return f"you averaged over the wrong axis: {name} keeps the {keeps[0]} axis ({keeps[1]}), so average over the {keeps[2]}"
    return f"{name} keeps the {keeps[0]} axis ({keeps[1]} values per channel): average over the {keeps[2]}"


def _check_pooling_shapes(fn: Callable) -> None:
    for i, shape in enumerate(SHAPES):
        z_h, z_w = _pair("coordinate_pooling(x)", fn(_input(shape, i)))
        n, c, h, w = shape
        for name, got, expected in (("z_h", z_h, (n, c, h, 1)), ("z_w", z_w, (n, c, 1, w))):
            if tuple(got.shape) != expected:
                raise CheckFailure(
                    f"for x of shape {shape}, {name} has shape {tuple(got.shape)}, expected {expected}: "
                    + _pooling_shape_hint(name, tuple(got.shape), shape)
                )


def _pooling_value_hint(name: str, got: torch.Tensor, x: torch.Tensor) -> str | None:
    dim, other = (3, 2) if name == "z_h" else (2, 3)
    size = x.shape[dim]
    candidates = (
        (x.sum(dim=dim, keepdim=True), f"you summed; Eqs. 4-5 average: divide by the {'width W' if dim == 3 else 'height H'} = {size}"),
        (x.amax(dim=dim, keepdim=True), "you took the maximum; Eqs. 4-5 average (CA pools with the mean, like SE)"),
        (x.mean(dim=other, keepdim=True).transpose(2, 3),
         f"you averaged over the wrong axis (the shapes only match because H == W): "
         f"{name} averages over {'the width, dim=3' if dim == 3 else 'the height, dim=2'}"),
    )
    for candidate, hint in candidates:
        if candidate.shape == got.shape and torch.allclose(got.detach().double(), candidate.double(), atol=1e-5):
            return hint
    return None


def _check_pooling_values(fn: Callable) -> None:
    for i, shape in enumerate(SHAPES):
        x = _input(shape, i)
        z_h, z_w = _pair("coordinate_pooling(x)", fn(x.clone()))
        for name, got, expected in zip(("z_h", "z_w"), (z_h, z_w), _reference_pooling(x)):
            if got.shape == expected.shape and not torch.allclose(got.detach().double(), expected.double(), atol=1e-5):
                hint = _pooling_value_hint(name, got, x)
                if hint:
                    raise CheckFailure(f"for x of shape {shape}, {name} has the wrong values: {hint}")
            expect_close(f"{name} for x of shape {shape}", got, expected)


def _check_pooling_leaves_input(fn: Callable) -> None:
    x = _input(SHAPES[0], 99)
    before = x.clone()
    fn(x)
    if not torch.equal(x, before):
        raise CheckFailure("coordinate_pooling changed its input x in place; pooling must only read x "
                           "(CA multiplies the original x by the gates afterwards)")


def check_coordinate_pooling(fn: Callable) -> Verdict:
    """Check the learner's ``coordinate_pooling(x) -> (z_h, z_w)`` (Eqs. 4-5); print and return the verdict."""
    _check_callable("fn", fn)
    return run_checks("coordinate pooling (Eqs. 4-5)", [
        ("it returns (z_h, z_w) with z_h (N, C, H, 1) and z_w (N, C, 1, W)", lambda: _check_pooling_shapes(fn)),
        ("z_h averages each row over the width, z_w each column over the height", lambda: _check_pooling_values(fn)),
        ("it leaves its input unchanged", lambda: _check_pooling_leaves_input(fn)),
    ])


# ---- split --------------------------------------------------------------------------------

def _stacked(shape: tuple[int, ...], m: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A feature map f (N, m, H + W, 1) with distinct row and column halves, and those halves."""
    n, _, h, w = shape
    gen = torch.Generator().manual_seed(seed)
    f_h = torch.randn(n, m, h, 1, generator=gen)
    f_w = torch.randn(n, m, 1, w, generator=gen) + 10.0  # offset: a swap shows in every value
    return torch.cat([f_h, f_w.transpose(2, 3)], dim=2), f_h, f_w


def _split_shape_hint(name: str, got: tuple[int, ...], n: int, m: int, h: int, w: int) -> str:
    if name == "f_w" and got == (n, m, w, 1):
        return "transpose f^w back to a row, (N, m, 1, W), e.g. f_w.transpose(2, 3), so its gate broadcasts along W"
    if name == "f_h" and got in ((n, m, w, 1), (n, m, 1, w)) or name == "f_w" and got in ((n, m, 1, h), (n, m, h, 1)):
        return "the first H positions of dim 2 are f^h and the last W are f^w (the order z^h, z^w was concatenated in)"
    return f"split dim 2 of f, of length H + W = {h + w}, into [H, W] = [{h}, {w}]"


def _check_split_shapes(fn: Callable) -> None:
    for i, shape in enumerate(SHAPES):
        n, _, h, w = shape
        m = 3 + i
        f, _, _ = _stacked(shape, m, i)
        f_h, f_w = _pair(f"split_hw(f, h={h}, w={w})", fn(f, h, w))
        for name, got, expected in (("f_h", f_h, (n, m, h, 1)), ("f_w", f_w, (n, m, 1, w))):
            if tuple(got.shape) != expected:
                raise CheckFailure(
                    f"for f of shape {tuple(f.shape)} (H={h}, W={w}), {name} has shape {tuple(got.shape)}, "
                    f"expected {expected}: " + _split_shape_hint(name, tuple(got.shape), n, m, h, w)
                )


def _check_split_values(fn: Callable) -> None:
    for i, shape in enumerate(SHAPES):
        _, _, h, w = shape
        f, ref_h, ref_w = _stacked(shape, 3 + i, i)
        f_h, f_w = _pair(f"split_hw(f, h={h}, w={w})", fn(f.clone(), h, w))
        if f_h.shape == ref_h.shape and h == w and torch.allclose(f_h, ref_w.transpose(2, 3)):
            raise CheckFailure(f"for f of shape {tuple(f.shape)}, f_h holds f^w's values: the first H positions "
                               "of dim 2 are f^h, the last W are f^w")
        expect_close(f"f_h for f of shape {tuple(f.shape)}", f_h, ref_h)
        expect_close(f"f_w for f of shape {tuple(f.shape)}", f_w, ref_w)


def check_split(fn: Callable) -> Verdict:
    """Check the learner's ``split_hw(f, h, w) -> (f_h, f_w)``; print and return the verdict."""
    _check_callable("fn", fn)
    return run_checks("split into f^h and f^w", [
        ("it returns (f_h, f_w) with f_h (N, m, H, 1) and f_w (N, m, 1, W)", lambda: _check_split_shapes(fn)),
        ("f_h is the first H positions of dim 2 and f_w the last W, transposed", lambda: _check_split_values(fn)),
    ])
