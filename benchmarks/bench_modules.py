"""Speed and memory of the four modules, four ways: attn_src's plain and fast modules, the blog's, timm's.

    bash scripts/run.sh python benchmarks/bench_modules.py --threads 1            # both tables, every shape
    bash scripts/run.sh python benchmarks/bench_modules.py --threads 1 --quick    # the headline shape only
    bash scripts/run.sh python benchmarks/bench_modules.py --threads 1 --compile  # + torch.compile columns
    bash scripts/run.sh python benchmarks/bench_modules.py --quick --block-bytes 1099511627776  # no blocks

For every module and shape it prints two tables from one run, forward (no grad, eval mode) and
forward + backward (training mode, gradients for the input and every parameter):

- ``counted`` / ``counted fast``: the forward's memory traffic in copies, as ``attn_src.count_ops``
  counts it for the plain module and for the fast one (the floor an implementation that streams every
  operand from memory once would reach; with ``--block-bytes``, the fast CA and CBAM take a block of images at a time
  so that later passes find it in cache, can go below it);
- ``fwd plain`` / ``fwd fast`` / ``fwd blog`` / ``fwd timm`` (and ``f+b ...``): each implementation's
  time in units of one ``x.clone()`` measured in the same call (the memory-traffic yardstick).
  ``plain`` is ``attn_src.SE``, ``CBAM``, ... (the papers' equations in plain torch), ``fast`` their
  twins from ``attn_src.fast``; the ``blog`` baseline is ``attn_src.blog``: the blog listings' choices
  written the plain way (adaptive pooling layers, ``max`` with indices, ``expand_as``, one new tensor
  per step). The ``timm`` baseline is ``timm_style.py`` here: timm's choices of operations
  (``mean``/``amax`` with ``keepdim``, 1x1 convs for the MLPs, one out-of-place multiply per gate);
- ``... plain x timm``, ``... fast x timm``, ``... fast x blog``: speed-ups (the baseline's time over
  ours, each normalised by the copy measured beside it, in the same round);
- ``peak MB ...``: extra memory a forward + backward allocates at its peak (from the profiler's
  allocation events), for each implementation;
- with ``--compile``: ``fwd compiled`` / ``f+b compiled``, the plain module under ``torch.compile``
  (inductor generates C++ for the CPU and fuses the passes over ``x``), in copies.

All four implementations get the same weights (``attn_src.blog.to_attn_src``, ``attn_src.fast.convert``,
``timm_style.from_blog``) and the script checks that they compute the same output (1e-5) before
timing them. They are timed in three rounds on a fresh copy of the input each round; within a round
the four take turns, a short block of calls each, with a block of ``x.clone()`` after every turn
(``attn_src.benchmark_many``), so that all see the same moments of a busy machine. Every number is
the middle round's, and a speed-up compares two implementations within each round.

**Memory allocator.** glibc's ``malloc`` returns large freed blocks to the kernel and takes them back
on the next allocation, and each page it takes back costs a page fault (about 10 ms for one 25 MB
tensor here). When it does so depends on the order of earlier allocations, not on the module: the same
forward + backward measured twice differed by 50%. So by default the script tells ``malloc`` (through
``mallopt``) to keep what it frees, for blocks up to 32 MB; then only the module's own work is timed.
``--default-malloc`` measures with the default behaviour instead.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import pathlib
import sys

import torch
from torch import nn

from attn_src import benchmark_many, count_ops, keep_freed_memory
from attn_src.fast import block_bytes, convert
from attn_src.fast.ops import CACHE_BLOCK
from attn_src.blog import BlogCA, BlogCBAM, BlogECA, BlogSE, to_attn_src
from attn_src.timing import Timing

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timm_style import from_blog  # noqa: E402  (benchmarks/ is not a package)

REFERENCES = {"SE": BlogSE, "ECA": BlogECA, "CA": BlogCA, "CBAM": BlogCBAM}
#: The four implementations of each module, in the order ``row`` times them.
IMPLEMENTATIONS = ("plain", "fast", "blog", "timm")
#: The speed-ups the tables show: (ours, baseline).
SPEEDUPS = (("plain", "timm"), ("fast", "timm"), ("fast", "blog"))
#: Rounds of alternating measurements per module, shape and pass.
ROUNDS = 3
HEADLINE = (8, 256, 56, 56)
SHAPES = [HEADLINE, (1, 64, 112, 112), (32, 64, 112, 112), (1, 512, 7, 7), (32, 512, 7, 7), (32, 256, 28, 28)]


@contextlib.contextmanager
def native_stderr_silenced():
    """Send what C++ code writes to stderr to /dev/null: the profiler prints two lines per use."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_extra_memory(module: nn.Module, x: torch.Tensor) -> float:
    """Peak bytes allocated beyond ``x`` during one forward + backward, in MB."""
    x = x.detach().requires_grad_()
    with native_stderr_silenced(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                                          profile_memory=True) as prof:
        module(x).sum().backward()
    current = peak = 0
    events = sorted((e for e in prof.events() if e.cpu_memory_usage), key=lambda e: e.time_range.start)
    for event in events:
        current += event.cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


