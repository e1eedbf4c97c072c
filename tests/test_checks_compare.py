"""The comparison chapter's checker: it passes a correct MaxSE and names each kind of mistake."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attn_src import SE
from attn_src.checks.compare import SHAPES, ReferenceMaxSE, check_max_se


class MaxSE(SE):
    """A correct solution: the maximum over both spatial axes."""

    def squeeze(self, x):
        return x.amax(dim=(2, 3))


class MaxSEByFlatten(SE):
    """Also correct: flatten H and W, then take the values of max."""

    def squeeze(self, x):
        return x.flatten(2).max(dim=2).values


class MaxSEByPool(SE):
    """Also correct: torch's adaptive max pooling, flattened."""

    def squeeze(self, x):
        return F.adaptive_max_pool2d(x, 1).flatten(1)


class Stub(SE):
    def squeeze(self, x):
        raise NotImplementedError("MaxSE.squeeze: return each channel's maximum over H and W, shape (N, C)")


class KeepDim(SE):
    def squeeze(self, x):
        return x.amax(dim=(2, 3), keepdim=True)


class OneAxis(SE):
    def squeeze(self, x):
        return x.amax(dim=3)


class OverChannels(SE):
    def squeeze(self, x):
        return x.amax(dim=1)


class ValuesAndIndices(SE):
    def squeeze(self, x):
        return torch.max(x.flatten(2), dim=2)


class Mean(SE):
    """Forgot to override: SE's own squeeze."""


class AbsMax(SE):
    def squeeze(self, x):
        return x.abs().amax(dim=(2, 3))


class Minimum(SE):
    def squeeze(self, x):
        return x.amin(dim=(2, 3))


class ReluMax(SE):
    """Clamps negative maxima to 0: wrong only on all-negative channels."""

    def squeeze(self, x):
        return x.amax(dim=(2, 3)).clamp(min=0)


class NotAnSE(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.se = SE(channels, reduction)

    def squeeze(self, x):
        return x.amax(dim=(2, 3))

    def forward(self, x):
        return self.se(x)


class ExtraParameter(MaxSE):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        self.scale = nn.Parameter(torch.ones(1))


class MaxAfterGate(MaxSE):
    """Right squeeze, wrong forward: gates the input twice."""

    def forward(self, x):
        return x * self.gate(x) * self.gate(x)


def run(cls, capsys):
    verdict = check_max_se(cls)
    return verdict, capsys.readouterr().out


CHECKS = 2 + len(SHAPES)


@pytest.mark.parametrize("cls", [MaxSE, MaxSEByFlatten, MaxSEByPool])
def test_passes_correct_solutions(cls, capsys):
    verdict, out = run(cls, capsys)
    assert verdict == True  # noqa: E712 (a Verdict)
    assert out == f"PASSED: a max-pooling SE (MaxSE) ({CHECKS} checks)\n"


def test_reference_is_se_with_a_maximum():
    module = ReferenceMaxSE(8, 4)
    x = torch.randn(2, 8, 3, 5)
    assert torch.equal(module.squeeze(x), x.amax(dim=(2, 3)))
    assert sum(p.numel() for p in module.parameters()) == sum(p.numel() for p in SE(8, 4).parameters())


def test_stub_is_not_yet_and_names_the_squeeze(capsys):
    verdict, out = run(Stub, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("NOT YET: a max-pooling SE (MaxSE): your code raised NotImplementedError (MaxSE.squeeze: return "
                   "each channel's maximum over H and W, shape (N, C)). Fill in the exercise, then run this cell again.\n")


@pytest.mark.parametrize("cls, message", [
    (KeepDim, "squeeze returned shape (2, 16, 1, 1), expected (N, C) = (2, 16): SE.gate adds the two trailing "
              "dimensions itself (drop keepdim=True, or flatten a pooled map)"),
    (OneAxis, "squeeze returned shape (2, 16, 5), expected (N, C) = (2, 16): you reduced one spatial axis only; "
              "take the maximum over both H and W, dim=(2, 3)"),
    (OverChannels, "squeeze returned shape (2, 5, 7), expected (N, C) = (2, 16): that is the maximum over the "
                   "channels (dim 1), CBAM's spatial pooling; SE pools each channel over H and W, dim=(2, 3)"),
    (ValuesAndIndices, "squeeze returned a tuple: torch.max(x, dim) gives (values, indices). Use "
                       "x.amax(dim=(2, 3)), which returns the values only"),
    (Mean, "squeeze returns each channel's mean, SE's own squeeze: take the maximum instead, x.amax(dim=(2, 3))"),
    (AbsMax, "squeeze returns each channel's largest absolute value; take the maximum of x itself (a channel "
             "whose values are all negative has a negative maximum)"),
    (Minimum, "squeeze returns each channel's minimum; take the maximum, x.amax(dim=(2, 3))"),
    (ReluMax, "squeeze(x) differs at position (0, 0): yours 0, expected -0.1"),
])
def test_each_squeeze_mistake_gets_its_message(cls, message, capsys):
    verdict, out = run(cls, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out.startswith("FAILED: a max-pooling SE (MaxSE)\n"
                          "  while checking: squeeze is each channel's maximum over H and W\n")
    assert message in out


def test_not_an_se(capsys):
    verdict, out = run(NotAnSE, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("FAILED: a max-pooling SE (MaxSE)\n  while checking: it is an SE\n  NotAnSE should subclass "
                   "attn_src.SE (class NotAnSE(SE)) and override squeeze only, so the excitation and the scale stay SE's\n")


def test_extra_parameters(capsys):
    verdict, out = run(ExtraParameter, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert "while checking: the forward pass on (N, C, H, W) = (2, 64, 5, 7), reduction 16" in out
    assert "ExtraParameter has other parameters than SE's reduce and expand layers; keep SE's __init__" in out


def test_a_wrong_forward_is_caught_on_the_first_shape(capsys):
    verdict, out = run(MaxAfterGate, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out.startswith("FAILED: a max-pooling SE (MaxSE)\n"
                          "  while checking: the forward pass on (N, C, H, W) = (2, 64, 5, 7), reduction 16\n"
                          "  MaxAfterGate(64, 16) on (2, 64, 5, 7) differs at position")


def test_argument_must_be_a_class():
    with pytest.raises(TypeError, match=r"^cls must be a class MaxSE\(SE\) \(not an instance\), got MaxSE$"):
        check_max_se(MaxSE(8, 4))
