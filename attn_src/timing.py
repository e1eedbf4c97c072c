"""``benchmark``: measured time of a module, in seconds and in copies of its input.

A FLOP count says nothing about the time a module spends reading and writing
memory, and an attention module is mostly that: it reads its input to pool it,
then reads it again and writes a gated copy. So :func:`benchmark` times the
module *and* ``x.clone()`` (one read and one write of the input, the cheapest
thing that touches all of it) in the same call, and reports the ratio
``copies = median / copy_median``: the "attention tax" in units of a copy.
The two are timed in alternating short blocks, which keeps the ratio steady on a
machine whose load changes while it runs. :func:`benchmark_many` times several modules
together in the same way, so that their ratios (speed-ups) are steady too.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from ._validate import check_bool, check_choice, check_int, check_positive_number

__all__ = ["CLOCKS", "Timing", "benchmark", "benchmark_many", "keep_freed_memory"]


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
    """Time ``module(x)`` and ``x.clone()``, interleaved.

    The two statements run in alternating short blocks (each about :data:`BLOCK_SECONDS` long),
    so both see the same machine: a load that comes and goes slows both alike and the ratio
    ``copies`` stays put. Each block gives one time per call; ``median`` and ``copy_median``
    are the medians over all blocks. To compare modules, time them together with
    :func:`benchmark_many`.

    Args:
        module: the module to time, in the mode (train/eval) it is in.
        x: its input.
        backward: time forward + backward (the gradient with respect to ``x`` and every
            parameter, for an output gradient of ones) instead of an inference forward
            under ``torch.no_grad()``.
        repeats: at least this many blocks of each statement.
        min_run_time: and at least this many seconds in all.
        num_threads: torch threads while timing (default 1: on a shared or oversubscribed CPU,
            several threads can make a copy 100x slower).
        clock: ``"wall"`` (elapsed time, waiting for an accelerator to finish: what latency means) or
            ``"cpu"`` (CPU time of this thread, :func:`time.thread_time`: time spent waiting for
            other processes is left out, so it is steadier on a busy machine; CPU tensors and
            ``num_threads=1`` only).

    Returns:
        a :class:`Timing` with ``median`` and ``copy_median`` in seconds per call, and their ratio ``copies``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return _interleaved([module], x, backward, repeats, min_run_time, num_threads, clock)[0]


def benchmark_many(
    modules: Sequence[nn.Module],
    x: torch.Tensor,
    backward: bool = False,
    *,
    repeats: int = 20,
    min_run_time: float = 0.2,
    num_threads: int = 1,
    clock: str = "wall",
) -> list[Timing]:
    """:func:`benchmark` for several modules on the same input, all timed together.

    Each cycle runs one block of every module, starting with a different one each cycle, and one
    block of ``x.clone()``. Timed one after the other, two modules see different moments of a busy
    machine, and their ratio scatters by 10-20% on a shared CPU; timed together, both see the same
    moments, and the ratio of their medians (a speed-up) is what differs in the modules. The
    arguments are those of :func:`benchmark`; ``min_run_time`` is per module.

    Returns:
        a :class:`Timing` per module, in the order given, all sharing one ``copy_median``.
    """
    if not isinstance(modules, (list, tuple)) or not modules:
        raise TypeError(f"modules must be a non-empty list or tuple of torch.nn.Module, got {modules!r:.80}")
    for i, module in enumerate(modules):
        if not isinstance(module, nn.Module):
            raise TypeError(f"modules[{i}] must be a torch.nn.Module, got {type(module).__name__}")
    return _interleaved(list(modules), x, backward, repeats, min_run_time * len(modules), num_threads, clock)


