"""Checkers for the Coordinate Attention chapter's implementation exercise: the whole module, Eqs. 4-9.

:func:`check_coord_attention` checks a learner's class written from the paper's equations
(Hou et al., 2021), in three methods named after the paper's two steps and its output::

    embed(x) -> (z_h, z_w)           coordinate information embedding (Eqs. 4-5):
                                     z_h (N, C, H, 1) averages over the width, z_w (N, C, 1, W) over the height.
    generate(z_h, z_w) -> (g_h, g_w) coordinate attention generation (Eqs. 6-8): concatenate [z^h, z^w],
                                     F1 + BatchNorm + h-swish, split, F_h and F_w, sigmoids;
                                     g_h (N, C, H, 1), g_w (N, C, 1, W).
    forward(x) -> y                  Eq. 9: y = x * g^h * g^w.

It loads the weights of an :class:`attn_src.CoordAttention` into the learner's F1, BatchNorm, F_h
and F_w (registered in that order) and compares every step on shapes with H != W and H == W,
naming the usual mistakes: pooling over the wrong axis, z^w or g^w left untransposed, F_h and F_w
shared or swapped, the BatchNorm, the non-linearity or the sigmoid missing, a hidden width other
than max(8, C // r), and a BatchNorm applied to z^h and z^w separately.

The pooling is compared on shapes where H != W (so a swapped axis shows in the shape) and H == W
(so it must show in the values), naming the wrong axis, a missing ``keepdim``, and a sum or a
maximum instead of the mean.

>>> from attn_src.checks import check_coord_attention
>>> check_coord_attention(MyCoordAttention)         # doctest: +SKIP
PASSED: Coordinate Attention (Eqs. 4-9) (20 checks)
"""
from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..coord import CoordAttention
from ._core import CheckFailure, Verdict, expect_close, expect_in_unit_interval, run_checks

# (N, C, H, W): taller than wide, wider than tall, square, a single row, a single column.
SHAPES = ((2, 3, 5, 7), (1, 4, 9, 4), (3, 2, 6, 6), (2, 5, 1, 8), (1, 3, 8, 1))


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
    if name == "z_w" and got == (n, c, w, 1) and h != w:
        return "return z_w as a row, (N, C, 1, W), the shape Eq. 5's z^w broadcasts in (transpose it only to concatenate)"
    if name == "z_h" and got == (n, c, 1, w) or name == "z_w" and got == (n, c, h, 1):
        return f"you averaged over the wrong axis: {name} keeps the {keeps[0]} axis ({keeps[1]}), so average over the {keeps[2]}"
    return f"{name} keeps the {keeps[0]} axis ({keeps[1]} values per channel): average over the {keeps[2]}"


def _check_pooling_shapes(fn: Callable, shapes=SHAPES, what: str = "coordinate_pooling(x)") -> None:
    for i, shape in enumerate(shapes):
        z_h, z_w = _pair(what, fn(_input(shape, i)))
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


def _check_pooling_values(fn: Callable, shapes=SHAPES, what: str = "coordinate_pooling(x)") -> None:
    for i, shape in enumerate(shapes):
        x = _input(shape, i)
        z_h, z_w = _pair(what, fn(x.clone()))
        for name, got, expected in zip(("z_h", "z_w"), (z_h, z_w), _reference_pooling(x)):
            if got.shape == expected.shape and not torch.allclose(got.detach().double(), expected.double(), atol=1e-5):
                hint = _pooling_value_hint(name, got, x)
                if hint:
                    raise CheckFailure(f"for x of shape {shape}, {name} has the wrong values: {hint}")
            expect_close(f"{name} for x of shape {shape}", got, expected)


# ---- the whole module: Eqs. 4-9 ------------------------------------------------------------

TITLE = "Coordinate Attention (Eqs. 4-9)"

# (channels, reduction, input shape): the floor of 8 in use (32 // 32 = 1) and not (64 // 4 = 16),
# H < W, H > W, a square map (a swapped axis shows only in the values) and a single row.
CASES = (
    (32, 32, (2, 32, 5, 7)),
    (64, 4, (1, 64, 9, 4)),
    (16, 32, (3, 16, 6, 6)),
    (48, 4, (2, 48, 1, 8)),
)

_CAT_FAILED = ("torch.cat could not stack z^h (N, C, H, 1) and z^w (N, C, 1, W): transpose z^w into a column, "
               "(N, C, W, 1), then concatenate along dim 2 into [z^h, z^w] of shape (N, C, H + W, 1) (Eq. 6)")


