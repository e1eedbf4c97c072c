"""The Coordinate Attention exercise checkers: pass correct code, name each kind of mistake.

check_coord_attention checks the whole module (Eqs. 4-9), the chapter's exercise; check_coordinate_pooling
and check_split check two of its steps alone.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attn_src import CoordAttention
from attn_src.checks import check_coord_attention as exported
from attn_src.checks import run_checks
from attn_src.checks.coord import (
    CASES, SHAPES, TITLE, _check_pooling_shapes, _check_pooling_values, _generate, check_coord_attention,
)


def pooling(x):
    return x.mean(dim=3, keepdim=True), x.mean(dim=2, keepdim=True)


def check_coordinate_pooling(fn):
    """The pooling steps of check_coord_attention's embed check, run on their own (their messages)."""
    return run_checks("coordinate pooling (Eqs. 4-5)", [
        ("it returns (z_h, z_w) with z_h (N, C, H, 1) and z_w (N, C, 1, W)", lambda: _check_pooling_shapes(fn)),
        ("z_h averages each row over the width, z_w each column over the height", lambda: _check_pooling_values(fn)),
    ])


def verdict(capsys, check, fn):
    ok = check(fn)
    out = capsys.readouterr().out
    return ok, out


def test_correct_pooling_passes(capsys):
    assert verdict(capsys, check_coordinate_pooling, pooling) == (True, "PASSED: coordinate pooling (Eqs. 4-5) (2 checks)\n")


def test_the_reference_agrees_with_coord_attention():
    """The checker's pooling + concatenation + split is the path CoordAttention.gates takes."""
    torch.manual_seed(0)
    ca = CoordAttention(8, reduction=2).eval()
    x = torch.randn(2, 8, 5, 7)
    z_h, z_w = pooling(x)
    f = ca.act(ca.norm(ca.transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2))))
    f_h, f_w = torch.split(f, [5, 7], dim=2)
    f_w = f_w.transpose(2, 3)
    g_h, g_w = ca.gates(x)
    torch.testing.assert_close(torch.sigmoid(ca.to_gate_h(f_h)), g_h)
    torch.testing.assert_close(torch.sigmoid(ca.to_gate_w(f_w)), g_w)


def test_shapes_include_non_square_and_square():
    assert any(h < w for _, _, h, w in SHAPES) and any(h > w for _, _, h, w in SHAPES)
    assert any(h == w for _, _, h, w in SHAPES)


def stub(*args):
    raise NotImplementedError("average over W for z_h and over H for z_w")


def test_a_pooling_stub_is_not_yet(capsys):
    ok, out = verdict(capsys, check_coordinate_pooling, stub)
    assert not ok
    assert out.startswith("NOT YET: ") and "average over W for z_h and over H for z_w" in out


POOLING_MISTAKES = {
    "axes swapped": (lambda x: (x.mean(2, keepdim=True), x.mean(3, keepdim=True)),
                     "for x of shape (2, 3, 5, 7), z_h has shape (2, 3, 1, 7), expected (2, 3, 5, 1): "
                     "you averaged over the wrong axis: z_h keeps the H axis (5), so average over the width (dim=3)"),
    "no keepdim": (lambda x: (x.mean(3), x.mean(2)),
                   "z_h has shape (2, 3, 5), expected (2, 3, 5, 1): keep the pooled dimension (keepdim=True)"),
    "sum": (lambda x: (x.sum(3, keepdim=True), x.sum(2, keepdim=True)),
            "for x of shape (2, 3, 5, 7), z_h has the wrong values: you summed; Eqs. 4-5 average: divide by the width W = 7"),
    "max": (lambda x: (x.amax(3, keepdim=True), x.amax(2, keepdim=True)),
            "z_h has the wrong values: you took the maximum; Eqs. 4-5 average"),
    "z_w summed": (lambda x: (x.mean(3, keepdim=True), x.sum(2, keepdim=True)),
                   "z_w has the wrong values: you summed; Eqs. 4-5 average: divide by the height H = 5"),
    # Shapes right on every input, values wrong: the checker says where they first differ.
    "off by a constant": (lambda x: (x.mean(3, keepdim=True), x.mean(2, keepdim=True) + 0.5),
                          "z_w for x of shape (2, 3, 5, 7) differs at position (0, 0, 0, 0)"),
    "one channel zeroed": (lambda x: (x.mean(3, keepdim=True).index_fill(1, torch.tensor([1]), 0.0), x.mean(2, keepdim=True)),
                           "z_h for x of shape (2, 3, 5, 7) differs at position (0, 1, 0, 0)"),
    "not a pair": (lambda x: x.mean(3, keepdim=True),
                   "coordinate_pooling(x) should return a tuple of two tensors, got Tensor"),
}


