"""Speed and memory of attn_src's four modules against the blog-style reference implementations.

    bash scripts/run.sh python benchmarks/bench_modules.py --threads 1            # the full table
    bash scripts/run.sh python benchmarks/bench_modules.py --threads 1 --quick    # the headline shape only
    bash scripts/run.sh python benchmarks/bench_modules.py --threads 1 --compile  # + torch.compile columns

For every module and shape it prints, from one run:

- ``counted``: the forward's memory traffic in copies, as ``attn_src.count_ops`` counts it (the
  floor an implementation that streams every operand once would reach);
- ``fwd ms`` / ``fwd copies``: median forward time (no grad, eval mode) and the same in units of
  one ``x.clone()`` measured in the same call (the memory-traffic yardstick);
- ``ref copies`` / ``fwd x``: the reference's forward in copies, and our speed-up over it (ratio of
  copies, so both are normalised by the copy measured beside them). The references are
  ``attn_src.blog``: the listings' choices written the plain way (adaptive pooling layers,
  ``max`` with indices, ``expand_as``, one new tensor per step);
- ``f+b copies`` / ``f+b x``: the same for forward + backward (training mode, gradients for the
  input and every parameter);
- ``peak MB`` / ``ref peak MB``: extra memory a forward + backward allocates at its peak (from the
  profiler's allocation events), ours and the reference's;
- with ``--compile``: ``compiled fwd`` / ``compiled f+b``, our module under ``torch.compile`` (inductor
  generates C++ for the CPU and fuses the passes over ``x``), in copies.

Both implementations get the same weights (``attn_src.blog.to_attn_src``) and the script checks that
they compute the same output (1e-5) before timing them. Each pair is timed in alternating rounds, on a
fresh copy of the input each round, and each module keeps its middle round.

**Memory allocator.** glibc's ``malloc`` returns large freed blocks to the kernel and takes them back
on the next allocation, and each page it takes back costs a page fault (about 10 ms for one 25 MB
tensor here). When it does so depends on the order of earlier allocations, not on the module: the same
forward + backward measured twice differed by 50%. So by default the script tells ``malloc`` (through
``mallopt``) to keep what it frees, for blocks up to 32 MB; then only the module's own work is timed.
``--default-malloc`` measures with the default behaviour instead.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import sys

import torch
from torch import nn

from attn_src import benchmark, count_ops
from attn_src.blog import BlogCA, BlogCBAM, BlogECA, BlogSE, to_attn_src
from attn_src.timing import Timing

REFERENCES = {"SE": BlogSE, "ECA": BlogECA, "CA": BlogCA, "CBAM": BlogCBAM}
HEADLINE = (8, 256, 56, 56)
SHAPES = [HEADLINE, (1, 64, 112, 112), (32, 64, 112, 112), (1, 512, 7, 7), (32, 512, 7, 7), (32, 256, 28, 28)]


def keep_freed_memory() -> str:
    """Ask glibc's malloc to keep freed blocks of up to 32 MB (no page faults in steady state)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return "default malloc (mallopt not available on this system)"
    m_trim_threshold, m_mmap_threshold = -1, -3   # glibc's <malloc.h>
    if mallopt(m_mmap_threshold, 32 * 2**20) != 1 or mallopt(m_trim_threshold, 2**31 - 1) != 1:
        return "default malloc (mallopt refused the settings)"
    return "malloc keeps freed blocks up to 32 MB"


def peak_extra_memory(module: nn.Module, x: torch.Tensor) -> float:
    """Peak bytes allocated beyond ``x`` during one forward + backward, in MB."""
    x = x.detach().requires_grad_()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        module(x).sum().backward()
    current = peak = 0
    events = sorted((e for e in prof.events() if e.cpu_memory_usage), key=lambda e: e.time_range.start)
    for event in events:
        current += event.cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