def check_coord_attention(cls: type) -> Verdict:
    """Check the learner's whole Coordinate Attention against :class:`attn_src.CoordAttention`; print the verdict.

    ``cls(channels, reduction=r)`` must register F1 (a 1x1 ``nn.Conv2d``, C -> m with
    m = max(8, C // r)), an ``nn.BatchNorm2d(m)``, then F_h and F_w (1x1, m -> C), all convolutions
    with biases, and define ``embed(x)`` (Eqs. 4-5), ``generate(z_h, z_w)`` (Eqs. 6-8, h-swish as
    delta) and ``forward(x)`` (Eq. 9). Returns the :class:`Verdict`, true when every check passes.
    """
    if isinstance(cls, nn.Module):
        name = type(cls).__name__
        raise TypeError(f"cls must be a subclass of nn.Module, got an instance of {name}: pass the class, "
                        f"check_coord_attention({name})")
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise TypeError(f"cls must be a subclass of nn.Module (the class itself, not an instance), "
                        f"got {cls!r} ({type(cls).__name__})")
    name = cls.__name__
    checks = []
    for channels, reduction, shape in CASES:
        built: dict[str, object] = {}
        call = f"{name}({channels}, reduction={reduction})"
        checks += [
            (f"building {call}: F1, its BatchNorm, F_h and F_w",
             partial(_check_layers, cls, channels, reduction, built)),
            (f"embed(x) of {call} for x of shape {shape}: coordinate information embedding (Eqs. 4-5)",
             partial(_check_embed, shape, built)),
            (f"generate(z_h, z_w) of {call} for x of shape {shape}: coordinate attention generation (Eqs. 6-8)",
             partial(_check_generate, shape, built)),
            (f"the output of {call} for x of shape {shape}: y = x * g^h * g^w (Eq. 9)",
             partial(_check_forward, built)),
            (f"generate(z_h, z_w) of {call} in training mode: BatchNorm over the H + W positions of [z^h, z^w]",
             partial(_check_training_mode, built)),
        ]
    return run_checks(TITLE, checks)