def swapped_axes_square_only(x):
    """Wrong axis written so the shapes come out right: only a square input can reveal it by value."""
    return x.mean(2, keepdim=True).transpose(2, 3), x.mean(3, keepdim=True).transpose(2, 3)


@pytest.mark.parametrize("name", POOLING_MISTAKES)
def test_each_pooling_mistake_is_named(capsys, name):
    fn, message = POOLING_MISTAKES[name]
    ok, out = verdict(capsys, check_coordinate_pooling, fn)
    assert not ok and out.startswith("FAILED: coordinate pooling (Eqs. 4-5)")
    assert message in out


def test_wrong_axis_is_named_even_when_shapes_match(capsys):
    def square_only(x):
        if x.shape[2] != x.shape[3]:
            return pooling(x)
        return swapped_axes_square_only(x)
    ok, out = verdict(capsys, check_coordinate_pooling, square_only)
    assert not ok
    assert "for x of shape (3, 2, 6, 6), z_h has the wrong values: you averaged over the wrong axis" in out


# ---- the whole module, Eqs. 4-9 ---------------------------------------------------------------

class MyCA(nn.Module):
    """A correct solution, written the way the exercise asks: embed, generate, forward."""

    def __init__(self, channels, reduction=32):
        super().__init__()
        m = max(8, channels // reduction)
        self.f1 = nn.Conv2d(channels, m, 1)
        self.bn = nn.BatchNorm2d(m)
        self.f_h = nn.Conv2d(m, channels, 1)
        self.f_w = nn.Conv2d(m, channels, 1)

    def embed(self, x):
        return x.mean(3, keepdim=True), x.mean(2, keepdim=True)

    def transform(self, stacked):
        return F.hardswish(self.bn(self.f1(stacked)))

    def generate(self, z_h, z_w):
        h, w = z_h.shape[2], z_w.shape[3]
        f_h, f_w = self.transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2)).split([h, w], dim=2)
        return torch.sigmoid(self.f_h(f_h)), torch.sigmoid(self.f_w(f_w)).transpose(2, 3)

    def forward(self, x):
        g_h, g_w = self.generate(*self.embed(x))
        return x * g_h * g_w


