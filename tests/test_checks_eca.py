"""The ECA exercise checkers: pass correct solutions, name the mistake of each kind of wrong one."""
from __future__ import annotations

import json
import math
import pathlib
import re

import pytest
import torch
from torch import nn

from attn_src.checks.eca import KERNEL_SIZE_SETTINGS, MAX_CHANNELS, check_eca_forward, check_kernel_size


# ---------------------------------------------------------------- psi(C), written independently of attn_src
def nearest_odd_psi(channels, gamma=2, b=1):
    """|t|_odd as 'the odd number nearest to t, ties upwards': 2 floor(t / 2) + 1 (t >= 0 here)."""
    t = max(0.0, math.log2(channels) / gamma + b / gamma)
    return 2 * math.floor(t / 2) + 1


def papers_code_psi(channels, gamma=2, b=1):
    t = int(abs((math.log(channels, 2) + b) / gamma))
    return t if t % 2 else t + 1


def first_difference(fn, gamma, b):
    return next(c for c in range(1, MAX_CHANNELS + 1) if fn(c, gamma, b) != nearest_odd_psi(c, gamma, b))


def run(checker, arg, capsys):
    verdict = checker(arg)
    return verdict, capsys.readouterr().out


def test_reference_psi_is_the_nearest_odd_number():
    # the checker's reference (attn_src.eca_kernel_size) agrees with an independent reading of Eq. 13
    from attn_src import eca_kernel_size
    for gamma, b in KERNEL_SIZE_SETTINGS:
        assert all(eca_kernel_size(c, gamma, b) == nearest_odd_psi(c, gamma, b) for c in range(1, MAX_CHANNELS + 1))


@pytest.mark.parametrize("fn", [nearest_odd_psi, papers_code_psi])
def test_kernel_size_passes_correct_solutions(fn, capsys):
    verdict, out = run(check_kernel_size, fn, capsys)
    assert verdict == True  # noqa: E712 (a Verdict)
    assert out == f"PASSED: ECA kernel size psi(C) ({2 + len(KERNEL_SIZE_SETTINGS)} checks)\n"


NOT_YET_END = ". Fill in the exercise, then run this cell again.\n"


