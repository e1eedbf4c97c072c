"""Checker for the costs appendix's implementation exercise: SE's FLOPs in closed form.

>>> from attn_src.checks.costs import check_se_flops
>>> check_se_flops(my_se_flops)        # doctest: +SKIP
PASSED: SE FLOPs in closed form (6 checks)
"""
from __future__ import annotations

import numbers
from typing import Callable

import torch

from ..opcount import count_ops
from ..se import SE
from ._core import CheckFailure, Verdict, run_checks

__all__ = ["check_se_flops"]

# (N, C, H, W, reduction, bias): the first is the chapter's, the others vary every term.
SETTINGS = (
    (1, 64, 8, 8, 16, True),
    (2, 32, 5, 7, 4, False),
    (4, 16, 1, 1, 2, True),
    (3, 48, 6, 3, 16, False),
    (2, 30, 4, 4, 4, True),
)


def _hint(n: int, c: int, h: int, w: int, reduction: int, bias: bool, got: int, expected: int) -> str:
    """Name the term a wrong count most likely gets wrong."""
    p, hid = n * c * h * w, max(1, c // reduction)
    missing = expected - got
    hints = {
        p: "one full-size pass is missing: the mean over H, W and the final x * gate each cost "
           "1 FLOP per element of x (P = N C H W)",
        2 * p: "both full-size passes are missing: the mean over H, W (P) and the scale x * gate (P)",
        2 * n * c * hid: "count 2 FLOPs per multiply-add in each linear layer (you seem to count 1)",
        n * hid + n * c: ("the bias adds of the two linear layers (N r' + N C) are missing"
                          if bias else "the ReLU (N r') and the sigmoid (N C) are missing"),
        n * hid: "the ReLU on the hidden layer (1 FLOP per element, N r') is missing" if not bias else
                 "the ReLU (N r') or the first layer's bias add (N r') is missing",
        n * c: "the sigmoid (N C) is missing" if not bias else "the sigmoid (N C) or the second layer's bias add (N C) is missing",
        -(n * hid + n * c): "this SE has no biases (bias=False): there are no bias adds",
    }
    if missing in hints:
        return hints[missing]
    if c % reduction and got == _count_with_hidden(n, c, h, w, c / reduction, bias):
        return "the hidden width is C // r (integer division), not C / r"
    return "compare your terms with the table above, op by op"


def _count_with_hidden(n, c, h, w, hid, bias):
    p = n * c * h * w
    return 2 * p + 4 * n * c * hid + n * hid + n * c + ((n * hid + n * c) if bias else 0)


def check_se_flops(fn: Callable[..., int]) -> Verdict:
    """Check ``fn(n, c, h, w, reduction, bias)`` against :func:`attn_src.count_ops` on ``SE(c, reduction, bias)``.

    The reference is the complete count of the module's own forward, under the convention of
    :mod:`attn_src.opcount`; on a mismatch the verdict shows the op-by-op count and a hint.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function (n, c, h, w, reduction, bias) -> int, got {type(fn).__name__}")

    def returns_an_int() -> None:
        got = fn(*SETTINGS[0])
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            raise CheckFailure(f"se_flops should return an int, got {got!r} ({type(got).__name__})")

    def matches(setting) -> Callable[[], None]:
        def check() -> None:
            n, c, h, w, reduction, bias = setting
            counted = count_ops(SE(c, reduction, bias=bias).eval(), torch.zeros(n, c, h, w))
            got = fn(*setting)
            if got != counted.flops:
                table = counted.by_op()[["calls", "flops"]].to_string()
                raise CheckFailure(
                    f"for N={n}, C={c}, H={h}, W={w}, r={reduction}, bias={bias} yours is {got:,}, "
                    f"count_ops counts {counted.flops:,} (difference {counted.flops - got:+,}).\n"
                    f"  Hint: {_hint(n, c, h, w, reduction, bias, got, counted.flops)}.\n"
                    f"  count_ops, op by op:\n    " + table.replace("\n", "\n    "))
        return check

    checks = [("it returns an int", returns_an_int)]
    checks += [(f"FLOPs for (N, C, H, W, r, bias) = {s}", matches(s)) for s in SETTINGS]
    return run_checks("SE FLOPs in closed form", checks)
