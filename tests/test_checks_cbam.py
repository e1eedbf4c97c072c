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
    (NoPadding, "padding=(0, 0), stride=(1, 1), dilation=(1, 1): the map changes size; pad it by kernel_size // 2 = 3"),
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


# --------------------------------------------------------------------------- the whole module: check_cbam

from attn_src.checks import check_cbam  # noqa: E402  (exported from the package, as the chapter imports it)


class MyCBAM(nn.Module):
    """Eqs. 1-3, written the way a learner would."""

    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        self.w0 = nn.Linear(channels, channels // reduction, bias=False)
        self.w1 = nn.Linear(channels // reduction, channels, bias=False)
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def mlp(self, v):
        return self.w1(torch.relu(self.w0(v)))

    def channel_gate(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]

    def pooled(self, x):
        return torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)

    def spatial_gate(self, x):
        return torch.sigmoid(self.conv(self.pooled(x)))

    def forward(self, x):
        refined = self.channel_gate(x) * x
        return self.spatial_gate(refined) * refined


class ConvMLP(MyCBAM):
    """The shared MLP as 1x1 convolutions: also Eq. 2."""

    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__(channels, reduction, kernel_size)
        self.w0 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.w1 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def channel_gate(self, x):
        def mlp(v):
            return self.w1(torch.relu(self.w0(v)))
        return torch.sigmoid(mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True)))


class StubCBAM(nn.Module):
    """The chapter's exercise stub, filled in one part at a time below."""

    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        raise NotImplementedError("__init__: build W_0, W_1 and the conv")

    def channel_gate(self, x):
        raise NotImplementedError("channel_gate: Eq. 2")

    def spatial_gate(self, x):
        raise NotImplementedError("spatial_gate: Eq. 3")

    def forward(self, x):
        raise NotImplementedError("forward: Eq. 1")


class SpatialDone(MyCBAM):
    """__init__, channel_gate and spatial_gate written; forward still the stub's."""

    forward = StubCBAM.forward


class ChannelDone(SpatialDone):
    spatial_gate = StubCBAM.spatial_gate


class InitDone(ChannelDone):
    channel_gate = StubCBAM.channel_gate


def cbam_verdict(cls, capsys):
    ok = check_cbam(cls)
    return ok, capsys.readouterr().out


@pytest.mark.parametrize("cls", [MyCBAM, ConvMLP])
def test_a_correct_cbam_passes(cls, capsys):
    ok, out = cbam_verdict(cls, capsys)
    assert ok == True  # noqa: E712 (a Verdict)
    assert out == "PASSED: CBAM from its equations (5 checks)\n"


def test_attn_src_itself_passes_in_the_papers_form(capsys):
    from attn_src import CBAM

    class Paper(CBAM):
        def __init__(self, channels, reduction=16, kernel_size=7):
            super().__init__(channels, reduction, kernel_size, bias=False, norm=False, max_first=False)

        def channel_gate(self, x):
            return self.channel.gate(x)

        def spatial_gate(self, x):
            return self.spatial.gate(x)

    ok, out = cbam_verdict(Paper, capsys)
    assert out == "PASSED: CBAM from its equations (5 checks)\n"


@pytest.mark.parametrize("stub, unfinished", [
    (StubCBAM, "__init__: build W_0, W_1 and the conv"),
    (InitDone, "channel_gate: Eq. 2"),
    (ChannelDone, "spatial_gate: Eq. 3"),
    (SpatialDone, "forward: Eq. 1"),
])
def test_the_stub_says_not_yet_and_names_the_part_that_was_called(stub, unfinished, capsys):
    ok, out = cbam_verdict(stub, capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert out == (f"NOT YET: CBAM from its equations: your code raised NotImplementedError ({unfinished}). "
                   "Fill in the exercise, then run this cell again.\n")


# ---- one class per typical mistake


class AvgOnly(MyCBAM):
    def channel_gate(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))))[:, :, None, None]


class MaxOnly(MyCBAM):
    def channel_gate(self, x):
        return torch.sigmoid(self.mlp(x.amax((2, 3))))[:, :, None, None]


class NoReLU(MyCBAM):
    def mlp(self, v):
        return self.w1(self.w0(v))


class SumBeforeMLP(MyCBAM):
    def channel_gate(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3)) + x.amax((2, 3))))[:, :, None, None]


class SigmoidPerBranch(MyCBAM):
    def channel_gate(self, x):
        return (torch.sigmoid(self.mlp(x.mean((2, 3)))) + torch.sigmoid(self.mlp(x.amax((2, 3)))))[:, :, None, None]


class Softmax(MyCBAM):
    def channel_gate(self, x):
        return torch.softmax(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))), dim=1)[:, :, None, None]