def paired(modules: list[nn.Module], x: torch.Tensor, backward: bool, threads: int,
           min_run_time: float, rounds: int = 3) -> list[Timing]:
    """Time the modules in alternating rounds and keep each one's middle round (by copies).

    Whichever runs first in a process is slowed by the memory it is the first to touch, and where a
    tensor lands in memory changes how it shares the caches; alternating the order and taking a fresh
    copy of ``x`` every round spreads both effects over all the modules.
    """
    runs: list[list[Timing]] = [[] for _ in modules]
    order = list(range(len(modules)))
    for i in range(rounds):
        fresh = x.clone()
        for j in order if i % 2 == 0 else order[::-1]:
            runs[j].append(benchmark(modules[j], fresh, backward=backward, num_threads=threads,
                                     min_run_time=min_run_time, repeats=5))
    return [sorted(r, key=lambda t: t.copies)[rounds // 2] for r in runs]


def row(name: str, shape: tuple[int, ...], threads: int, min_run_time: float, compile_: bool) -> dict:
    torch.manual_seed(0)
    reference = REFERENCES[name](shape[1])
    ours = to_attn_src(reference)
    x = torch.randn(shape)
    with torch.no_grad():
        diff = (ours.eval()(x) - reference.eval()(x)).abs().max().item()
    if diff > 1e-5:
        raise AssertionError(f"{name} at {shape}: outputs differ by {diff:.3g}")
    counted = count_ops(ours.eval(), x).copies
    fwd, fwd_ref = paired([ours.eval(), reference.eval()], x, False, threads, min_run_time)
    bwd, bwd_ref = paired([ours.train(), reference.train()], x, True, threads, min_run_time)
    result = {
        "module": name,
        "shape": "x".join(map(str, shape)),
        "counted": counted,
        "fwd ms": fwd.median * 1e3,
        "fwd copies": fwd.copies,
        "ref copies": fwd_ref.copies,
        "fwd x": fwd_ref.copies / fwd.copies,
        "f+b copies": bwd.copies,
        "ref f+b": bwd_ref.copies,
        "f+b x": bwd_ref.copies / bwd.copies,
        "peak MB": peak_extra_memory(ours.train(), x),
        "ref peak MB": peak_extra_memory(reference.train(), x),
    }
    if compile_:
        compiled = torch.compile(ours, dynamic=False)  # one shape per row: no symbolic shapes
        with torch.no_grad():
            diff = (compiled.eval()(x) - ours.eval()(x)).abs().max().item()
        if diff > 1e-5:
            raise AssertionError(f"compiled {name} at {shape}: outputs differ by {diff:.3g}")
        result["compiled fwd"] = paired([compiled.eval()], x, False, threads, min_run_time)[0].copies
        result["compiled f+b"] = paired([compiled.train()], x, True, threads, min_run_time)[0].copies
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only the headline shape {HEADLINE}")
    parser.add_argument("--shape", type=int, nargs=4, metavar=("N", "C", "H", "W"), help="only this shape")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: all)")
    parser.add_argument("--min-run-time", type=float, default=0.1, help="seconds each measurement runs at least")
    parser.add_argument("--compile", action="store_true", help="add torch.compile columns (minutes more)")
    parser.add_argument("--default-malloc", action="store_true", help="leave glibc malloc's thresholds alone")
    args = parser.parse_args(argv)
    import pandas as pd

    allocator = "default malloc" if args.default_malloc else keep_freed_memory()
    shapes = [tuple(args.shape)] if args.shape else [HEADLINE] if args.quick else SHAPES
    rows = []
    for shape in shapes:
        for name in REFERENCES:
            rows.append(row(name, shape, args.threads, args.min_run_time, args.compile))
            print(f"  {name} {shape} done", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    print(f"torch {torch.__version__}, {args.threads} thread(s), float32, {allocator}; "
          "copies = time / time of x.clone(); x = speed-up over the reference")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    slower = table[(table["fwd x"] < 1) | (table["f+b x"] < 1)]
    if len(slower):
        print("\nslower than the reference somewhere:\n" + slower[["module", "shape", "fwd x", "f+b x"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
