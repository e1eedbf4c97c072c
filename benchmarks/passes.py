"""Where CA's and CBAM's forward time goes: each full-size pass over the input, timed alone, in copies.

    bash scripts/run.sh python benchmarks/passes.py --threads 1                    # 8x256x56x56
    bash scripts/run.sh python benchmarks/passes.py --threads 1 --shape 32 256 28 28

Without gradients, the fast CA and CBAM (``attn_src.fast``) make several passes over a tensor of the input's size
(CA: two means and two multiplies; CBAM: four poolings and two multiplies). This script times each
pass on its own, the same operation on a tensor of that size, together with the module taken whole
(every pass over the whole batch before the next, the default) and in blocks of images: all
interleaved, in the rounds of ``bench_modules.py``, in copies of ``x``, beside the plain module
(``attn_src.CoordAttention``, ``attn_src.CBAM``: the papers' equations, pass after pass).

- The **sum of the passes** is what the module costs when every pass streams its tensor from memory,
  plus nothing: taken whole, the module costs that and its small operations (gate MLPs, convolutions
  on pooled maps, concatenations).
- Taken **in blocks**, a module goes below that sum only where the cache keeps a block between one
  pass and the next (``attn_src/fast/ops.py``, ``pooled`` and ``gated``).

Compare a pass with a copy: ``x.clone()`` reads ``x`` and writes a new tensor, as an out-of-place
multiply does; an in-place multiply reads and writes the same memory, and a reduction only reads.
The multiplies use gates of ones: an in-place pass repeated thousands of times by gates below one
would drive its tensor into subnormal numbers, which CPUs multiply many times more slowly.
"""
from __future__ import annotations

import argparse
import copy
import pathlib
import sys
from typing import Callable

import torch
from torch import nn

from attn_src import CBAM, CoordAttention
from attn_src.fast import block_bytes, convert
from attn_src.fast.ops import CACHE_BLOCK, channel_mean, coordinate_pool, max_pool, mean_pool

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_modules import HEADLINE, keep_freed_memory, middle, paired  # noqa: E402  (benchmarks/ is not a package)

class InOrder(nn.Module):
    """``function(x)`` (an operation or a module) with ``block_bytes(nbytes)``, timed as a module.

    A single pass is timed with ``nbytes=None``: over the whole batch, as a plain implementation runs it.
    """

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor], nbytes: int | None) -> None:
        super().__init__()
        self.function, self.nbytes = function, nbytes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with block_bytes(self.nbytes):
            return self.function(x)


def ca_passes(x: torch.Tensor) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The fast CA's full-size passes, as ``FastCoordAttention.forward`` makes them (Eqs. 4-5 and 9)."""
    n, c, h, w = x.shape
    g_h, g_w, product = x.new_ones(n, c, h, 1), x.new_ones(n, c, 1, w), x.clone()
    return {
        "[z^h, z^w]: coordinate_pool": coordinate_pool,  # two means, or one product on small maps
        "x * g^h (new tensor)": lambda x: x * g_h,
        "* g^w (in place)": lambda x: product.mul_(g_w),
    }


def ca_pooling(x: torch.Tensor) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The two means inside ``coordinate_pool`` on maps where it takes means (H + W > 20), each alone."""
    return {"of which z^h: mean over W": lambda x: mean_pool(x, dim=3),
            "of which z^w: mean over H": lambda x: mean_pool(x, dim=2)}


def cbam_passes(x: torch.Tensor) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The fast CBAM's full-size passes, as ``FastCBAM.forward`` makes them (Eqs. 1-3)."""
    n, c, h, w = x.shape
    channel_gate, spatial_gate, product = x.new_ones(n, c, 1, 1), x.new_ones(n, 1, h, w), x.clone()
    return {
        "M_c: mean over H, W": lambda x: mean_pool(x.flatten(2), dim=2),
        "M_c: max over H, W": lambda x: max_pool(x.flatten(2), dim=2),
        "F' = x * M_c (new tensor)": lambda x: x * channel_gate,
        "M_s: mean over C": channel_mean,
        "M_s: max over C": lambda x: max_pool(x, dim=1, keepdim=True),
        "F'' = F' * M_s (in place)": lambda x: product.mul_(spatial_gate),
    }


def table(name: str, module: nn.Module, passes: dict, parts: dict, x: torch.Tensor, threads: int,
          min_run_time: float) -> list[tuple[str, float]]:
    """Rows (label, copies) for one plain module: the fast twin's passes, their sum, the fast module in
    both orders, and the plain module."""
    fast = convert(copy.deepcopy(module))
    timed = [InOrder(f, None) for f in (*passes.values(), *parts.values())]
    timed += [InOrder(fast, None), InOrder(fast, CACHE_BLOCK), module]
    with torch.no_grad():
        runs = paired(timed, x, False, threads, min_run_time)
    copies = [middle([t.copies for t in run]) for run in runs]
    labels = [*passes, *(f"  {label}" for label in parts)]  # the parts indented under the pass they make up
    rows = list(zip(labels, copies))
    rows.append(("sum of the passes", sum(copies[:len(passes)])))
    rows.append((f"Fast{name}, whole batch", copies[-3]))
    rows.append((f"Fast{name}, blocks of {CACHE_BLOCK} bytes", copies[-2]))
    rows.append((f"{name} (plain)", copies[-1]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=4, metavar=("N", "C", "H", "W"), default=HEADLINE,
                        help=f"input shape (default {' '.join(map(str, HEADLINE))})")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: all)")
    parser.add_argument("--min-run-time", type=float, default=0.1, help="seconds each measurement runs at least")
    parser.add_argument("--default-malloc", action="store_true", help="leave glibc malloc's thresholds alone")
    args = parser.parse_args(argv)
    allocator = "default malloc" if args.default_malloc else keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, c, h, w = args.shape
    x = torch.randn(n, c, h, w)
    ca_parts = ca_pooling(x) if h + w > 20 else {}
    rows = [("CA", table("CoordAttention", CoordAttention(c).eval(), ca_passes(x), ca_parts, x, args.threads,
                         args.min_run_time)),
            ("CBAM", table("CBAM", CBAM(c).eval(), cbam_passes(x), {}, x, args.threads, args.min_run_time))]
    print(f"torch {torch.__version__}, {args.threads} thread(s), float32, {allocator}, input "
          f"{'x'.join(map(str, args.shape))}; copies = time / time of x.clone(), middle of 3 rounds")
    width = max(len(label) for _, module_rows in rows for label, _ in module_rows)
    for name, module_rows in rows:
        print(f"\n{name:{width}s}  copies")
        for label, copies in module_rows:
            print(f"{label:{width}s}  {copies:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