class FlatChannelGate(MyCBAM):
    def channel_gate(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))

    def forward(self, x):
        refined = self.channel_gate(x)[:, :, None, None] * x
        return self.spatial_gate(refined) * refined


class TwoMLPs(MyCBAM):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__(channels, reduction, kernel_size)
        self.v0 = nn.Linear(channels, channels // reduction, bias=False)
        self.v1 = nn.Linear(channels // reduction, channels, bias=False)


class MLPWithBias(MyCBAM):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__(channels, reduction, kernel_size)
        self.w0 = nn.Linear(channels, channels // reduction)
        self.w1 = nn.Linear(channels // reduction, channels)


class WrongHidden(MyCBAM):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__(channels, reduction, kernel_size)
        self.w0 = nn.Linear(channels, channels // 2, bias=False)   # C // 2 instead of C // r
        self.w1 = nn.Linear(channels // 2, channels, bias=False)


class ExtraBatchNorm(MyCBAM):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__(channels, reduction, kernel_size)
        self.norm = nn.BatchNorm2d(1)


class NoSpatialConv(MyCBAM):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__(channels, reduction, kernel_size)
        del self.conv


class MaxFirstMaps(MyCBAM):
    def pooled(self, x):
        return torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)


class SumMap(MyCBAM):
    def pooled(self, x):
        return torch.cat([x.sum(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)


class SpatialNoSigmoid(MyCBAM):
    def spatial_gate(self, x):
        return self.conv(self.pooled(x))


class SpatialPoolsOverPositions(MyCBAM):
    def spatial_gate(self, x):
        return torch.sigmoid(x.mean((2, 3), keepdim=True))


class Parallel(MyCBAM):
    def forward(self, x):
        return self.channel_gate(x) * self.spatial_gate(x) * x


class SpatialFirst(MyCBAM):
    def forward(self, x):
        refined = self.spatial_gate(x) * x
        return self.channel_gate(refined) * refined


class ChannelOnly(MyCBAM):
    def forward(self, x):
        return self.channel_gate(x) * x


class SpatialOnly(MyCBAM):
    def forward(self, x):
        return self.spatial_gate(x) * x


class GateTimesInput(MyCBAM):
    def forward(self, x):
        refined = self.channel_gate(x) * x
        return self.spatial_gate(refined) * x


class ReturnsSpatialGate(MyCBAM):
    def forward(self, x):
        return self.spatial_gate(self.channel_gate(x) * x)


class NoChannelGateMethod(MyCBAM):
    channel_gate = None


@pytest.mark.parametrize("wrong, while_checking, expected", [
    (AvgOnly, "channel_gate(F) is M_c(F), Eq. 2", "your gate uses only the average-pooled descriptor: Eq. 2 adds "
     "MLP(MaxPool(F)), the same MLP on the max-pooled descriptor, before the sigmoid"),
    (MaxOnly, "channel_gate(F) is M_c(F), Eq. 2", "your gate uses only the max-pooled descriptor: Eq. 2 adds "
     "MLP(AvgPool(F)), the same MLP on the average-pooled descriptor, before the sigmoid"),
    (NoReLU, "channel_gate(F) is M_c(F), Eq. 2",
     "your MLP has no ReLU between W_0 and W_1 (Eq. 2's MLP has one hidden layer with a ReLU)"),
    (SumBeforeMLP, "channel_gate(F) is M_c(F), Eq. 2", "you add the two descriptors before the MLP; Eq. 2 runs "
     "the MLP on each descriptor and adds the two outputs: sigmoid(MLP(avg) + MLP(max))"),
    (SigmoidPerBranch, "channel_gate(F) is M_c(F), Eq. 2", "you apply a sigmoid to each MLP output and add them; "
     "Eq. 2 adds the two MLP outputs and applies one sigmoid to the sum"),
    (Softmax, "channel_gate(F) is M_c(F), Eq. 2",
     "your gate is a softmax over the channels; Eq. 2 applies a sigmoid to each channel on its own"),
    (FlatChannelGate, "channel_gate(F) is M_c(F), Eq. 2", "channel_gate returned shape (2, 16); return it as "
     "(N, C, 1, 1) = (2, 16, 1, 1), so that it broadcasts over the positions (gate[:, :, None, None])"),
    (TwoMLPs, "building the module", "found 4 MLP layers: two MLPs, one per descriptor; Eq. 2 applies ONE MLP "
     "(W_0, W_1) to both the average- and the max-pooled descriptor, so build W_0 and W_1 once and call them twice"),
    (MLPWithBias, "building the module", "your layers have biases; Eqs. 2 and 3 have none (W_0, W_1 and f are "
     "plain weights): build them with bias=False (the official code's MLP has biases, the equations do not)"),
    (WrongHidden, "building the module", "W_0 maps 16 -> 8 features, expected 16 -> 4 (W_0: C -> C // r, "
     "W_1: C // r -> C, with C=16, r=4; W_0 is the first one you create)"),
    (ExtraBatchNorm, "parameter count is 2 * C * (C // r) + 2 * k * k", "your CBAM(16, reduction=4, kernel_size=7) "
     "has 228 parameters, expected 226 = 2 * C * (C // r) + 2 * k * k with C=16, r=4, k=7 (W_0, W_1 and the "
     "7x7 filter, nothing else: no bias, no BatchNorm)"),
    (NoSpatialConv, "building the module", "expected one nn.Conv2d with a 7x7 kernel (Eq. 3's f, from the 2 pooled "
     "maps to 1 map), found 0"),
    (MaxFirstMaps, "spatial_gate(F) is M_s(F), Eq. 3", "your maps are stacked [max; mean]; Eq. 3 stacks "
     "[AvgPool(F); MaxPool(F)], mean first (torch.cat([avg, max], dim=1))"),
    (SumMap, "spatial_gate(F) is M_s(F), Eq. 3", "your first map is the sum across channels; AvgPool(F) in Eq. 3 "
     "is the mean across channels (x.mean(dim=1, keepdim=True))"),
    (SpatialNoSigmoid, "spatial_gate(F) is M_s(F), Eq. 3",
     "your spatial gate has no sigmoid: Eq. 3 applies sigmoid to the conv's output"),
    (SpatialPoolsOverPositions, "spatial_gate(F) is M_s(F), Eq. 3", "spatial_gate returned shape (2, 16, 1, 1), "
     "one number per channel: Eq. 3 pools across the channels (dim=1, keepdim=True) and gives one map, (N, 1, H, W)"),
    (Parallel, "forward(F) is F'' of Eq. 1", "your forward computes both gates from F, M_c(F) * M_s(F) * F: that is "
     "the parallel arrangement; Eq. 1 computes the spatial gate from F' = M_c(F) * F"),
    (SpatialFirst, "forward(F) is F'' of Eq. 1", "your forward applies the spatial gate first; Eq. 1 is channel "
     "first: F' = M_c(F) * F, then F'' = M_s(F') * F'"),
    (ChannelOnly, "forward(F) is F'' of Eq. 1",
     "your forward returns F' = M_c(F) * F; Eq. 1 goes on: F'' = M_s(F') * F'"),
    (SpatialOnly, "forward(F) is F'' of Eq. 1", "your forward returns M_s(F) * F, without the channel gate; "
     "Eq. 1 first computes F' = M_c(F) * F"),
    (GateTimesInput, "forward(F) is F'' of Eq. 1", "your forward multiplies the spatial gate with F; Eq. 1 "
     "multiplies it with F' = M_c(F) * F, the map it was computed from: F'' = M_s(F') * F'"),
    (ReturnsSpatialGate, "forward(F) is F'' of Eq. 1", "forward returned shape (2, 1, 9, 9), a gate; Eq. 1's F'' "
     "has the input's shape (2, 16, 9, 9): multiply the gates into the map"),
    (NoChannelGateMethod, "channel_gate(F) is M_c(F), Eq. 2",
     "NoChannelGateMethod has no method channel_gate(x): write Eq. 2, returning M_c(F) shaped (N, C, 1, 1) there"),
])
def test_each_cbam_mistake_gets_its_own_message(wrong, while_checking, expected, capsys):
    ok, out = cbam_verdict(wrong, capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert out.startswith(f"FAILED: CBAM from its equations\n  while checking: {while_checking}"), out
    assert expected in out, out


def test_check_cbam_refuses_an_instance_or_a_non_module(capsys):
    ok, out = cbam_verdict(MyCBAM(16, 4), capsys)
    assert ok == False  # noqa: E712 (a Verdict)
    assert out == ("FAILED: CBAM from its equations\n"
                   "  pass the class itself (MyCBAM, a subclass of nn.Module), not an instance of MyCBAM\n")
    ok, out = cbam_verdict(int, capsys)
    assert out == ("FAILED: CBAM from its equations\n"
                   "  pass the class itself (MyCBAM, a subclass of nn.Module), not <class 'int'>\n")


def test_the_checker_keeps_the_learners_random_stream():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    check_cbam(MyCBAM)
    assert torch.equal(torch.rand(3), expected)


def test_a_verdict_is_shown_as_nothing_in_a_notebook(capsys):
    """The checker cell prints its one line; IPython shows nothing for the returned Verdict."""
    ok = check_cbam(MyCBAM)
    capsys.readouterr()
    assert ok._ipython_display_() is None and repr(ok) == "True"
