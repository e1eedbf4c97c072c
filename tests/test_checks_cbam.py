"""The CBAM exercise checker: passes a correct spatial attention, names each kind of mistake."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_src.checks.cbam import check_spatial_attention


class Correct(nn.Module):
    """Eq. 3, written the way a learner would."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def pooled(self, x):
        return torch.cat([x.mean(1, keepdim=True), x.max(1, keepdim=True).values], dim=1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(self.pooled(x)))


class Stub(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        raise NotImplementedError("compute M_s(F) * F")


class StubInInit(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        raise NotImplementedError("build the conv")


class MaxFirst(Correct):
    def pooled(self, x):
        return torch.cat([x.max(1, keepdim=True).values, x.mean(1, keepdim=True)], dim=1)


class NoSigmoid(Correct):
    def forward(self, x):
        return x * self.conv(self.pooled(x))


class ReturnsGate(Correct):
    def forward(self, x):
        return torch.sigmoid(self.conv(self.pooled(x)))


class WithBias(Correct):
    def __init__(self, kernel_size=7):
        super().__init__(kernel_size)
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=True)


class NoPadding(Correct):
    def __init__(self, kernel_size=7):
        super().__init__(kernel_size)
        self.conv = nn.Conv2d(2, 1, kernel_size, bias=False)


class WrongInChannels(Correct):
    def __init__(self, kernel_size=7):
        super().__init__(kernel_size)
        self.conv = nn.Conv2d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def pooled(self, x):
        return x.mean(1, keepdim=True) + x.max(1, keepdim=True).values


class PoolsOverSpace(Correct):
    """Pools over H and W (a channel descriptor) instead of across channels."""

    def forward(self, x):
        n, c, h, w = x.shape
        pooled = torch.stack([x.mean((2, 3)), x.amax((2, 3))], dim=1)[..., None]   # (N, 2, C, 1)
        gate = torch.sigmoid(self.conv(pooled))                                       # (N, 1, C, 1)
        return x * gate.reshape(n, c, 1, 1)


class PerChannelGate(Correct):
    """Gates each channel by its own map: not one map shared by all channels."""

    def forward(self, x):
        maps = [torch.sigmoid(self.conv(torch.cat([x[:, i:i + 1], x[:, i:i + 1]], 1))) for i in range(x.shape[1])]
        return x * torch.cat(maps, dim=1)


class SumOfMaps(Correct):
    """Adds the two pooled maps' filters' outputs after separate sigmoids: a different function."""

    def forward(self, x):
        a = self.conv.weight[:, :1]
        b = self.conv.weight[:, 1:]
        pad = self.conv.padding
        mean = nn.functional.conv2d(x.mean(1, keepdim=True), a, padding=pad)
        peak = nn.functional.conv2d(x.amax(1, keepdim=True), b, padding=pad)
        return x * (torch.sigmoid(mean) + torch.sigmoid(peak)) / 2


def verdict(cls, capsys):
    ok = check_spatial_attention(cls)
    return ok, capsys.readouterr().out


def test_a_correct_solution_passes(capsys):
    ok, out = verdict(Correct, capsys)
    assert ok == True  # noqa: E712 (a Verdict)
    assert out == "PASSED: CBAM spatial attention (5 checks)\n"


def test_attn_src_itself_passes_in_the_papers_layout(capsys):
    from attn_src import SpatialAttention

    class Paper(SpatialAttention):
        def __init__(self, kernel_size=7):
            super().__init__(kernel_size, norm=False, max_first=False)

    ok, out = verdict(Paper, capsys)
    assert ok == True  # noqa: E712 (a Verdict), out


@pytest.mark.parametrize("stub", [Stub, StubInInit])
def test_a_stub_says_not_yet(stub, capsys):
    ok, out = verdict(stub, capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert out.startswith("NOT YET: CBAM spatial attention: your code raised NotImplementedError")


@pytest.mark.parametrize("wrong, expected", [
    (MaxFirst, "your maps are stacked [max; mean]; Eq. 3 stacks [AvgPool(F); MaxPool(F)]"),
    (NoSigmoid, "should lie in (0, 1) (a sigmoid's output)"),
    (ReturnsGate, "the gate M_s(F); forward should return the refined map M_s(F) * F"),
    (WithBias, "has 99 parameters, expected 98 = 2 * 7 * 7"),
    (NoPadding, "padding=(0, 0), stride=(1, 1), dilation=(1, 1): the map changes size; pad the conv by kernel_size // 2 = 3"),
    (WrongInChannels, "expected (1, 2, 7, 7): in_channels=2 (the mean map and the max map)"),
    (PoolsOverSpace, "differs between channels at the same position"),
    (PerChannelGate, "a spatial gate is one map (N, 1, H, W), shared by every channel"),
    (SumOfMaps, "output for input (2, 8, 9, 9) differs at position"),
])
def test_each_mistake_gets_its_own_message(wrong, expected, capsys):
    ok, out = verdict(wrong, capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert out.startswith("FAILED: CBAM spatial attention\n")
    assert expected in out, out


def test_an_instance_instead_of_the_class_is_refused(capsys):
    ok, out = verdict(Correct(), capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert "pass the class itself (SpatialAttention), not Correct" in out


def test_a_module_without_a_conv_is_named(capsys):
    class NoConv(nn.Module):
        def __init__(self, kernel_size=7):
            super().__init__()

        def forward(self, x):
            return x

    ok, out = verdict(NoConv, capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert "should contain exactly one nn.Conv2d (2 pooled maps -> 1 map), found 0" in out
