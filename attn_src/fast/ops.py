"""The operations of the fast modules (:mod:`attn_src.fast`), each chosen for speed on real hardware.

Each gives the values of the plain expression (``x.mean``, ``x.amax``, ``y * gate``); they
differ in how much memory they touch, forward and backward, which is what an attention
module's time is made of (see the chapter "Making attention fast" and ``benchmarks/``).

:func:`pooled` and :func:`gated` can also choose *when* memory is touched. A module that passes over
its input several times (CA's two means, then two multiplies; CBAM's four poolings and two
multiplies) reads it from main memory each time when the input is larger than the cache. Inside
``with block_bytes(CACHE_BLOCK):``, without autograd, they take the batch a block of images at a
time (:func:`batch_blocks`): the first pass over a block brings it into the cache and the next passes
find it there, on a CPU whose cache keeps what a core has read once. Whether it does differs between
CPUs (an AMD EPYC's did; the Intel Xeons this project measured on do not, and blocks cost them time:
``benchmarks/README.md``, and the chapter measures it on the machine that runs it), so blocks are off
by default. They are a rule for a CPU's cache: on any other device the batch is always taken whole.
"""
from __future__ import annotations

import contextlib
import math
from functools import lru_cache, partial
from typing import Callable, Iterator, Union

import torch
from torch.utils._python_dispatch import _disable_current_modes

from .._validate import check_4d, check_int


def _tracked(*tensors: torch.Tensor) -> bool:
    """Whether autograd records an operation on ``tensors`` (so their backward will run)."""
    if torch.is_grad_enabled():
        for t in tensors:  # a loop rather than any(...): this runs on every call, and costs 1/3 as much
            if t.requires_grad:
                return True
    return False


def mean_pool(x: torch.Tensor, dim: int | tuple[int, ...], keepdim: bool = False) -> torch.Tensor:
    """Mean of ``x`` over ``dim``: ``x.mean(dim, keepdim)``, or with gradients a sum divided by the count.

    Without gradients, ``x.mean`` is one operation. With gradients the two routes differ in their
    backward: ``mean``'s divides the broadcast gradient by the count, which writes a full-size
    tensor, while a sum's backward is a broadcast view and the division happens on the small pooled
    result. In forward + backward that saves one full-size write per pooling (SE: about 1.4x faster).
    """
    if not _tracked(x):
        return x.mean(dim, keepdim)
    count = x.shape[dim] if isinstance(dim, int) else math.prod(x.shape[d] for d in dim)
    return x.sum(dim, keepdim) / count


#: Smallest ``H * W`` at which :func:`channel_mean` takes the mean as a matrix product.
PRODUCT_MEAN_MIN_AREA = 1024