def paired(modules: list[nn.Module], x: torch.Tensor, backward: bool, threads: int,
           min_run_time: float, rounds: int = ROUNDS) -> list[list[Timing]]:
    """Time the modules together (``benchmark_many``) in several rounds: for each module, its timing in every round.

    Within a round the modules take turns block by block, so a speed-up compares them on the same
    moments of the machine. Whichever runs first in a process is slowed by the memory it is the first
    to touch, and where a tensor lands in memory changes how it shares the caches; each round starts
    from a fresh copy of ``x``, with the modules in the opposite order to the round before.
    """
    runs: list[list[Timing]] = [[] for _ in modules]
    for i in range(rounds):
        order = list(range(len(modules))) if i % 2 == 0 else list(range(len(modules)))[::-1]
        timings = benchmark_many([modules[j] for j in order], x.clone(), backward=backward, num_threads=threads,
                                 min_run_time=min_run_time, repeats=5)
        for j, timing in zip(order, timings):
            runs[j].append(timing)
    return runs


def middle(values: list[float]) -> float:
    """The middle value (of an odd count: the rounds)."""
    return sorted(values)[len(values) // 2]


def row(name: str, shape: tuple[int, ...], threads: int, min_run_time: float, compile_: bool) -> dict:
    """One module at one shape: the tables' columns, and each speed-up's ``range`` over the rounds."""
    torch.manual_seed(0)
    blog = REFERENCES[name](shape[1])
    plain, timm = to_attn_src(blog), from_blog(blog)
    fast = convert(copy.deepcopy(plain))
    x = torch.randn(shape)
    with torch.no_grad():
        expected = blog.eval()(x)
        for label, module in (("plain", plain), ("fast", fast), ("timm-style", timm)):
            diff = (module.eval()(x) - expected).abs().max().item()
            if diff > 1e-5:
                raise AssertionError(f"{label} {name} at {shape}: outputs differ from the blog's by {diff:.3g}")
    modules = [plain, fast, blog, timm]
    fwd = paired([m.eval() for m in modules], x, False, threads, min_run_time)
    bwd = paired([m.train() for m in modules], x, True, threads, min_run_time)
    peak = [peak_extra_memory(m.train(), x) for m in modules]
    result = {"module": name, "shape": "x".join(map(str, shape)),
              "counted": count_ops(plain.eval(), x).copies, "counted fast": count_ops(fast.eval(), x).copies}
    for label, runs in (("fwd", fwd), ("f+b", bwd)):
        copies = dict(zip(IMPLEMENTATIONS, runs))
        for implementation, timings in copies.items():
            result[f"{label} {implementation}"] = middle([t.copies for t in timings])
        for ours, baseline in SPEEDUPS:
            # both in the same round, on the same fresh input
            speedups = [t.copies / o.copies for t, o in zip(copies[baseline], copies[ours])]
            result[f"{label} {ours} x {baseline}"] = middle(speedups)
            result[f"{label} {ours} x {baseline} range"] = f"{min(speedups):.2f}-{max(speedups):.2f}"
    for implementation, megabytes in zip(IMPLEMENTATIONS, peak):
        result[f"peak MB {implementation}"] = megabytes
    if compile_:
        # Dynamo caches compiled code per function, across instances, and falls back to eager after
        # 8 recompilations: each row starts from an empty cache so that it really measures compiled code.
        torch._dynamo.reset()
        compiled = torch.compile(plain, dynamic=False)  # one shape per row: no symbolic shapes
        with torch.no_grad():
            diff = (compiled.eval()(x) - plain.eval()(x)).abs().max().item()
        if diff > 1e-5:
            raise AssertionError(f"compiled {name} at {shape}: outputs differ by {diff:.3g}")
        result["fwd compiled"] = middle([t.copies for t in paired([compiled.eval()], x, False, threads,
                                                                  min_run_time)[0]])
        result["f+b compiled"] = middle([t.copies for t in paired([compiled.train()], x, True, threads,
                                                                  min_run_time)[0]])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only the headline shape {HEADLINE}")
    parser.add_argument("--shape", type=int, nargs=4, metavar=("N", "C", "H", "W"), help="only this shape")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: all)")
    parser.add_argument("--min-run-time", type=float, default=0.1, help="seconds each measurement runs at least")
    parser.add_argument("--compile", action="store_true", help="add torch.compile columns (minutes more)")
    parser.add_argument("--default-malloc", action="store_true", help="leave glibc malloc's thresholds alone")
    parser.add_argument("--block-bytes", type=int, default=None,
                        help=f"bytes of input the fast CA and CBAM take at a time without autograd (default: the "
                             f"batch whole; {CACHE_BLOCK} suits a CPU whose cache keeps a block between passes)")
    args = parser.parse_args(argv)
    import pandas as pd

    allocator = "default malloc" if args.default_malloc else keep_freed_memory()
    # the timers run with this many threads; outside them too, so compiled code sees one setting
    torch.set_num_threads(args.threads)
    shapes = [tuple(args.shape)] if args.shape else [HEADLINE] if args.quick else SHAPES
    rows = []
    with block_bytes(args.block_bytes):
        for shape in shapes:
            for name in REFERENCES:
                rows.append(row(name, shape, args.threads, args.min_run_time, args.compile))
                print(f"  {name} {shape} done", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).set_index(["module", "shape"])
    blocks = "the batch whole" if args.block_bytes is None else f"blocks of {args.block_bytes} bytes"
    print(f"torch {torch.__version__}, {args.threads} thread(s), float32, {allocator}, fast CA and CBAM take "
          f"{blocks}; copies = time / time of x.clone(); a x b = speed-up of a over b (the "
          f"time of b over the time of a, in the same round)")
    for title, prefix in (("forward (eval, no grad)", "fwd"), ("forward + backward (train)", "f+b")):
        columns = [c for c in table.columns if c.startswith(prefix) and not c.endswith("range")]
        if prefix == "fwd":
            columns = ["counted", "counted fast", *columns]
        else:
            columns += [c for c in table.columns if c.startswith("peak")]
        print(f"\n{title}\n" + table[columns].to_string(sparsify=False, float_format=lambda v: f"{v:.2f}"))
    speedups = [c for c in table.columns if " x " in c and not c.endswith("range")]
    slower = table[(table[speedups] < 1).any(axis=1)]
    if len(slower):
        # a baseline is faster for sure only where even the highest round is below 1
        spread = pd.DataFrame({c: slower[c].map("{:.2f}".format) + " (" + slower[f"{c} range"] + ")"
                               for c in speedups})
        print(f"\nspeed-up below 1 somewhere (middle round, and lowest-highest of the {ROUNDS} rounds):\n"
              + spread.to_string(sparsify=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
