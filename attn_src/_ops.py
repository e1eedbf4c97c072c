"""Two small operations the modules share, each chosen for speed on real hardware.

Both give exactly the values of the plain expression; they differ in how much memory they
touch, which is what an attention module's time is made of (see the costs chapter).
"""
from __future__ import annotations

import torch


def max_pool(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Maximum of ``x`` over ``dim`` (kept as size 1), by the cheaper route for the situation.

    Without gradients, ``amax`` is the fastest: it computes no indices. With gradients,
    ``max`` with indices wins: its backward scatters the gradient to the remembered
    positions, while ``amax``'s backward must find them again with full-size comparisons
    (about twice the time and memory; see the benchmarks).
    """
    if torch.is_grad_enabled() and x.requires_grad:
        return x.max(dim=dim, keepdim=True).values
    return x.amax(dim=dim, keepdim=True)


def rescale(y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``y * gate`` for a ``y`` the caller has just computed and will not use again.

    Without gradients the product is written into ``y``'s own buffer: a new full-size buffer
    costs about as much as a copy of it. With gradients, autograd needs the old ``y`` to
    differentiate with respect to ``gate``, so the product goes to a new buffer as usual.
    """
    if torch.is_grad_enabled() and (y.requires_grad or gate.requires_grad):
        return y * gate
    return y.mul_(gate)