def channel_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` (N, C, H, W) over its channels, shaped (N, 1, H, W).

    The channels of one position lie ``H W`` floats apart, and torch's CPU ``mean`` over such a
    strided dimension is slow on large maps: 0.8 copies of ``x`` at 8x256x56x56. Without gradients,
    on maps of :data:`PRODUCT_MEAN_MIN_AREA` positions or more, the mean is taken as a
    ``(1 x C) @ (C x HW)`` matrix-vector product, which streams ``x`` in 0.5; on smaller maps the
    product's set-up (a dozen small operations) costs more than it saves (at 1x512x7x7, 4.3 copies
    against the mean's 2.4), so the mean is taken as it is. With gradients the product's backward
    would write a full-size tensor, so the mean is a sum divided by ``C`` (see :func:`mean_pool`),
    whose backward is a broadcast view.
    """
    n, c, h, w = x.shape
    if _tracked(x):
        return mean_pool(x, dim=1, keepdim=True)
    if h * w < PRODUCT_MEAN_MIN_AREA:
        return x.mean(1, keepdim=True)
    return torch.matmul(x.new_full((1, c), 1.0 / c), x.reshape(n, c, h * w)).view(n, 1, h, w)


#: Stages of :func:`max_pool`'s maximum across a non-innermost dimension (see there).
GROUPS = 8


def max_pool(x: torch.Tensor, dim: int, keepdim: bool = False) -> torch.Tensor:
    """Maximum of ``x`` over ``dim``: ``x.amax(dim, keepdim)``, by the cheaper route for the situation.

    Without gradients, ``amax`` is the fastest: it computes no indices. With gradients,
    ``max`` with indices wins: its backward scatters the gradient to the remembered
    positions, while ``amax``'s backward must find them again with full-size comparisons
    (several times the time and memory; see the benchmarks).

    Across a dimension that is not the innermost (CBAM's maximum over channels), torch's CPU
    ``amax`` is slow when the rows it compares are short: 1.4 copies of ``x`` at 56x56 maps and
    10 at 7x7. Taking the maximum of :data:`GROUPS` interleaved groups first (one pass over
    ``x`` with long contiguous rows, leaving 1/8 of it) and then over what is left costs 0.6
    and 1.8 copies; the result is the same maximum.
    """
    if _tracked(x):
        return x.max(dim, keepdim).values
    dim = dim % x.dim()
    size = x.shape[dim]
    if dim < x.dim() - 1 and size > GROUPS and size % GROUPS == 0:
        return x.unflatten(dim, (GROUPS, size // GROUPS)).amax(dim).amax(dim, keepdim)
    return x.amax(dim, keepdim)


def rescale(y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``y * gate`` for a ``y`` the caller has just computed and will not use again.

    Without gradients the product is written into ``y``'s own buffer: a new full-size buffer
    costs about as much as a copy of it. With gradients, autograd needs the old ``y`` to
    differentiate with respect to ``gate``, so the product goes to a new buffer as usual.
    """
    if _tracked(y, gate):
        return y * gate
    return y.mul_(gate)


#: Bytes of input that :func:`pooled` and :func:`gated` take at a time (at least one image), or
#: ``None``, the default: the batch whole. Set it with :func:`block_bytes`.
BLOCK_BYTES: int | None = None

#: A block for a CPU whose cache keeps a block between passes: with the block of output written
#: beside it, well inside the last-level cache of a current CPU.
CACHE_BLOCK = 4 * 2**20


@contextlib.contextmanager
def block_bytes(nbytes: int | None) -> Iterator[None]:
    """Within the ``with`` block, :func:`pooled` and :func:`gated` take ``nbytes`` of input at a time.

    ``block_bytes(CACHE_BLOCK)`` for a CPU whose cache keeps a block between passes,
    ``block_bytes(1)`` one image at a time, ``block_bytes(None)`` the batch whole (the default).
    Restores :data:`BLOCK_BYTES` on the way out.
    """
    global BLOCK_BYTES
    if nbytes is not None:
        nbytes = check_int("nbytes", nbytes)
    saved, BLOCK_BYTES = BLOCK_BYTES, nbytes
    try:
        yield
    finally:
        BLOCK_BYTES = saved


def images_per_block(image_bytes: int) -> int | None:
    """How many images of ``image_bytes`` bytes make one block (at least one); ``None`` without blocks."""
    return None if BLOCK_BYTES is None else max(1, BLOCK_BYTES // max(1, image_bytes))


def _compiling() -> bool:
    """Whether ``torch.compile`` is tracing this code."""
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    if is_compiling is None:  # torch < 2.3
        from torch._dynamo import is_compiling
    return bool(is_compiling())


def batch_blocks(x: torch.Tensor) -> list[slice]:
    """Slices of ``x``'s first (batch) dimension, of :func:`images_per_block` images each.

    Under ``torch.compile``, one slice for the whole batch: the compiler plans the passes itself,
    and a loop over blocks would be unrolled into a graph that grows with the batch.
    """
    n = x.shape[0]
    step = images_per_block(x.nbytes // n) if n else 1
    if step is None or step >= n or _compiling():
        return [slice(0, n)] if n else []
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _blocks(x: torch.Tensor) -> list[slice]:
    """The blocks :func:`pooled` and :func:`gated` take ``x`` in: none (take it whole) with autograd
    on, which differentiates the whole-batch operations, without a block size (the default), where
    the batch is a single block, or off the CPU (a GPU has no cache a block could stay in between two
    kernels)."""
    if BLOCK_BYTES is None or torch.is_grad_enabled() or x.shape[0] < 2 or x.device.type != "cpu":
        return []
    blocks = batch_blocks(x)
    return blocks if len(blocks) > 1 else []


def pooled(x: torch.Tensor, *pools: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """``tuple(pool(x) for pool in pools)``, with autograd off computed a block of images at a time.

    One after the other, each pooling would stream the whole of ``x`` from memory. Block by block
    (:func:`batch_blocks`), the first pooling reads a block from memory and the others find it in
    the cache; the pooled blocks are then concatenated (small tensors). Each ``pool`` must treat
    the images of a batch independently, as a reduction over the other dimensions does.
    """
    blocks = _blocks(x)
    if not blocks:
        return tuple([pool(x) for pool in pools])
    per_block = [[pool(x[b]) for pool in pools] for b in blocks]
    return tuple(torch.cat(parts) for parts in zip(*per_block))


Gate = Union[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


def gated(x: torch.Tensor, *gates: Gate) -> torch.Tensor:
    """``x * g1 * g2 * ...`` in a new tensor, where a gate is a tensor (batch first, broadcast
    against ``x``) or a function of the product so far (CBAM's spatial gate, a function of F').

    With autograd off, each block of images (:func:`batch_blocks`) is multiplied by every gate
    before the next block is touched: the first multiply reads the block of ``x`` from memory and
    writes it into the output, and the next multiplies, and a gate computed from the product, find
    that block in the cache. A function gate must treat the images of a batch independently.
    With autograd on, or where the batch is a single block, the products are taken over the whole
    batch: the first into a new tensor, the next ones with :func:`rescale` (in place where autograd
    does not need the old values).
    """
    if not gates:
        raise ValueError("gated needs at least one gate, got none")
    blocks = _blocks(x)
    if not blocks:
        y = x
        for i, gate in enumerate(gates):
            g = gate(y) if callable(gate) else gate
            y = y * g if i == 0 else rescale(y, g)
        return y
    out = torch.empty_like(x)
    for b in blocks:
        source, block = x[b], out[b]
        for gate in gates:
            g = gate(source) if callable(gate) else gate[b] if gate.shape[0] > 1 else gate
            torch.mul(source, g, out=block)
            source = block
    return out


#: Largest ``H + W`` that :func:`coordinate_pool` pools with one matrix product (see there).
PRODUCT_POOL_MAX = 20


def pooling_matrix(h: int, w: int, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The ``(H W) x (H + W)`` matrix ``P`` with ``x.flatten(2) @ P == [z^h, z^w]`` (CA's Eqs. 4-5).

    Both poolings are linear in ``x``. Position (i, j) is row ``i W + j`` of ``P``; it holds ``1/W``
    in column ``i`` (it is one of the W terms of ``z^h(i)``) and ``1/H`` in column ``H + j`` (one of
    the H terms of ``z^w(j)``): ``P = [I_H kron 1_W / W, 1_H kron I_W / H]``.
    """
    h, w = check_int("h", h), check_int("w", w)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    eye_h, eye_w = torch.eye(h, dtype=dtype, device=device), torch.eye(w, dtype=dtype, device=device)
    ones_h, ones_w = torch.ones(h, 1, dtype=dtype, device=device), torch.ones(w, 1, dtype=dtype, device=device)
    return torch.cat([torch.kron(eye_h, ones_w) / w, torch.kron(ones_h, eye_w) / h], dim=1)


@lru_cache(maxsize=32)
def _shared_pooling_matrix(h: int, w: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """:func:`pooling_matrix`, built once per size. Built outside any inference mode, so a backward
    may save it, and outside any dispatch mode, so that op counters see the same forward every call."""
    with torch.inference_mode(False), torch.no_grad(), _disable_current_modes():
        return pooling_matrix(h, w, dtype, device)


def coordinate_pool(x: torch.Tensor) -> torch.Tensor:
    """``[z^h, z^w]`` of CA's Eqs. 4-5 side by side, shaped (N, C, H + W): the means of ``x``
    (N, C, H, W) over its width, then over its height.

    On small maps (``H + W <=`` :data:`PRODUCT_POOL_MAX`) the two means are one matrix product,
    ``x.flatten(2) @ P`` (:func:`pooling_matrix`): one operation instead of two reductions and a
    concatenation, and a backward that returns one gradient for ``x`` instead of two broadcast ones
    to add to the gate's. On a CPU that makes CA 1.1-1.25x faster at 7x7, forward and backward (see
    ``benchmarks/``). The product spends ``H + W`` multiply-adds per element where the means spend
    two additions, so on larger maps the two means are taken instead, a block of images at a time
    (:func:`pooled`); under ``torch.compile``, which fuses them, always.
    """
    check_4d(x)
    n, c, h, w = x.shape
    if h + w <= PRODUCT_POOL_MAX and not _compiling():
        return torch.matmul(x.reshape(n, c, h * w), _shared_pooling_matrix(h, w, x.dtype, x.device))
    z_h, z_w = pooled(x, partial(mean_pool, dim=3), partial(mean_pool, dim=2))  # reads each image once for both
    return torch.cat([z_h, z_w], dim=2)
