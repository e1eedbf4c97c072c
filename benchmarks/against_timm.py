"""Check the timm-style baseline against timm itself: the same outputs, the same time.

timm needs torchvision, which does not import beside this project's torch 2.13.0, so this runs in a
venv of its own (a CUDA build of torch, about 5.5 GB; it runs on the CPU):

    python -m venv /tmp/timm-venv
    /tmp/timm-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 timm==1.0.31 -e .
    /tmp/timm-venv/bin/python benchmarks/against_timm.py

For each module and shape it builds timm's module with the configuration and weights of the
timm-style one (``timm_style.from_blog``), prints the largest difference of their outputs, and times
both (forward, and forward + backward) as ``bench_modules.py`` does: copies of the middle round, and
``timm / style``, near 1 where the baseline costs what timm costs.
"""
from __future__ import annotations

import pathlib
import sys

import torch
from torch import nn

from attn_src.blog import BlogCA, BlogCBAM, BlogECA, BlogSE

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_modules import keep_freed_memory, middle, paired  # noqa: E402  (benchmarks/ is not a package)
from timm_style import from_blog  # noqa: E402

SHAPES = [(8, 256, 56, 56), (1, 512, 7, 7), (32, 256, 28, 28)]


def timm_module(blog: nn.Module) -> tuple[nn.Module, nn.Module]:
    """timm's module and the timm-style one, both with the blog module's configuration and weights."""
    from timm.layers.cbam import CbamModule
    from timm.layers.coord_attn import CoordAttn
    from timm.layers.eca import EcaModule
    from timm.layers.squeeze_excite import SEModule

    style = from_blog(blog)
    weights = style.state_dict()
    if isinstance(blog, BlogSE):
        timm = SEModule(style.fc1.in_channels, rd_channels=style.fc1.out_channels, bias=False)
    elif isinstance(blog, BlogECA):
        timm = EcaModule(kernel_size=style.conv.kernel_size[0])
    elif isinstance(blog, BlogCBAM):
        timm = CbamModule(style.fc1.in_channels, rd_channels=style.fc1.out_channels,
                          spatial_kernel_size=style.conv.kernel_size[0])
        timm.spatial.conv.bn = nn.Identity()  # the blog configuration has no BatchNorm after the k x k conv
        weights = {"channel.fc1.weight": style.fc1.weight, "channel.fc2.weight": style.fc2.weight,
                   "spatial.conv.conv.weight": style.conv.weight}
    else:
        timm = CoordAttn(style.conv1.in_channels, rd_channels=style.conv1.out_channels, bias=False,
                         act_layer=nn.ReLU)
    timm.load_state_dict(weights)
    return timm, style


def main() -> int:
    import timm

    allocator = keep_freed_memory()
    torch.set_num_threads(1)
    print(f"timm {timm.__version__}, torch {torch.__version__}, 1 thread, {allocator}")
    for shape in SHAPES:
        for cls in (BlogSE, BlogECA, BlogCBAM, BlogCA):
            torch.manual_seed(0)
            theirs, style = timm_module(cls(shape[1]).eval())
            x = torch.randn(shape)
            with torch.no_grad():
                diff = (theirs.eval()(x) - style.eval()(x)).abs().max().item()
            cells = []
            for label, backward in (("fwd", False), ("f+b", True)):
                runs = paired([theirs.train(backward), style.train(backward)], x, backward, 1, 0.1)
                copies = [middle([t.copies for t in run]) for run in runs]
                ratio = middle([t.copies / s.copies for t, s in zip(*runs)])
                cells.append(f"{label}: timm {copies[0]:.2f}, style {copies[1]:.2f}, timm / style {ratio:.2f}")
            print(f"{cls.__name__[4:]:>4} {'x'.join(map(str, shape)):>12}: max |diff| {diff:.1e} | " + " | ".join(cells),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