def _interleaved(modules: list[nn.Module], x: torch.Tensor, backward: bool, repeats: int,
                 min_run_time: float, num_threads: int, clock: str) -> list[Timing]:
    """Check the shared arguments, then time the modules and the copy in turns (see :func:`benchmark_many`)."""
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
    clock_fn = time.thread_time if clock == "cpu" else time.perf_counter

    x = x.detach()
    copy_timer = _Timer(x.clone, x.device, clock_fn)
    timers = [_Timer(_call(module, x, backward), x.device, clock_fn) for module in modules]
    threads = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        numbers = [_calls_per_block(t) for t in timers]
        copy_number = _calls_per_block(copy_timer)
        times: list[list[float]] = [[] for _ in modules]
        copy_times: list[float] = []
        start = time.perf_counter()
        while len(copy_times) < repeats or time.perf_counter() - start < min_run_time:
            first = len(copy_times) % len(modules)
            for i in [*range(first, len(modules)), *range(first)]:
                times[i].append(timers[i].timeit(numbers[i]))
            copy_times.append(copy_timer.timeit(copy_number))
    finally:
        torch.set_num_threads(threads)
    copy_median = statistics.median(copy_times)
    return [
        Timing(median=statistics.median(ts), copy_median=copy_median, backward=backward, shape=tuple(x.shape),
               times=tuple(ts), copy_times=tuple(copy_times), clock=clock)
        for ts in times
    ]


def _call(module: nn.Module, x: torch.Tensor, backward: bool) -> Callable[[], object]:
    """``module(x)`` under ``torch.no_grad()``, or its forward + backward (gradients for ``x`` and
    every parameter, for an output gradient of ones)."""
    if backward:
        xg = x.clone().requires_grad_(True)
        inputs = [xg, *(p for p in module.parameters() if p.requires_grad)]
        with torch.no_grad():
            grad = torch.ones_like(module(x))
        return lambda: torch.autograd.grad(module(xg), inputs, grad)

    def forward():
        with torch.no_grad():
            return module(x)
    return forward


class _Timer:
    """Seconds per call of ``fn()``, over a block of calls (the garbage collector off, as ``timeit``
    does; on an accelerator, waiting for it to finish). Plain Python: ``torch.utils.benchmark`` probes
    for a CUDA toolkit on import and warns where a CUDA build of torch runs without one (Colab's CPU
    runtime)."""

    def __init__(self, fn: Callable[[], object], device: torch.device, clock: Callable[[], float]) -> None:
        self.fn, self.clock = fn, clock
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def timeit(self, number: int) -> float:
        enabled = gc.isenabled()
        gc.disable()
        try:
            self.sync()
            start = self.clock()
            for _ in range(number):
                self.fn()
            self.sync()
            return (self.clock() - start) / number
        finally:
            if enabled:
                gc.enable()


#: Target length of one timed block, in seconds.
BLOCK_SECONDS = 0.002


def _calls_per_block(timer: _Timer) -> int:
    """Warm up, then the number of calls that fills about :data:`BLOCK_SECONDS` (at least 1)."""
    timer.timeit(1)
    per_call = timer.timeit(1)
    return max(1, min(1000, round(BLOCK_SECONDS / max(per_call, 1e-9))))


def keep_freed_memory() -> str:
    """Ask glibc's ``malloc`` to keep freed blocks of up to 32 MB, and say what was done.

    By default ``malloc`` hands large freed blocks back to the kernel and takes fresh pages on the
    next allocation, each page costing a page fault; when it does so depends on the order of earlier
    allocations, not on the module timed, so the same forward + backward can measure 50% apart. Kept,
    only the module's own work is timed. Elsewhere than glibc (macOS, Windows) nothing changes.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return "default malloc (mallopt not available on this system)"
    m_trim_threshold, m_mmap_threshold = -1, -3   # glibc's <malloc.h>
    if mallopt(m_mmap_threshold, 32 * 2**20) != 1 or mallopt(m_trim_threshold, 2**31 - 1) != 1:
        return "default malloc (mallopt refused the settings)"
    return "malloc keeps freed blocks up to 32 MB"
