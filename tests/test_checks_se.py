"""The SE chapter's checker: it passes a correct SE-with-1x1-convolutions and names each kind of mistake."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_src.checks.se import CASES, check_se_conv


class SEConv(nn.Module):
    """A correct solution: Eqs. 2-4 with W1, W2 as 1x1 convolutions with biases."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def gate(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))

    def forward(self, x):
        return x * self.gate(x)


class ConvThenPool(SEConv):
    """Also correct: a 1x1 convolution is linear, so convolving before pooling gives the same z."""

    def gate(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x).mean(dim=(2, 3), keepdim=True))))


class Stub(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        raise NotImplementedError("define the two 1x1 convolutions")


class StubForward(SEConv):
    def forward(self, x):
        raise NotImplementedError("write the forward pass")


class WithLinear(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * s[:, :, None, None]


class NoBias(SEConv):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)


class HiddenIsR(SEConv):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        self.fc1 = nn.Conv2d(channels, reduction, 1)
        self.fc2 = nn.Conv2d(reduction, channels, 1)


class Kernel3(SEConv):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 3, padding=1)


class OneConv(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))


class ExtraNorm(SEConv):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        self.norm = nn.BatchNorm2d(channels // reduction)


class ReturnsGate(SEConv):
    def forward(self, x):
        return self.gate(x)


class NoSqueeze(SEConv):
    def gate(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x))))


class NoSigmoid(SEConv):
    def gate(self, x):
        return self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True))))


class Softmax(SEConv):
    def gate(self, x):
        return torch.softmax(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))), dim=1)


class MaxPool(SEConv):
    def gate(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x.amax(dim=(2, 3), keepdim=True)))))


class SumPool(SEConv):
    def gate(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x.sum(dim=(2, 3), keepdim=True)))))


class NoRelu(SEConv):
    def gate(self, x):
        return torch.sigmoid(self.fc2(self.fc1(x.mean(dim=(2, 3), keepdim=True))))


class SigmoidInTheMiddle(SEConv):
    def gate(self, x):
        return torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))


class AddsTheGate(SEConv):
    def forward(self, x):
        return x + self.gate(x)


class HalvedGate(SEConv):
    def gate(self, x):
        return 0.5 * super().gate(x)


@pytest.mark.parametrize("cls", [SEConv, ConvThenPool])
def test_a_correct_solution_passes_every_check(cls, capsys):
    assert check_se_conv(cls) == True  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == f"PASSED: SE with 1x1 convolutions ({6 * len(CASES)} checks)\n"


@pytest.mark.parametrize("cls,message", [
    (Stub, "define the two 1x1 convolutions"),
    (StubForward, "write the forward pass"),
])
def test_a_stub_is_not_yet(cls, message, capsys):
    assert check_se_conv(cls) == False  # noqa: E712 (a Verdict)
    out = capsys.readouterr().out
    assert out.startswith("NOT YET: SE with 1x1 convolutions: your code raised NotImplementedError")
    assert message in out


@pytest.mark.parametrize("cls,step,message", [
    (WithLinear, "building WithLinear(32, reduction=4)", "found nn.Linear layers but no nn.Conv2d"),
    (OneConv, "building OneConv(32, reduction=4)", "expected exactly two nn.Conv2d layers (W1 then W2), found 1"),
    (HiddenIsR, "building HiddenIsR(32, reduction=4)",
     "the first convolution maps 32 -> 4 channels, expected 32 -> 8"),
    (Kernel3, "building Kernel3(32, reduction=4)", "the first convolution has kernel_size (3, 3), expected 1"),
    (NoBias, "the parameter count of NoBias(32, reduction=4)",
     "512 parameters = the weights 2*C*(C//r) only: the original SENet's 1x1 convolutions have biases"),
    (ExtraNorm, "the parameter count of ExtraNorm(32, reduction=4)",
     "your module has 568 parameters, expected 552 = 2*C*(C//r) + C//r + C with C=32, r=4"),
    (ReturnsGate, "the output shape of ReturnsGate(32, reduction=4) on an input of shape (2, 32, 5, 7)",
     "your forward returns shape (2, 32, 1, 1), the gate's"),
    (NoSqueeze, "the gate of NoSqueeze(32, reduction=4): one number per channel",
     "output / input varies over the positions (i, j) of a channel"),
    (NoSigmoid, "the gate of NoSigmoid(32, reduction=4): a sigmoid's range",
     "your gate (output / input) should lie in (0, 1) (a sigmoid's output)"),
    (Softmax, "the gate of Softmax(32, reduction=4): a sigmoid's range", "your gates sum to 1 over the channels"),
    (MaxPool, "the output of MaxPool(32, reduction=4) against attn_src.SE",
     "your output equals SE's with global max pooling"),
    (SumPool, "the output of SumPool(32, reduction=4) against attn_src.SE",
     "your output equals SE's with a sum over H x W"),
    (NoRelu, "the output of NoRelu(32, reduction=4) against attn_src.SE",
     "your output equals SE's without the ReLU (delta in Eq. 3)"),
    (HalvedGate, "the output of HalvedGate(32, reduction=4) against attn_src.SE",
     "your output differs at position (0, 0, 0, 0)"),
])
def test_each_mistake_gets_its_message(cls, step, message, capsys):
    assert check_se_conv(cls) == False  # noqa: E712 (a Verdict)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "FAILED: SE with 1x1 convolutions"
    assert lines[1].startswith(f"  while checking: {step}")
    assert message in lines[2]


