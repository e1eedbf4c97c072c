"""``benchmark``: measured time of a module, in seconds and in copies of its input.

A FLOP count says nothing about the time a module spends reading and writing
memory, and an attention module is mostly that: it reads its input to pool it,
then reads it again and writes a gated copy. So :func:`benchmark` times the
module *and* ``x.clone()`` (one read and one write of the input, the cheapest
thing that touches all of it) in the same call, and reports the ratio
``copies = median / copy_median``: the "attention tax" in units of a copy.
Interleaving the two timings makes the ratio robust to a machine whose load
changes while it runs.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils import benchmark as tbench

from ._validate import check_bool, check_int, check_positive_number

__all__ = ["Timing", "benchmark"]


@dataclass(frozen=True)
class Timing:
    """Result of :func:`benchmark`: medians in seconds over every timed block, and their ratio."""

    median: float
    copy_median: float
    backward: bool
    shape: tuple[int, ...]
    times: tuple[float, ...] = field(repr=False)
    copy_times: tuple[float, ...] = field(repr=False)

    @property
    def copies(self) -> float:
        """``median / copy_median``: the module's time in units of one copy of its input."""
        return self.median / self.copy_median

    def __repr__(self) -> str:
        what = "forward+backward" if self.backward else "forward"
        return (f"Timing({what} on {tuple(self.shape)}: median {self.median * 1e3:.3g} ms, "
                f"copy {self.copy_median * 1e3:.3g} ms, {self.copies:.2f} copies)")


def benchmark(
    module: nn.Module,
    x: torch.Tensor,
    backward: bool = False,
    *,
    repeats: int = 3,
    min_run_time: float = 0.1,
    num_threads: int = 1,
) -> Timing:
    """Time ``module(x)`` and ``x.clone()`` with :class:`torch.utils.benchmark.Timer`.

    Args:
        module: the module to time, in the mode (train/eval) it is in.
        x: its input.
        backward: time forward + backward (the gradient with respect to ``x`` and every
            parameter, for an output gradient of ones) instead of an inference forward
            under ``torch.no_grad()``.
        repeats: rounds; each round runs ``blocked_autorange`` on the module, then on the copy.
        min_run_time: seconds each ``blocked_autorange`` runs at least.
        num_threads: torch threads while timing (default 1, torch.utils.benchmark's default: on a
            shared or oversubscribed CPU, several threads can make a copy 100x slower).

    Returns:
        a :class:`Timing` whose ``median`` and ``copy_median`` are medians over every block
        of every round (seconds per call), and ``copies`` their ratio.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    check_bool("backward", backward)
    repeats = check_int("repeats", repeats)
    min_run_time = check_positive_number("min_run_time", min_run_time)
    num_threads = check_int("num_threads", num_threads)

    x = x.detach()
    copy_timer = tbench.Timer("x.clone()", globals={"x": x}, num_threads=num_threads)
    if backward:
        xg = x.clone().requires_grad_(True)
        inputs = [xg, *(p for p in module.parameters() if p.requires_grad)]
        with torch.no_grad():
            grad = torch.ones_like(module(x))
        timer = tbench.Timer(
            "torch.autograd.grad(module(xg), inputs, grad)",
            globals={"torch": torch, "module": module, "xg": xg, "inputs": inputs, "grad": grad},
            num_threads=num_threads,
        )
    else:
        timer = tbench.Timer(
            "with torch.no_grad(): module(x)",
            globals={"torch": torch, "module": module, "x": x},
            num_threads=num_threads,
        )
    times, copy_times = [], []
    for _ in range(repeats):
        times.extend(timer.blocked_autorange(min_run_time=min_run_time).times)
        copy_times.extend(copy_timer.blocked_autorange(min_run_time=min_run_time).times)
    return Timing(
        median=statistics.median(times),
        copy_median=statistics.median(copy_times),
        backward=backward,
        shape=tuple(x.shape),
        times=tuple(times),
        copy_times=tuple(copy_times),
    )
