"""Four small operations the modules share, each chosen for speed on real hardware.

Each gives the values of the plain expression (``x.mean``, ``x.amax``, ``y * gate``); they
differ in how much memory they touch, forward and backward, which is what an attention
module's time is made of (see the costs chapter and ``benchmarks/``).
"""
from __future__ import annotations

import math

import torch


def _tracked(*tensors: torch.Tensor) -> bool:
    """Whether autograd records an operation on ``tensors`` (so their backward will run)."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def mean_pool(x: torch.Tensor, dim: int | tuple[int, ...]) -> torch.Tensor:
    """Mean of ``x`` over ``dim`` (dropped): ``x.mean(dim)``, or with gradients a sum divided by the count.

    Without gradients, ``x.mean`` is one operation. With gradients the two routes differ in their
    backward: ``mean``'s divides the broadcast gradient by the count, which writes a full-size
    tensor, while a sum's backward is a broadcast view and the division happens on the small pooled
    result. In forward + backward that saves one full-size write per pooling (SE: about 1.4x faster).
    """
    if not _tracked(x):
        return x.mean(dim=dim)
    dims = (dim,) if isinstance(dim, int) else dim
    return x.sum(dim=dims) / math.prod(x.shape[d] for d in dims)


def channel_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` (N, C, H, W) over its channels, shaped (N, 1, H, W).

    The channels of one position lie ``H W`` floats apart, and torch's CPU ``mean`` over such a
    strided dimension is slow: 1.1-1.3 copies of ``x`` at 56x56 maps. Without gradients the
    mean is taken as a ``(1 x C) @ (C x HW)`` matrix-vector product, which streams ``x`` in 0.6.
    With gradients the product's backward would write a full-size tensor, so the mean is a sum
    divided by ``C`` (see :func:`mean_pool`), whose backward is a broadcast view.
    """
    n, c, h, w = x.shape
    if _tracked(x):
        return mean_pool(x, dim=1).unsqueeze(1)
    return torch.matmul(x.new_full((1, c), 1.0 / c), x.reshape(n, c, h * w)).view(n, 1, h, w)


#: Stages of :func:`max_pool`'s maximum across a non-innermost dimension (see there).
GROUPS = 8


def max_pool(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Maximum of ``x`` over ``dim`` (kept as size 1), by the cheaper route for the situation.

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
        return x.max(dim=dim, keepdim=True).values
    dim = dim % x.dim()
    size = x.shape[dim]
    if dim < x.dim() - 1 and size > GROUPS and size % GROUPS == 0:
        return x.unflatten(dim, (GROUPS, size // GROUPS)).amax(dim).amax(dim, keepdim=True)
    return x.amax(dim=dim, keepdim=True)


def rescale(y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``y * gate`` for a ``y`` the caller has just computed and will not use again.

    Without gradients the product is written into ``y``'s own buffer: a new full-size buffer
    costs about as much as a copy of it. With gradients, autograd needs the old ``y`` to
    differentiate with respect to ``gate``, so the product goes to a new buffer as usual.
    """
    if _tracked(y, gate):
        return y * gate
    return y.mul_(gate)