def test_kernel_size_stub_is_not_yet_and_named(capsys):
    def stub(channels, gamma=2, b=1):
        raise NotImplementedError("write psi(C)")
    verdict, out = run(check_kernel_size, stub, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == "NOT YET: ECA kernel size psi(C): your code raised NotImplementedError (in stub: write psi(C))" + NOT_YET_END


def test_kernel_size_even_values_named_at_first_wrong_channel(capsys):
    def never_odd(channels, gamma=2, b=1):
        return int(abs((math.log2(channels) + b) / gamma))
    verdict, out = run(check_kernel_size, never_odd, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    c = first_difference(never_odd, 2, 1)
    assert c == 1  # t = 0.5 truncates to 0, which must become 1
    assert f"for C={c}, gamma=2, b=1 yours is 0, expected 1" in out
    assert "k must be odd: add 1 when the truncated value is even" in out


def _rounds(channels, gamma=2, b=1):
    t = round(math.log2(channels) / gamma + b / gamma)
    return t if t % 2 else t + 1


def _natural_log(channels, gamma=2, b=1):
    t = int(abs((math.log(channels) + b) / gamma))
    return t if t % 2 else t + 1


@pytest.mark.parametrize("wrong, hint", [(_rounds, "do not round it"), (_natural_log, "math.log2")])
def test_kernel_size_wrong_formula_gets_the_first_difference_and_a_hint(wrong, hint, capsys):
    verdict, out = run(check_kernel_size, wrong, capsys)
    c = first_difference(wrong, 2, 1)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert f"for C={c}, gamma=2, b=1 yours is {wrong(c)}, expected {nearest_odd_psi(c)}" in out
    assert hint in out


def test_kernel_size_ignoring_gamma_and_b(capsys):
    def hard_coded(channels, gamma=2, b=1):
        return nearest_odd_psi(channels)
    verdict, out = run(check_kernel_size, hard_coded, capsys)
    gamma, b = KERNEL_SIZE_SETTINGS[1]
    c = first_difference(lambda c, g, bb: hard_coded(c), gamma, b)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert f"while checking: C = 1 ... {MAX_CHANNELS} with gamma={gamma:g}, b={b:g}" in out
    assert f"for C={c}, gamma={gamma:g}, b={b:g} yours is" in out
    assert "seems to ignore gamma and b" in out


def test_kernel_size_float_result(capsys):
    verdict, out = run(check_kernel_size, lambda c, gamma=2, b=1: float(nearest_odd_psi(c, gamma, b)), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert "fn(64, 2, 1) returned 3.0 (float)" in out and "int(...)" in out


def test_kernel_size_wrong_defaults(capsys):
    verdict, out = run(check_kernel_size, lambda c, gamma=1, b=1: nearest_odd_psi(c, gamma, b), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert f"fn(16) = {nearest_odd_psi(16, 1, 1)} but fn(16, 2, 1) = {nearest_odd_psi(16)}" in out


KERNEL_FAILED = "FAILED: ECA kernel size psi(C)\n  while checking: "


@pytest.mark.parametrize("wrong, expected", [
    (lambda c, gamma=2, b=1: int(abs((math.log2(c) + b) / gamma)),
     "C = 1 ... 4096 with gamma=2, b=1\n  for C=1, gamma=2, b=1 yours is 0, expected 1 (t = log2(C)/gamma + b/gamma "
     "= 0.5, int(t) = 0, even, so +1). k must be odd: add 1 when the truncated value is even"),
    (_rounds,
     "C = 1 ... 4096 with gamma=2, b=1\n  for C=4, gamma=2, b=1 yours is 3, expected 1 (t = log2(C)/gamma + b/gamma "
     "= 1.5, int(t) = 1, already odd). Truncate t with int(t) before making it odd; do not round it"),
    (_natural_log,
     "C = 1 ... 4096 with gamma=2, b=1\n  for C=8, gamma=2, b=1 yours is 1, expected 3 (t = log2(C)/gamma + b/gamma "
     "= 2, int(t) = 2, even, so +1). Use the base-2 logarithm (math.log2), not the natural one"),
    (lambda c, gamma=2, b=1: nearest_odd_psi(c),
     "C = 1 ... 4096 with gamma=1, b=0\n  for C=4, gamma=1, b=0 yours is 1, expected 3 (t = log2(C)/gamma + b/gamma "
     "= 2, int(t) = 2, even, so +1). Your function seems to ignore gamma and b (it gives the answer for gamma=2, b=1)"),
    (lambda c, gamma=2, b=1: float(nearest_odd_psi(c, gamma, b)),
     "the return type\n  fn(64, 2, 1) returned 3.0 (float); a kernel size must be an int (nn.Conv1d needs one): "
     "wrap the result in int(...)"),
    (lambda c, gamma=1, b=1: nearest_odd_psi(c, gamma, b),
     "the default gamma and b\n  fn(16) = 5 but fn(16, 2, 1) = 3: the defaults should be the paper's gamma=2, b=1"),
], ids=["even", "rounds", "natural-log", "ignores-gamma-b", "float", "defaults"])
def test_kernel_size_mistakes_get_their_exact_verdict(wrong, expected, capsys):
    verdict, out = run(check_kernel_size, wrong, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == KERNEL_FAILED + expected + "\n"


def test_kernel_size_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function channels, gamma=2, b=1 -> int, got int"):
        check_kernel_size(3)


# ---------------------------------------------------------------- the forward pass
def make_eca(*, k_fn=nearest_odd_psi, bias=False, forward):
    """An ECA-like class whose forward is ``forward(self, x)``."""
    class Learner(nn.Module):
        def __init__(self, channels):
            super().__init__()
            k = k_fn(channels)
            self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=bias)

        def gate_logits(self, y):  # y: (N, C) -> (N, C)
            return self.conv(y.unsqueeze(1)).squeeze(1)

    Learner.forward = forward
    return Learner


def dance(self, x):  # the official listing's squeeze/transpose dance
    y = nn.functional.adaptive_avg_pool2d(x, 1)
    y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
    return x * torch.sigmoid(y).expand_as(x)


def viewed(self, x):
    n, c = x.shape[:2]
    return x * torch.sigmoid(self.conv(x.mean(dim=(2, 3)).view(n, 1, c))).view(n, c, 1, 1)


@pytest.mark.parametrize("forward", [dance, viewed])
def test_forward_passes_correct_solutions(forward, capsys):
    verdict, out = run(check_eca_forward, make_eca(forward=forward), capsys)
    assert verdict == True  # noqa: E712 (a Verdict)
    assert out == "PASSED: ECA forward pass (8 checks)\n"


def test_forward_stub_is_not_yet_and_named(capsys):
    class Stub(nn.Module):
        def __init__(self, channels):
            super().__init__()
            raise NotImplementedError("pick k, build the Conv1d")
    verdict, out = run(check_eca_forward, Stub, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("NOT YET: ECA forward pass: your code raised NotImplementedError "
                   "(in Stub.__init__: pick k, build the Conv1d)" + NOT_YET_END)


def test_forward_names_the_kernel_size_stub_its_init_calls(capsys):
    # the forward check builds the module first: an unfinished psi(C) stops it in __init__, and the
    # verdict must name that stub (and who called it), not the forward pass
    def k_stub(channels):
        raise NotImplementedError("write psi(C)")
    verdict, out = run(check_eca_forward, make_eca(k_fn=k_stub, forward=dance), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("NOT YET: ECA forward pass: your code raised NotImplementedError "
                   "(in k_stub, called by Learner.__init__: write psi(C))" + NOT_YET_END)


def test_forward_names_the_forward_stub(capsys):
    def forward(self, x):
        raise NotImplementedError("pool, convolve, sigmoid, scale")
    verdict, out = run(check_eca_forward, make_eca(forward=forward), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("NOT YET: ECA forward pass: your code raised NotImplementedError "
                   "(in Learner.forward: pool, convolve, sigmoid, scale)" + NOT_YET_END)


def notebook_stub_cell():
    """The source of book/03_eca.ipynb's exercise-stub cell (what a student starts from)."""
    nb = json.loads((pathlib.Path(__file__).resolve().parents[1] / "book" / "03_eca.ipynb").read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if "exercise-stub" in c.get("metadata", {}).get("tags", [])]
    return "".join(cell["source"])


def test_the_notebooks_stubs_are_named_in_the_order_a_student_meets_them(capsys):
    namespace = {"torch": torch, "nn": nn}  # the notebook imported both before the stub cell
    exec(compile(notebook_stub_cell(), "<stub cell>", "exec"), namespace)
    assert not check_kernel_size(namespace["kernel_size"])
    assert capsys.readouterr().out == (
        "NOT YET: ECA kernel size psi(C): your code raised NotImplementedError "
        "(in kernel_size: return the odd kernel size k = psi(C) of Eq. 13)" + NOT_YET_END)
    assert not check_eca_forward(namespace["MyECA"])
    assert capsys.readouterr().out == (
        "NOT YET: ECA forward pass: your code raised NotImplementedError "
        "(in kernel_size, called by MyECA.__init__: return the odd kernel size k = psi(C) of Eq. 13)" + NOT_YET_END)
    namespace["kernel_size"] = nearest_odd_psi  # psi(C) written: now the forward stub is the unfinished part
    assert not check_eca_forward(namespace["MyECA"])
    assert capsys.readouterr().out == (
        "NOT YET: ECA forward pass: your code raised NotImplementedError "
        "(in MyECA.forward: pool, convolve along the channels, sigmoid, scale x)" + NOT_YET_END)


@pytest.mark.parametrize("message, kwargs", [
    ("Learner(1) has 2 parameters, expected exactly k = psi(1) = 1 (one Conv1d(1, 1, k, bias=False)): "
     "the 1-D convolution must have bias=False", dict(bias=True)),
    ("Learner(1) has 3 parameters, expected exactly k = psi(1) = 1 (one Conv1d(1, 1, k, bias=False))",
     dict(k_fn=lambda c: 3)),
    ("Learner(256) has 3 parameters, expected exactly k = psi(256) = 5 (one Conv1d(1, 1, k, bias=False))",
     dict(k_fn=lambda c: 1 if c == 1 else 3)),
])
def test_forward_wrong_parameter_count(message, kwargs, capsys):
    verdict, out = run(check_eca_forward, make_eca(forward=dance, **kwargs), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == f"FAILED: ECA forward pass\n  while checking: the parameter count for C = 1, 8, 64, 256, 2048\n  {message}\n"


def no_sigmoid(self, x):
    return x * self.gate_logits(x.mean(dim=(2, 3)))[:, :, None, None]


def max_pool(self, x):
    return x * torch.sigmoid(self.gate_logits(x.amax(dim=(2, 3))))[:, :, None, None]


def flipped(self, x):
    w = self.conv.weight.flip(-1)
    y = nn.functional.conv1d(x.mean(dim=(2, 3)).unsqueeze(1), w, padding=w.shape[-1] // 2)
    return x * torch.sigmoid(y).squeeze(1)[:, :, None, None]


def replicate(self, x):
    k = self.conv.weight.shape[-1]
    y = nn.functional.pad(x.mean(dim=(2, 3)).unsqueeze(1), (k // 2, k // 2), mode="replicate")
    return x * torch.sigmoid(nn.functional.conv1d(y, self.conv.weight)).squeeze(1)[:, :, None, None]


NUMBER = r"-?\d+(\.\d+)?(e[-+]\d+)?"


@pytest.mark.parametrize("forward, cause", [
    (no_sigmoid, "the gate has no sigmoid: apply torch.sigmoid to the convolution's output"),
    (max_pool, "the descriptor is the max over H and W; ECA squeezes with the mean (global average pooling)"),
    (flipped, "the kernel is flipped (this is a true convolution); use nn.Conv1d, which correlates"),
    (replicate, "the channels are not padded with zeros at both ends: use padding=k // 2 (padding='same')"),
])
def test_forward_names_the_likely_cause(forward, cause, capsys):
    verdict, out = run(check_eca_forward, make_eca(forward=forward), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    expected = (
        "FAILED: ECA forward pass\n"
        "  while checking: the output for an input of shape (2, 64, 5, 7)\n"
        "  the output differs at position (0, 0, 0, 0): yours {n}, expected {n} (largest difference {n}, tolerance 1e-05)\n"
        "  likely cause: {cause}\n"
    )
    pattern = re.escape(expected).replace(re.escape("{n}"), NUMBER).replace(re.escape("{cause}"), re.escape(cause))
    assert re.fullmatch(pattern, out), out


def test_forward_verdicts_repeat_exactly(capsys):
    """The reference weights are seeded: running a checker twice prints the same verdict, numbers included."""
    first = run(check_eca_forward, make_eca(forward=no_sigmoid), capsys)[1]
    torch.manual_seed(12345)  # whatever the learner's global random state
    assert run(check_eca_forward, make_eca(forward=no_sigmoid), capsys)[1] == first


def test_forward_returning_the_gate(capsys):
    def gate_only(self, x):
        return torch.sigmoid(self.gate_logits(x.mean(dim=(2, 3))))[:, :, None, None]
    verdict, out = run(check_eca_forward, make_eca(forward=gate_only), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("FAILED: ECA forward pass\n  while checking: the output for an input of shape (2, 64, 5, 7)\n"
                   "  the output has shape (2, 64, 1, 1): that is the gate; return x * gate, shaped like x (2, 64, 5, 7)\n")


def test_forward_squeeze_without_dim_fails_on_a_batch_of_one(capsys):
    def squeeze_all(self, x):
        y = nn.functional.adaptive_avg_pool2d(x, 1).squeeze()          # (N, C), but (C,) when N = 1
        return x * torch.sigmoid(self.conv(y.unsqueeze(1))).squeeze(1)[:, :, None, None]
    verdict, out = run(check_eca_forward, make_eca(forward=squeeze_all), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert "while checking: the output for an input of shape (1, 64, 4, 4)" in out


def test_forward_convolving_across_the_batch(capsys):
    def across_batch(self, x):
        n, c = x.shape[:2]
        y = self.conv(x.mean(dim=(2, 3)).reshape(1, 1, n * c)).reshape(n, c)  # edge channels see the next image
        return x * torch.sigmoid(y)[:, :, None, None]
    verdict, out = run(check_eca_forward, make_eca(forward=across_batch), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("FAILED: ECA forward pass\n  while checking: that each image of a batch is gated on its own\n"
                   "  the output for image 0 changed when only image 1 changed: the 1-D convolution must run along "
                   "the channels of each image, shaped (N, 1, C), not across the batch\n")


def test_forward_changing_its_input_in_place(capsys):
    def in_place(self, x):
        return x.mul_(torch.sigmoid(self.gate_logits(x.mean(dim=(2, 3))))[:, :, None, None])
    verdict, out = run(check_eca_forward, make_eca(forward=in_place), capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert out == ("FAILED: ECA forward pass\n  while checking: the output for an input of shape (2, 64, 5, 7)\n"
                   "  your forward changed its input x in place; return a new tensor x * gate\n")


def test_forward_rejects_non_class():
    with pytest.raises(TypeError, match="cls must be a class \\(an nn.Module subclass\\), got function"):
        check_eca_forward(lambda c: None)


def test_forward_rejects_a_non_module(capsys):
    class NotAModule:
        def __init__(self, channels):
            pass
    verdict, out = run(check_eca_forward, NotAModule, capsys)
    assert verdict == False  # noqa: E712 (a Verdict)
    assert "NotAModule(1) is a NotAModule, expected an nn.Module subclass" in out
