"""The costs appendix's checker: the notebook's stub gets NOT YET naming it, each mistake its exact hint.

(The checker's broader behaviour is tested in tests/test_cost.py.)"""
from __future__ import annotations

from attn_src.checks.costs import check_se_flops


def se_flops(n, c, h, w, reduction, bias):
    p, hidden = n * c * h * w, c // reduction
    return 2 * p + 4 * n * c * hidden + n * hidden + n * c + ((n * hidden + n * c) if bias else 0)


def test_the_notebooks_stub_is_not_yet_and_named(capsys):
    def stub(n, c, h, w, reduction, bias):  # the exercise-stub cell of book/appendix_costs.ipynb
        raise NotImplementedError("se_flops: return the FLOPs of SE's forward pass as a formula")

    assert check_se_flops(stub) == False  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == (
        "NOT YET: SE FLOPs in closed form: your code raised NotImplementedError (se_flops: return the FLOPs of "
        "SE's forward pass as a formula). Fill in the exercise, then run this cell again.\n")


def test_a_right_answer_passes_with_one_line(capsys):
    assert check_se_flops(se_flops) == True  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == "PASSED: SE FLOPs in closed form (6 checks)\n"


def test_a_true_division_hidden_width_is_named(capsys):
    def true_division(n, c, h, w, reduction, bias):
        p, hidden = n * c * h * w, c / reduction
        return int(2 * p + 4 * n * c * hidden + n * hidden + n * c + ((n * hidden + n * c) if bias else 0))

    assert check_se_flops(true_division) == False  # noqa: E712 (a Verdict)
    out = capsys.readouterr().out
    assert out.startswith("FAILED: SE FLOPs in closed form\n"
                          "  while checking: FLOPs for (N, C, H, W, r, bias) = (2, 30, 4, 4, 4, True)\n"
                          "  for N=2, C=30, H=4, W=4, r=4, bias=True yours is 3,870, count_ops counts 3,748 "
                          "(difference -122).\n"
                          "  Hint: the hidden width is C // r (integer division), not C / r.\n")


def test_bias_adds_without_biases_are_named(capsys):
    def always_biased(n, c, h, w, reduction, bias):
        return se_flops(n, c, h, w, reduction, True)

    assert check_se_flops(always_biased) == False  # noqa: E712 (a Verdict)
    assert "  Hint: this SE has no biases (bias=False): there are no bias adds.\n" in capsys.readouterr().out
