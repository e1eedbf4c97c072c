"""``benchmark``: measured time of a module, in seconds and in copies of its input.

A FLOP count says nothing about the time a module spends reading and writing
memory, and an attention module is mostly that: it reads its input to pool it,
then reads it again and writes a gated copy. So :func:`benchmark` times the
module *and* ``x.clone()`` (one read and one write of the input, the cheapest
thing that touches all of it) in the same call, and reports the ratio
``copies = median / copy_median``: the "attention tax" in units of a copy.
The two are timed in alternating short blocks, which keeps the ratio steady on a
machine whose load changes while it runs.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils import benchmark as tbench

from ._validate import check_bool, check_choice, check_int, check_positive_number

__all__ = ["CLOCKS", "Timing", "benchmark"]


@dataclass(frozen=True)
class Timing:
    """Result of :func:`benchmark`: medians in seconds over every timed block, and their ratio."""

    median: float
    copy_median: float
    backward: bool
    shape: tuple[int, ...]
    times: tuple[float, ...] = field(repr=False)
    copy_times: tuple[float, ...] = field(repr=False)
    clock: str = "wall"

    @property
    def copies(self) -> float:
        """``median / copy_median``: the module's time in units of one copy of its input."""
        return self.median / self.copy_median

    def __repr__(self) -> str:
        what = "forward+backward" if self.backward else "forward"
        return (f"Timing({what} on {tuple(self.shape)}: median {self.median * 1e3:.3g} ms, "
                f"copy {self.copy_median * 1e3:.3g} ms, {self.copies:.2f} copies, {self.clock} clock)")


CLOCKS = ("wall", "cpu")


def benchmark(
    module: nn.Module,
    x: torch.Tensor,
    backward: bool = False,
    *,
    repeats: int = 20,
    min_run_time: float = 0.2,
    num_threads: int = 1,
    clock: str = "wall",
) -> Timing:
    """Time ``module(x)`` and ``x.clone()`` with :class:`torch.utils.benchmark.Timer`, interleaved.

    The two statements run in alternating short blocks (each about :data:`BLOCK_SECONDS` long),
    so both see the same machine: a load that comes and goes slows both alike and the ratio
    ``copies`` stays put. Each block gives one time per call; ``median`` and ``copy_median``
    are the medians over all blocks.

    Args:
        module: the module to time, in the mode (train/eval) it is in.
        x: its input.
        backward: time forward + backward (the gradient with respect to ``x`` and every
            parameter, for an output gradient of ones) instead of an inference forward
            under ``torch.no_grad()``.
        repeats: at least this many blocks of each statement.
        min_run_time: and at least this many seconds in all.
        num_threads: torch threads while timing (default 1, torch.utils.benchmark's default: on a
            shared or oversubscribed CPU, several threads can make a copy 100x slower).
        clock: ``"wall"`` (elapsed time, waiting for an accelerator to finish: what latency means) or
            ``"cpu"`` (CPU time of this thread, :func:`time.thread_time`: time spent waiting for
            other processes is left out, so it is steadier on a busy machine; CPU tensors and
            ``num_threads=1`` only).

    Returns:
        a :class:`Timing` with ``median`` and ``copy_median`` in seconds per call, and their ratio ``copies``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    check_bool("backward", backward)
    repeats = check_int("repeats", repeats)
    min_run_time = check_positive_number("min_run_time", min_run_time)
    num_threads = check_int("num_threads", num_threads)
    check_choice("clock", clock, CLOCKS)
    if clock == "cpu" and (num_threads != 1 or x.device.type != "cpu"):
        raise ValueError(
            f"clock='cpu' measures the calling thread only: it needs num_threads=1 and a CPU tensor, "
            f"got num_threads={num_threads} and a tensor on {x.device.type}")
    # "wall": torch.utils.benchmark's own timer, which also waits for a GPU to finish.
    clock_kwargs = {"timer": time.thread_time} if clock == "cpu" else {}

    x = x.detach()
    copy_timer = tbench.Timer("x.clone()", globals={"x": x}, num_threads=num_threads, **clock_kwargs)
    if backward:
        xg = x.clone().requires_grad_(True)
        inputs = [xg, *(p for p in module.parameters() if p.requires_grad)]
        with torch.no_grad():
            grad = torch.ones_like(module(x))
        timer = tbench.Timer(
            "torch.autograd.grad(module(xg), inputs, grad)",
            globals={"torch": torch, "module": module, "xg": xg, "inputs": inputs, "grad": grad},
            num_threads=num_threads, **clock_kwargs,
        )
    else:
        timer = tbench.Timer(
            "with torch.no_grad(): module(x)",
            globals={"torch": torch, "module": module, "x": x},
            num_threads=num_threads, **clock_kwargs,
        )
    numbers = [_calls_per_block(t) for t in (timer, copy_timer)]
    times, copy_times = [], []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_run_time:
        times.append(timer.timeit(numbers[0]).median)
        copy_times.append(copy_timer.timeit(numbers[1]).median)
    return Timing(
        median=statistics.median(times),
        copy_median=statistics.median(copy_times),
        backward=backward,
        shape=tuple(x.shape),
        times=tuple(times),
        copy_times=tuple(copy_times),
        clock=clock,
    )


#: Target length of one timed block, in seconds.
BLOCK_SECONDS = 0.002


def _calls_per_block(timer: tbench.Timer) -> int:
    """Warm up, then the number of calls that fills about :data:`BLOCK_SECONDS` (at least 1)."""
    timer.timeit(1)
    per_call = timer.timeit(1).median
    return max(1, min(1000, round(BLOCK_SECONDS / max(per_call, 1e-9))))