def _where(err: BaseException) -> str:
    """The learner's function that raised ``err`` (the innermost frame), e.g. ``MyCA.generate``."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "your code"
    code = tb.tb_frame.f_code
    return getattr(code, "co_qualname", code.co_name)


def _learner(call: Callable[[], object]) -> object:
    """Run the learner's code; a stub's NotImplementedError is re-raised naming the method that raised it."""
    try:
        return call()
    except NotImplementedError as err:
        detail = f": {err}" if str(err) else " is not written yet"
        raise NotImplementedError(f"{_where(err)}{detail}") from None


def _check_layers(cls: type, channels: int, reduction: int, built: dict) -> None:
    with torch.random.fork_rng():  # the learner's notebook keeps its random stream
        module = _learner(lambda: cls(channels, reduction=reduction))
    if not isinstance(module, nn.Module):
        raise CheckFailure(f"{cls.__name__}(...) should build an nn.Module, got {type(module).__name__}")
    for method in ("embed", "generate"):
        if not callable(getattr(module, method, None)):
            raise CheckFailure(f"your class has no method {method}: write embed(x) (Eqs. 4-5), generate(z_h, z_w) "
                               "(Eqs. 6-8) and forward(x) (Eq. 9), as in the exercise's skeleton")
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs and any(isinstance(m, (nn.Linear, nn.Conv1d)) for m in module.modules()):
        raise CheckFailure("found no nn.Conv2d: write F1, F_h and F_w as 1x1 convolutions, "
                           "nn.Conv2d(in, out, kernel_size=1), which apply to the (N, C, H + W, 1) stack as it is")
    if len(convs) != 3:
        shared = (" F_h and F_w are two convolutions with their own weights (Eqs. 7-8), not one used twice"
                  if len(convs) == 2 else "")
        raise CheckFailure(f"expected three nn.Conv2d layers, F1 (C -> m) then F_h and F_w (m -> C), "
                           f"found {len(convs)}.{shared}")
    hidden = max(8, channels // reduction)
    f1, f_h, f_w = convs
    for conv, label in ((f1, "F1"), (f_h, "F_h"), (f_w, "F_w")):
        if tuple(conv.kernel_size) != (1, 1):
            raise CheckFailure(f"{label} has kernel_size {tuple(conv.kernel_size)}, expected 1 (a 1x1 convolution)")
    if (f1.in_channels, f1.out_channels) != (channels, hidden):
        hint = (f"; C // reduction alone is {channels // reduction}: keep the official floor of 8"
                if f1.in_channels == channels and f1.out_channels == channels // reduction else "")
        raise CheckFailure(
            f"the first convolution, F1, maps {f1.in_channels} -> {f1.out_channels} channels, expected "
            f"{channels} -> {hidden}: the hidden width is m = max(8, C // reduction) = max(8, {channels} // "
            f"{reduction}) = {hidden}{hint}")
    for conv, label in ((f_h, "F_h"), (f_w, "F_w")):
        if (conv.in_channels, conv.out_channels) != (hidden, channels):
            raise CheckFailure(f"{label} maps {conv.in_channels} -> {conv.out_channels} channels, expected "
                               f"{hidden} -> {channels} (m -> C, with m = {hidden})")
    for conv, label in ((f1, "F1"), (f_h, "F_h"), (f_w, "F_w")):
        if conv.bias is None:
            raise CheckFailure(f"{label} has no bias: the official code's three convolutions have biases "
                               "(keep nn.Conv2d's default bias=True)")
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if len(norms) != 1 or not isinstance(norms[0], nn.BatchNorm2d) or norms[0].num_features != hidden:
        found = ", ".join(f"{type(m).__name__}({m.num_features})" for m in norms) or "none"
        raise CheckFailure(f"expected one nn.BatchNorm2d({hidden}) after F1, found {found}: in Eq. 6, F1 is "
                           "followed by a BatchNorm, then the non-linearity delta "
                           "(the paper's block diagram; bn1 in the official code)")
    with torch.random.fork_rng():
        torch.manual_seed(channels)
        reference = CoordAttention(channels, reduction=reduction)
        norm = reference.norm  # BatchNorm statistics far from the identity, so a missing BatchNorm shows
        norm.running_mean.normal_(0.0, 0.5)
        norm.running_var.uniform_(0.3, 2.0)
        norm.weight.data.normal_(1.0, 0.5)
        norm.bias.data.normal_(0.0, 0.5)
    with torch.no_grad():
        for mine, theirs in ((f1, reference.transform), (f_h, reference.to_gate_h), (f_w, reference.to_gate_w)):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
        for key in ("weight", "bias", "running_mean", "running_var"):
            getattr(norms[0], key).copy_(getattr(norm, key))
    built.update(module=module.eval(), reference=reference.eval())


def _check_embed(shape: tuple[int, ...], built: dict) -> None:
    embed = built["module"].embed
    fn = lambda x: _learner(lambda: embed(x))  # noqa: E731
    with torch.no_grad():
        _check_pooling_shapes(fn, (shape,), "embed(x)")
        _check_pooling_values(fn, (shape,), "embed(x)")
    x = _input(shape, 0)  # what _check_pooling_* use for the first shape
    built.update(x=x, z=_reference_pooling(x))


def _generate(reference: CoordAttention, z_h: torch.Tensor, z_w: torch.Tensor, *, norm: bool = True,
              act: str = "hswish", sigmoid: bool = True, convs: str = "hw", separate: bool = False):
    """Eqs. 6-8 with the reference's weights, one step changed to recognise a common mistake."""
    h, w = z_h.shape[2], z_w.shape[3]
    delta = {"hswish": F.hardswish, "relu": F.relu, "none": lambda t: t}[act]

    def transform(t: torch.Tensor) -> torch.Tensor:
        t = reference.transform(t)
        return delta(reference.norm(t) if norm else t)

    if separate:
        f_h, f_w = transform(z_h), transform(z_w.transpose(2, 3))
    else:
        f_h, f_w = transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2)).split([h, w], dim=2)
    gate = {"h": reference.to_gate_h, "w": reference.to_gate_w}
    squash = torch.sigmoid if sigmoid else (lambda t: t)
    return squash(gate[convs[0]](f_h)), squash(gate[convs[1]](f_w)).transpose(2, 3)


_GATE_MISTAKES = {
    "your gates are CA's without the BatchNorm: in Eq. 6, F1 is followed by a BatchNorm, then delta "
    "(the paper's block diagram; bn1 in the official code)":
        partial(_generate, norm=False),
    "your gates are CA's without the non-linearity delta after the BatchNorm (Eq. 6; the official code uses h-swish)":
        partial(_generate, act="none"),
    "your gates are CA's with ReLU as delta: this exercise follows the official code, whose delta is h-swish "
    "(nn.Hardswish or F.hardswish)": partial(_generate, act="relu"),
    "your gates are CA's without the sigmoids of Eqs. 7-8: g^h = sigmoid(F_h(f^h)), g^w = sigmoid(F_w(f^w))":
        partial(_generate, sigmoid=False),
    "both gates come from F_h: g^w has its own convolution, F_w (Eq. 8)": partial(_generate, convs="hh"),
    "both gates come from F_w: g^h has its own convolution, F_h (Eq. 7)": partial(_generate, convs="ww"),
    "g^h comes from F_w and g^w from F_h: register F_h before F_w (the checker loads the weights in the order "
    "F1, F_h, F_w) and use F_h for g^h": partial(_generate, convs="wh"),
}