@pytest.mark.parametrize("cls,step,message", [
    (SigmoidInTheMiddle, "the output of SigmoidInTheMiddle(32, reduction=4) against attn_src.SE with the same weights",
     "your output equals SE's with a sigmoid between the two convolutions: Eq. 3 has a ReLU (delta) there, "
     "and the sigmoid only at the end"),
    (AddsTheGate, "the gate of AddsTheGate(32, reduction=4): one number per channel",
     "your output is the input plus one number per channel: Eq. 4 multiplies each channel by its gate, x * s, "
     "it does not add the gate"),
    (NoSqueeze, "the gate of NoSqueeze(32, reduction=4): one number per channel",
     "output / input varies over the positions (i, j) of a channel (by up to"),
])
def test_the_whole_verdict_of_a_mistake(cls, step, message, capsys):
    """The verdict is three lines: FAILED, the step, the message for the learner (here checked whole)."""
    assert check_se_conv(cls) == False  # noqa: E712 (a Verdict)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines == ["FAILED: SE with 1x1 convolutions", f"  while checking: {step}", lines[2]]
    assert lines[2].startswith(f"  {message}")


def test_a_stub_names_the_part_that_runs_first(capsys):
    """The chapter's stub raises in __init__ first: the NOT YET line names that part, in one line."""

    class ChapterStub(nn.Module):
        def __init__(self, channels, reduction=16):
            super().__init__()
            raise NotImplementedError("define W1 and W2 as 1x1 convolutions with biases")

        def forward(self, x):
            raise NotImplementedError("squeeze (Eq. 2), excite (Eq. 3), scale (Eq. 4)")

    assert check_se_conv(ChapterStub) == False  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == (
        "NOT YET: SE with 1x1 convolutions: your code raised NotImplementedError (define W1 and W2 as 1x1 "
        "convolutions with biases). Fill in the exercise, then run this cell again.\n")


def test_a_mistake_on_a_later_shape_is_caught(capsys):
    """Sum and mean pooling agree on a 1x1 map; hidden width r and C // r agree when C = r * r."""

    class HiddenFromSqrt(SEConv):
        def __init__(self, channels, reduction=16):
            super().__init__(channels, reduction)
            hidden = 8 if channels == 32 else 1 if channels == 16 else 2
            self.fc1 = nn.Conv2d(channels, hidden, 1)
            self.fc2 = nn.Conv2d(hidden, channels, 1)

    assert check_se_conv(HiddenFromSqrt) == False  # noqa: E712 (a Verdict)
    out = capsys.readouterr().out
    assert "building HiddenFromSqrt(64, reduction=16)" in out
    assert "maps 64 -> 2 channels, expected 64 -> 4" in out


def test_the_checker_leaves_the_global_random_state_alone(capsys):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_se_conv(SEConv)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("bad,kind", [("SEConv", "'SEConv' (str)"), (int, "<class 'int'> (type)")])
def test_the_checker_wants_a_module_class(bad, kind):
    with pytest.raises(TypeError) as err:
        check_se_conv(bad)
    assert str(err.value) == f"cls must be a subclass of nn.Module (the class itself, not an instance), got {kind}"


def test_the_checker_asks_for_the_class_not_an_instance():
    with pytest.raises(TypeError) as err:
        check_se_conv(SEConv(16))
    assert str(err.value) == "cls must be a subclass of nn.Module, got an instance of SEConv: pass the class, check_se_conv(SEConv)"


def test_a_verdict_is_a_bool_that_a_notebook_does_not_show_again(capsys):
    """The checker prints its verdict; the value it returns compares as a bool and displays nothing,
    so a checker cell shows one line and no stray ``True`` / ``False``."""
    from attn_src.checks import Verdict
    from IPython.core.formatters import DisplayFormatter

    passed, failed = Verdict(True), Verdict(False)
    assert passed == True and failed == False and bool(passed) and not failed  # noqa: E712
    assert (repr(passed), repr(failed)) == ("True", "False")
    assert passed._ipython_display_() is None
    assert DisplayFormatter().format(passed) == ({}, {})  # IPython's display: nothing at all