class WithModules(nn.Module):
    """Also correct: h-swish as a module, a row layout for the stack, forward written out in full."""

    def __init__(self, channels, reduction=32):
        super().__init__()
        m = max(8, channels // reduction)
        self.conv1 = nn.Conv2d(channels, m, kernel_size=1)
        self.bn1 = nn.BatchNorm2d(m)
        self.act = nn.Hardswish()
        self.conv_h = nn.Conv2d(m, channels, kernel_size=1)
        self.conv_w = nn.Conv2d(m, channels, kernel_size=1)

    def embed(self, x):
        return x.mean(dim=3, keepdim=True), x.mean(dim=2, keepdim=True)

    def generate(self, z_h, z_w):
        h = z_h.shape[2]
        f = self.act(self.bn1(self.conv1(torch.cat([z_h.transpose(2, 3), z_w], dim=3))))  # (N, m, 1, H + W)
        return torch.sigmoid(self.conv_h(f[..., :h])).transpose(2, 3), torch.sigmoid(self.conv_w(f[..., h:]))

    def forward(self, x):
        z_h, z_w = self.embed(x)
        g_h, g_w = self.generate(z_h, z_w)
        return x * g_h.expand_as(x) * g_w.expand_as(x)


def run(capsys, cls):
    ok = check_coord_attention(cls)
    return bool(ok), capsys.readouterr().out


def failed(step: str, message: str) -> str:
    return f"FAILED: {TITLE}\n  while checking: {step}\n  {message}\n"


EMBED_1 = "embed(x) of {}(32, reduction=32) for x of shape (2, 32, 5, 7): coordinate information embedding (Eqs. 4-5)"
GENERATE_1 = ("generate(z_h, z_w) of {}(32, reduction=32) for x of shape (2, 32, 5, 7): "
              "coordinate attention generation (Eqs. 6-8)")
FORWARD_1 = "the output of {}(32, reduction=32) for x of shape (2, 32, 5, 7): y = x * g^h * g^w (Eq. 9)"
BUILD_1 = "building {}(32, reduction=32): F1, its BatchNorm, F_h and F_w"


@pytest.mark.parametrize("cls", [MyCA, WithModules])
def test_a_correct_coord_attention_passes(capsys, cls):
    assert run(capsys, cls) == (True, f"PASSED: Coordinate Attention (Eqs. 4-9) ({5 * len(CASES)} checks)\n")


def test_the_checker_is_exported_and_its_cases_cover_the_shapes():
    assert exported is check_coord_attention
    shapes = [shape for _, _, shape in CASES]
    assert any(h < w for *_, h, w in shapes) and any(h > w for *_, h, w in shapes) and any(h == w for *_, h, w in shapes)
    widths = [(c // r, max(8, c // r)) for c, r, _ in CASES]
    assert any(a < 8 for a, _ in widths) and any(a > 8 for a, _ in widths)  # the floor matters, and not always


def test_the_checkers_reference_is_coord_attention():
    torch.manual_seed(0)
    ca = CoordAttention(16, reduction=4).eval()
    x = torch.randn(2, 16, 5, 7)
    with torch.no_grad():
        for mine, theirs in zip(_generate(ca, x.mean(3, keepdim=True), x.mean(2, keepdim=True)), ca.gates(x)):
            torch.testing.assert_close(mine, theirs)


class StubInit(nn.Module):
    def __init__(self, channels, reduction=32):
        super().__init__()
        raise NotImplementedError("define F1, the BatchNorm, F_h and F_w")


class StubEmbed(MyCA):
    def embed(self, x):
        raise NotImplementedError("Eqs. 4-5")


class StubGenerate(MyCA):
    def generate(self, z_h, z_w):
        raise NotImplementedError()


class StubForward(MyCA):
    def forward(self, x):
        raise NotImplementedError("Eq. 9")


@pytest.mark.parametrize("cls,named", [
    (StubInit, "StubInit.__init__: define F1, the BatchNorm, F_h and F_w"),
    (StubEmbed, "StubEmbed.embed: Eqs. 4-5"),
    (StubGenerate, "StubGenerate.generate is not written yet"),
    (StubForward, "StubForward.forward: Eq. 9"),
])
def test_a_stub_is_not_yet_naming_the_method_it_stopped_in(capsys, cls, named):
    assert run(capsys, cls) == (False, f"NOT YET: {TITLE}: your code raised NotImplementedError ({named}). "
                                       "Fill in the exercise, then run this cell again.\n")


def test_the_stub_of_the_notebook_is_not_yet_in_init(capsys):
    """The skeleton the student edition keeps: every method raises, __init__ first."""
    class MyCoordAttention(nn.Module):
        def __init__(self, channels, reduction=32):
            super().__init__()
            raise NotImplementedError("__init__: F1, BatchNorm, F_h, F_w")

        def embed(self, x):
            raise NotImplementedError("embed")

    ok, out = run(capsys, MyCoordAttention)
    assert not ok and "(test_the_stub_of_the_notebook_is_not_yet_in_init.<locals>.MyCoordAttention.__init__: " in out


class AxesSwapped(MyCA):
    def embed(self, x):
        return x.mean(2, keepdim=True), x.mean(3, keepdim=True)


class AxesSwappedSquareOnly(MyCA):
    """The wrong axes, written so that shapes come out right: only the values of a square map show it."""

    def embed(self, x):
        if x.shape[2] != x.shape[3]:
            return super().embed(x)
        return x.mean(2, keepdim=True).transpose(2, 3), x.mean(3, keepdim=True).transpose(2, 3)


class ZwAsColumn(MyCA):
    def embed(self, x):
        return x.mean(3, keepdim=True), x.mean(2, keepdim=True).transpose(2, 3)


class NoZwTranspose(MyCA):
    def generate(self, z_h, z_w):
        h, w = z_h.shape[2], z_w.shape[3]
        f_h, f_w = self.transform(torch.cat([z_h, z_w], dim=2)).split([h, w], dim=2)
        return torch.sigmoid(self.f_h(f_h)), torch.sigmoid(self.f_w(f_w)).transpose(2, 3)


class NoGwTranspose(MyCA):
    def generate(self, z_h, z_w):
        g_h, g_w = super().generate(z_h, z_w)
        return g_h, g_w.transpose(2, 3)


class GatesSwapped(MyCA):
    def generate(self, z_h, z_w):
        g_h, g_w = super().generate(z_h, z_w)
        return g_w, g_h


class OneGateConv(nn.Module):
    """F_h and F_w shared: one convolution for both gates."""

    def __init__(self, channels, reduction=32):
        super().__init__()
        m = max(8, channels // reduction)
        self.f1, self.bn, self.f_hw = nn.Conv2d(channels, m, 1), nn.BatchNorm2d(m), nn.Conv2d(m, channels, 1)

    embed = MyCA.embed

    def generate(self, z_h, z_w):
        h, w = z_h.shape[2], z_w.shape[3]
        f_h, f_w = F.hardswish(self.bn(self.f1(torch.cat([z_h, z_w.transpose(2, 3)], 2)))).split([h, w], 2)
        return torch.sigmoid(self.f_hw(f_h)), torch.sigmoid(self.f_hw(f_w)).transpose(2, 3)

    forward = MyCA.forward


class SameConvTwice(MyCA):
    def __init__(self, channels, reduction=32):
        super().__init__(channels, reduction)
        self.f_w = self.f_h


class FhForBoth(MyCA):
    def generate(self, z_h, z_w):
        h, w = z_h.shape[2], z_w.shape[3]
        f_h, f_w = self.transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2)).split([h, w], dim=2)
        return torch.sigmoid(self.f_h(f_h)), torch.sigmoid(self.f_h(f_w)).transpose(2, 3)


class FwRegisteredFirst(MyCA):
    def __init__(self, channels, reduction=32):
        super().__init__(channels, reduction)
        del self.f_h, self.f_w
        m = max(8, channels // reduction)
        self.f_w = nn.Conv2d(m, channels, 1)
        self.f_h = nn.Conv2d(m, channels, 1)


class NoNorm(MyCA):
    def transform(self, stacked):
        return F.hardswish(self.f1(stacked))


class NoNormModule(MyCA):
    def __init__(self, channels, reduction=32):
        super().__init__(channels, reduction)
        del self.bn

    def transform(self, stacked):
        return F.hardswish(self.f1(stacked))


class NormOverC(MyCA):
    def __init__(self, channels, reduction=32):
        super().__init__(channels, reduction)
        self.bn = nn.BatchNorm2d(channels)


class NoActivation(MyCA):
    def transform(self, stacked):
        return self.bn(self.f1(stacked))


class Relu(MyCA):
    def transform(self, stacked):
        return F.relu(self.bn(self.f1(stacked)))


class NoSigmoid(MyCA):
    def generate(self, z_h, z_w):
        h, w = z_h.shape[2], z_w.shape[3]
        f_h, f_w = self.transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2)).split([h, w], dim=2)
        return self.f_h(f_h), self.f_w(f_w).transpose(2, 3)


class NoSigmoidOnGw(MyCA):
    def generate(self, z_h, z_w):
        h, w = z_h.shape[2], z_w.shape[3]
        f_h, f_w = self.transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2)).split([h, w], dim=2)
        return torch.sigmoid(self.f_h(f_h)), self.f_w(f_w).transpose(2, 3)