def _same(gates: tuple[torch.Tensor, ...], expected: tuple[torch.Tensor, ...]) -> bool:
    return all(torch.allclose(a.double(), b.double(), atol=1e-5) for a, b in zip(gates, expected))


def _gate_shape_hint(name: str, got: tuple[int, ...], n: int, c: int, h: int, w: int) -> str:
    if name == "g_w" and got == (n, c, w, 1):
        return ": transpose g^w back to a row, (N, C, 1, W), so it scales the columns (g_w.transpose(2, 3))"
    if name == "g_h" and got in ((n, c, 1, w), (n, c, w, 1)) or name == "g_w" and got in ((n, c, h, 1), (n, c, 1, h)):
        return (": return (g_h, g_w) in this order, and split f of length H + W into its first H positions (f^h) "
                "and its last W (f^w), the order z^h and z^w were concatenated in")
    return ""


def _check_generate(shape: tuple[int, ...], built: dict) -> None:
    module, reference = built["module"], built["reference"]
    z_h, z_w = built["z"]
    n, c, h, w = shape
    try:
        with torch.no_grad():
            result = _learner(lambda: module.generate(z_h.clone(), z_w.clone()))
    except RuntimeError as err:
        if "Sizes of tensors must match" in str(err):
            raise CheckFailure(_CAT_FAILED) from None
        raise
    g_h, g_w = _pair("generate(z_h, z_w)", result)
    for label, got, expected in (("g_h", g_h, (n, c, h, 1)), ("g_w", g_w, (n, c, 1, w))):
        if tuple(got.shape) != expected:
            raise CheckFailure(f"{label} has shape {tuple(got.shape)}, expected {expected}"
                               + _gate_shape_hint(label, tuple(got.shape), n, c, h, w))
    with torch.no_grad():
        expected = _generate(reference, z_h, z_w)
        if not _same((g_h, g_w), expected):
            for message, variant in _GATE_MISTAKES.items():
                if _same((g_h, g_w), variant(reference, z_h, z_w)):
                    raise CheckFailure(message)
    expect_in_unit_interval("g^h", g_h)
    expect_in_unit_interval("g^w", g_w)
    expect_close("g^h", g_h, expected[0])
    expect_close("g^w", g_w, expected[1])
    built["gates"] = expected


def _check_forward(built: dict) -> None:
    module, reference, x = built["module"], built["reference"], built["x"]
    g_h, g_w = built["gates"]
    with torch.no_grad():
        out = _learner(lambda: module(x.clone()))
        expected = reference(x)
    if not isinstance(out, torch.Tensor):
        raise CheckFailure(f"forward should return a torch.Tensor, y of the input's shape, got {type(out).__name__}")
    if out.shape == expected.shape and not torch.allclose(out, expected, atol=1e-5):
        for message, variant in (
            ("your output is x * g^h: Eq. 9 multiplies by both gates, y = x * g^h * g^w", x * g_h),
            ("your output is x * g^w: Eq. 9 multiplies by both gates, y = x * g^h * g^w", x * g_w),
            ("your output is x * (g^h + g^w): Eq. 9 multiplies the gates, y = x * g^h * g^w", x * (g_h + g_w)),
            ("your forward returns the gates' product g^h * g^w: Eq. 9 multiplies the input x by it", g_h * g_w),
        ):
            if torch.allclose(out, variant.expand_as(out), atol=1e-5):
                raise CheckFailure(message)
    expect_close("your output", out, expected)


def _check_training_mode(built: dict) -> None:
    module, reference = built["module"], built["reference"]
    z_h, z_w = built["z"]
    module.train()
    reference.train()
    try:
        with torch.no_grad():
            g_h, g_w = _pair("generate(z_h, z_w)", _learner(lambda: module.generate(z_h.clone(), z_w.clone())))
            expected = _generate(reference, z_h, z_w)
            separate = _generate(reference, z_h, z_w, separate=True)
    finally:
        module.eval()
        reference.eval()
    if not _same((g_h, g_w), expected) and _same((g_h, g_w), separate):
        raise CheckFailure("in training mode your BatchNorm normalises z^h and z^w separately: Eq. 6 transforms "
                           "their concatenation [z^h, z^w], so one BatchNorm takes its statistics over all H + W "
                           "positions together")
    expect_close("g^h in training mode", g_h, expected[0])
    expect_close("g^w in training mode", g_w, expected[1])
