"""The machinery every exercise checker shares: run a list of checks, print one clear verdict.

A checker is a function that takes the learner's class or function, builds a list of
``(description, check)`` pairs and hands it to :func:`run_checks`. Each ``check`` either
returns quietly or raises :class:`CheckFailure` with a message meant for the learner
(helpers below write the common ones). The verdict is printed, one line (or a few for a
failure), and returned as a :class:`Verdict`, true when passed:

- ``PASSED: <title> (N checks)`` when every check passes;
- ``NOT YET: ...`` when the learner's code raises ``NotImplementedError`` (the exercise stub),
  so a student notebook runs to the end before any exercise is done;
- ``FAILED: <title>`` with the failing check's description and message otherwise.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn


class CheckFailure(AssertionError):
    """A learner-facing explanation of what is wrong."""


class Verdict(int):
    """A checker's verdict, equal to ``True`` when every check passed and to ``False`` otherwise.

    A notebook shows nothing for it: the checker has already printed the verdict in words, and a
    stray ``True`` or ``False`` under that line would only say it again.
    """

    def __new__(cls, passed: bool) -> "Verdict":
        return super().__new__(cls, bool(passed))

    def __repr__(self) -> str:
        return repr(bool(self))

    def _ipython_display_(self) -> None:
        """Display nothing (IPython calls this instead of showing the repr)."""


def run_checks(title: str, checks: Sequence[tuple[str, Callable[[], None]]]) -> Verdict:
    """Run ``checks`` in order, stop at the first failure, print the verdict and return it."""
    for description, check in checks:
        try:
            check()
        except NotImplementedError as err:
            print(f"NOT YET: {title}: your code raised NotImplementedError ({err}). Fill in the exercise, then run this cell again.")
            return Verdict(False)
        except CheckFailure as err:
            print(f"FAILED: {title}\n  while checking: {description}\n  {err}")
            return Verdict(False)
        except Exception as err:  # the learner's code crashed: say where, without a wall of traceback
            print(f"FAILED: {title}\n  while checking: {description}\n  your code raised {type(err).__name__}: {err}")
            return Verdict(False)
    print(f"PASSED: {title} ({len(checks)} checks)")
    return Verdict(True)


def expect_shape(what: str, got: torch.Tensor, expected: tuple[int, ...]) -> None:
    """Fail unless ``got`` is a tensor of shape ``expected``."""
    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"{what} should be a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(expected):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {tuple(expected)}")


def expect_close(what: str, got: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5) -> None:
    """Fail unless ``got`` matches ``expected`` element-wise; name the first position that differs."""
    expect_shape(what, got, tuple(expected.shape))
    diff = (got.detach().double() - expected.detach().double()).abs()
    if not bool((diff <= atol).all()):
        pos = tuple(int(i) for i in torch.nonzero(diff > atol)[0])
        raise CheckFailure(
            f"{what} differs at position {pos}: yours {got[pos].item():.6g}, expected {expected[pos].item():.6g} "
            f"(largest difference {diff.max().item():.3g}, tolerance {atol:g})"
        )


def expect_in_unit_interval(what: str, gate: torch.Tensor) -> None:
    """Fail unless every value of ``gate`` lies strictly between 0 and 1 (a sigmoid's range)."""
    lo, hi = gate.min().item(), gate.max().item()
    if not (lo > 0 and hi < 1):
        raise CheckFailure(f"{what} should lie in (0, 1) (a sigmoid's output), but ranges over [{lo:.4g}, {hi:.4g}]")


def expect_param_count(what: str, module: nn.Module, expected: int, formula: str) -> None:
    """Fail unless ``module`` has exactly ``expected`` parameters."""
    got = sum(p.numel() for p in module.parameters())
    if got != expected:
        raise CheckFailure(f"{what} has {got} parameters, expected {expected} = {formula}")