def _with_width(name, width):
    class Width(MyCA):
        def __init__(self, channels, reduction=32):
            nn.Module.__init__(self)
            m = width(channels, reduction)
            self.f1, self.bn = nn.Conv2d(channels, m, 1), nn.BatchNorm2d(m)
            self.f_h, self.f_w = nn.Conv2d(m, channels, 1), nn.Conv2d(m, channels, 1)
    Width.__name__ = Width.__qualname__ = name
    return Width


NoFloor = _with_width("NoFloor", lambda c, r: c // r)
AlwaysEight = _with_width("AlwaysEight", lambda c, r: 8)


class NoBias(MyCA):
    def __init__(self, channels, reduction=32):
        super().__init__(channels, reduction)
        self.f1 = nn.Conv2d(channels, self.f1.out_channels, 1, bias=False)


class Kernel3(MyCA):
    def __init__(self, channels, reduction=32):
        super().__init__(channels, reduction)
        self.f_w = nn.Conv2d(self.f_w.in_channels, channels, 3, padding=1)


class Linears(MyCA):
    def __init__(self, channels, reduction=32):
        nn.Module.__init__(self)
        m = max(8, channels // reduction)
        self.f1, self.bn = nn.Linear(channels, m), nn.BatchNorm1d(m)
        self.f_h, self.f_w = nn.Linear(m, channels), nn.Linear(m, channels)


class SeparateNorms(MyCA):
    """F1 + BatchNorm + delta on z^h and z^w one at a time: the same in eval mode, not in training."""

    def generate(self, z_h, z_w):
        f_h, f_w = self.transform(z_h), self.transform(z_w.transpose(2, 3))
        return torch.sigmoid(self.f_h(f_h)), torch.sigmoid(self.f_w(f_w)).transpose(2, 3)


class OnlyGh(MyCA):
    def forward(self, x):
        g_h, _ = self.generate(*self.embed(x))
        return x * g_h


class ReturnsGates(MyCA):
    def forward(self, x):
        g_h, g_w = self.generate(*self.embed(x))
        return g_h * g_w


class AddsGates(MyCA):
    def forward(self, x):
        g_h, g_w = self.generate(*self.embed(x))
        return x * (g_h + g_w)


class ReturnsPair(MyCA):
    def forward(self, x):
        return self.generate(*self.embed(x))


class NoEmbed(nn.Module):
    def __init__(self, channels, reduction=32):
        super().__init__()
        self.inner = MyCA(channels, reduction)

    def forward(self, x):
        return self.inner(x)


COORD_MISTAKES = {
    AxesSwapped: (EMBED_1, "for x of shape (2, 32, 5, 7), z_h has shape (2, 32, 1, 7), expected (2, 32, 5, 1): you "
                           "averaged over the wrong axis: z_h keeps the H axis (5), so average over the width (dim=3)"),
    AxesSwappedSquareOnly: (
        "embed(x) of AxesSwappedSquareOnly(16, reduction=32) for x of shape (3, 16, 6, 6): "
        "coordinate information embedding (Eqs. 4-5)",
        "for x of shape (3, 16, 6, 6), z_h has the wrong values: you averaged over the wrong axis (the shapes only "
        "match because H == W): z_h averages over the width, dim=3"),
    ZwAsColumn: (EMBED_1, "for x of shape (2, 32, 5, 7), z_w has shape (2, 32, 7, 1), expected (2, 32, 1, 7): return "
                          "z_w as a row, (N, C, 1, W), the shape Eq. 5's z^w broadcasts in (transpose it only to "
                          "concatenate)"),
    NoZwTranspose: (GENERATE_1, "torch.cat could not stack z^h (N, C, H, 1) and z^w (N, C, 1, W): transpose z^w into "
                                "a column, (N, C, W, 1), then concatenate along dim 2 into [z^h, z^w] of shape "
                                "(N, C, H + W, 1) (Eq. 6)"),
    NoGwTranspose: (GENERATE_1, "g_w has shape (2, 32, 7, 1), expected (2, 32, 1, 7): transpose g^w back to a row, "
                                "(N, C, 1, W), so it scales the columns (g_w.transpose(2, 3))"),
    GatesSwapped: (GENERATE_1, "g_h has shape (2, 32, 1, 7), expected (2, 32, 5, 1): return (g_h, g_w) in this order, "
                               "and split f of length H + W into its first H positions (f^h) and its last W (f^w), "
                               "the order z^h and z^w were concatenated in"),
    OneGateConv: (BUILD_1, "expected three nn.Conv2d layers, F1 (C -> m) then F_h and F_w (m -> C), found 2. F_h and "
                           "F_w are two convolutions with their own weights (Eqs. 7-8), not one used twice"),
    SameConvTwice: (BUILD_1, "expected three nn.Conv2d layers, F1 (C -> m) then F_h and F_w (m -> C), found 2. F_h "
                             "and F_w are two convolutions with their own weights (Eqs. 7-8), not one used twice"),
    FhForBoth: (GENERATE_1, "both gates come from F_h: g^w has its own convolution, F_w (Eq. 8)"),
    FwRegisteredFirst: (GENERATE_1, "g^h comes from F_w and g^w from F_h: register F_h before F_w (the checker loads "
                                    "the weights in the order F1, F_h, F_w) and use F_h for g^h"),
    NoNorm: (GENERATE_1, "your gates are CA's without the BatchNorm: in Eq. 6, F1 is followed by a BatchNorm, then "
                         "delta (the paper's block diagram; bn1 in the official code)"),
    NoNormModule: (BUILD_1, "expected one nn.BatchNorm2d(8) after F1, found none: in Eq. 6, F1 is followed by a "
                            "BatchNorm, then the non-linearity delta (the paper's block diagram; bn1 in the official code)"),
    NormOverC: (BUILD_1, "expected one nn.BatchNorm2d(8) after F1, found BatchNorm2d(32): in Eq. 6, F1 is followed "
                         "by a BatchNorm, then the non-linearity delta (the paper's block diagram; bn1 in the official code)"),
    NoActivation: (GENERATE_1, "your gates are CA's without the non-linearity delta after the BatchNorm (Eq. 6; the "
                               "official code uses h-swish)"),
    Relu: (GENERATE_1, "your gates are CA's with ReLU as delta: this exercise follows the official code, whose delta "
                       "is h-swish (nn.Hardswish or F.hardswish)"),
    NoSigmoid: (GENERATE_1, "your gates are CA's without the sigmoids of Eqs. 7-8: g^h = sigmoid(F_h(f^h)), "
                            "g^w = sigmoid(F_w(f^w))"),
    NoSigmoidOnGw: (GENERATE_1, "g^w should lie in (0, 1) (a sigmoid's output), but ranges over"),
    NoFloor: (BUILD_1, "the first convolution, F1, maps 32 -> 1 channels, expected 32 -> 8: the hidden width is "
                       "m = max(8, C // reduction) = max(8, 32 // 32) = 8; C // reduction alone is 1: keep the "
                       "official floor of 8"),
    AlwaysEight: ("building AlwaysEight(64, reduction=4): F1, its BatchNorm, F_h and F_w",
                  "the first convolution, F1, maps 64 -> 8 channels, expected 64 -> 16: the hidden width is "
                  "m = max(8, C // reduction) = max(8, 64 // 4) = 16"),
    NoBias: (BUILD_1, "F1 has no bias: the official code's three convolutions have biases (keep nn.Conv2d's default "
                      "bias=True)"),
    Kernel3: (BUILD_1, "F_w has kernel_size (3, 3), expected 1 (a 1x1 convolution)"),
    Linears: (BUILD_1, "found no nn.Conv2d: write F1, F_h and F_w as 1x1 convolutions, nn.Conv2d(in, out, "
                       "kernel_size=1), which apply to the (N, C, H + W, 1) stack as it is"),
    SeparateNorms: ("generate(z_h, z_w) of SeparateNorms(32, reduction=32) in training mode: BatchNorm over the "
                    "H + W positions of [z^h, z^w]",
                    "in training mode your BatchNorm normalises z^h and z^w separately: Eq. 6 transforms their "
                    "concatenation [z^h, z^w], so one BatchNorm takes its statistics over all H + W positions together"),
    OnlyGh: (FORWARD_1, "your output is x * g^h: Eq. 9 multiplies by both gates, y = x * g^h * g^w"),
    ReturnsGates: (FORWARD_1, "your forward returns the gates' product g^h * g^w: Eq. 9 multiplies the input x by it"),
    AddsGates: (FORWARD_1, "your output is x * (g^h + g^w): Eq. 9 multiplies the gates, y = x * g^h * g^w"),
    ReturnsPair: (FORWARD_1, "forward should return a torch.Tensor, y of the input's shape, got tuple"),
    NoEmbed: (BUILD_1, "your class has no method embed: write embed(x) (Eqs. 4-5), generate(z_h, z_w) (Eqs. 6-8) and "
                       "forward(x) (Eq. 9), as in the exercise's skeleton"),
}


@pytest.mark.parametrize("cls", COORD_MISTAKES, ids=lambda cls: cls.__name__)
def test_each_coord_attention_mistake_is_named(capsys, cls):
    step, message = COORD_MISTAKES[cls]
    ok, out = run(capsys, cls)
    assert not ok
    expected = failed(step.format(cls.__name__), message)
    if message.endswith("ranges over"):  # the range's numbers depend on the weights: compare up to them
        assert out.startswith(expected.rstrip("\n")), out
    else:
        assert out == expected, out


def test_the_checker_keeps_the_learners_random_stream(capsys):
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    run(capsys, MyCA)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("bad,message", [
    (42, r"cls must be a subclass of nn.Module \(the class itself, not an instance\), got 42 \(int\)"),
    (MyCA(16), r"cls must be a subclass of nn.Module, got an instance of MyCA: pass the class, "
               r"check_coord_attention\(MyCA\)"),
])
def test_not_a_class_is_a_type_error(bad, message):
    with pytest.raises(TypeError, match=message):
        check_coord_attention(bad)
