"""Speed and memory of attn_src's four modules against the blog-style reference implementations.

    bash scripts/run.sh python benchmarks/bench_modules.py            # the full table
    bash scripts/run.sh python benchmarks/bench_modules.py --quick    # the headline shape only

For every module and shape it prints, from one run:

- ``fwd ms`` / ``fwd copies``: median forward time (no grad, eval mode) and the same in units of
  one ``x.clone()`` measured in the same call (the memory-traffic yardstick);
- ``fwd x``: speed-up over the reference (ratio of copies, so both are normalised by the
  copy measured beside them) (``attn_src.blog``: the listings' choices written the
  plain way: adaptive pooling layers, ``max`` with indices, ``expand_as``, one multiply per gate);
- ``f+b ms`` / ``f+b x``: the same for forward + backward (training mode);
- ``peak MB`` / ``ref peak MB``: extra memory the forward + backward allocates at its peak
  (from the profiler's allocation events), ours and the reference's.

Both implementations get the same weights (``attn_src.blog.to_attn_src``) and the script checks
that they compute the same output before timing them.
"""
from __future__ import annotations

import argparse
import sys

import torch
from torch import nn

from attn_src import benchmark
from attn_src.timing import Timing
from attn_src.blog import BlogCA, BlogCBAM, BlogECA, BlogSE, to_attn_src

REFERENCES = {"SE": BlogSE, "ECA": BlogECA, "CA": BlogCA, "CBAM": BlogCBAM}
HEADLINE = (8, 256, 56, 56)
SHAPES = [HEADLINE, (1, 64, 112, 112), (32, 64, 112, 112), (1, 512, 7, 7), (32, 512, 7, 7), (32, 256, 28, 28)]


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


def paired(ours: nn.Module, reference: nn.Module, x: torch.Tensor, backward: bool, threads: int,
           min_run_time: float, rounds: int = 3) -> tuple[Timing, Timing]:
    """Time both in alternating rounds and keep each one's middle round (by copies).

    Whichever runs first in a process is slowed by the memory it is the first to touch, so a
    single ours-then-reference pair is biased; alternating rounds cancel the order effect.
    """
    ours_runs, reference_runs = [], []
    for i in range(rounds):
        pair = [(ours, ours_runs), (reference, reference_runs)]
        for module, runs in pair if i % 2 == 0 else pair[::-1]:
            runs.append(benchmark(module, x, backward=backward, num_threads=threads, min_run_time=min_run_time, repeats=5))
    return tuple(sorted(runs, key=lambda t: t.copies)[rounds // 2] for runs in (ours_runs, reference_runs))


def row(name: str, shape: tuple[int, ...], threads: int, min_run_time: float) -> dict:
    torch.manual_seed(0)
    reference = REFERENCES[name](shape[1])
    ours = to_attn_src(reference)
    x = torch.randn(shape)
    with torch.no_grad():
        diff = (ours.eval()(x) - reference.eval()(x)).abs().max().item()
    if diff > 1e-5:
        raise AssertionError(f"{name} at {shape}: outputs differ by {diff:.3g}")
    fwd, fwd_ref = paired(ours.eval(), reference.eval(), x, False, threads, min_run_time)
    bwd, bwd_ref = paired(ours.train(), reference.train(), x, True, threads, min_run_time)
    return {
        "module": name,
        "shape": "x".join(map(str, shape)),
        "fwd ms": fwd.median * 1e3,
        "fwd copies": fwd.copies,
        "ref copies": fwd_ref.copies,
        "fwd x": fwd_ref.copies / fwd.copies,
        "f+b ms": bwd.median * 1e3,
        "f+b x": bwd_ref.copies / bwd.copies,
        "peak MB": peak_extra_memory(ours.train(), x),
        "ref peak MB": peak_extra_memory(reference.train(), x),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only the headline shape {HEADLINE}")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: all)")
    parser.add_argument("--min-run-time", type=float, default=0.1, help="seconds each measurement runs at least")
    args = parser.parse_args(argv)
    import pandas as pd

    shapes = [HEADLINE] if args.quick else SHAPES
    rows = [row(name, shape, args.threads, args.min_run_time) for shape in shapes for name in REFERENCES]
    table = pd.DataFrame(rows)
    print(f"torch {torch.__version__}, {args.threads} thread(s), float32; copies = time / time of x.clone()")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    slower = table[(table["fwd x"] < 1) | (table["f+b x"] < 1)]
    if len(slower):
        print("\nslower than the reference somewhere:\n" + slower.to_string(index=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
