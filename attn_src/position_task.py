"""A generated task whose label is *where* one mark is relative to another: Coordinate Attention's test.

Every image holds two identical "+" marks (3 x 3) on Gaussian noise. The label says where the
second mark is, seen from the first:

- ``0`` "same row": both marks on the same row, their columns ``min_gap`` or more apart;
- ``1`` "same column": both on the same column, their rows ``min_gap`` or more apart;
- ``2`` "neither": rows *and* columns ``min_gap`` or more apart.

Three properties make it a fair test of what CA adds to a convolutional network:

- **Each mark alone carries no information.** A mark's top-left corner ``p`` is uniform over
  ``0 .. L-1`` (``L = size - 2``) and the other's is ``(p + d) mod L`` with ``d`` uniform in
  ``min_gap .. L - min_gap``, so in every class each mark's row and column are uniform. Nothing
  a network learns about one mark's absolute position (for instance from zero padding at the
  border) says anything about the label; only the relation between the two marks does.
- **The two marks never fit in one small receptive field.** Along the axis where they differ they
  are ``min_gap`` or more apart, so together they span ``min_gap + 3`` pixels or more; with that span
  larger than the receptive field of the network under test, no unit sees both marks whole.
- **Global pooling cannot tell the classes apart.** Every image has the same content (two marks);
  a channel's spatial average is the same whether they are aligned or not (up to the noise, and to
  zero padding when a mark touches the border).

Coordinate Attention's pooling along one direction keeps the other: the row profile z^h of a
feature that responds to marks doubles on a row that holds both, which is exactly the label.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ._validate import check_int, check_real, check_seed
from .data import Split, train_test

CLASSES = ("same row", "same column", "neither")

MARK = torch.tensor([[0.0, 1.0, 0.0],
                     [1.0, 1.0, 1.0],
                     [0.0, 1.0, 0.0]])


def _check_geometry(size: int, min_gap: int) -> int:
    size = check_int("size", size, minimum=3)
    min_gap = check_int("min_gap", min_gap)
    span = size - 2  # positions of a 3 x 3 mark's top-left corner
    if span < 2 * min_gap:
        raise ValueError(
            f"min_gap={min_gap} needs size >= 2 * min_gap + 2 = {2 * min_gap + 2} "
            f"(marks min_gap apart along a wrapped axis), got size={size}"
        )
    return span


def mark_positions(n: int, size: int = 18, min_gap: int = 7, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and mark positions of ``n`` examples, without drawing them.

    Returns ``(labels, corners)``: ``labels`` (n,) in ``{0, 1, 2}`` (see :data:`CLASSES`) and
    ``corners`` (n, 2, 2) with ``corners[k, i] = (row, column)`` of mark ``i``'s top-left pixel.
    """
    n = check_int("n", n)
    span = _check_geometry(size, min_gap)
    gen = torch.Generator().manual_seed(check_seed(seed))
    labels = torch.randint(0, len(CLASSES), (n,), generator=gen)
    first = torch.randint(0, span, (n, 2), generator=gen)
    # d in min_gap .. span - min_gap, wrapped: the plain distance |p - q| is d or span - d, both >= min_gap.
    offset = torch.randint(min_gap, span - min_gap + 1, (n, 2), generator=gen)
    second = (first + offset) % span
    second[:, 0] = torch.where(labels == 0, first[:, 0], second[:, 0])  # same row
    second[:, 1] = torch.where(labels == 1, first[:, 1], second[:, 1])  # same column
    return labels, torch.stack([first, second], dim=1)


def render(corners: torch.Tensor, size: int = 18, noise: float = 0.3, seed: int = 0) -> torch.Tensor:
    """Images (n, 1, size, size): a "+" mark at every corner of ``corners`` (n, k, 2), on Gaussian noise."""
    if not isinstance(corners, torch.Tensor) or corners.dim() != 3 or corners.shape[2] != 2:
        got = tuple(corners.shape) if isinstance(corners, torch.Tensor) else type(corners).__name__
        raise ValueError(f"corners must be a tensor of shape (n, k, 2), got {got}")
    if corners.dtype.is_floating_point or corners.dtype.is_complex or corners.dtype == torch.bool:
        raise TypeError(f"corners must be an integer tensor (pixel indices), got dtype {corners.dtype}")
    size = check_int("size", size, minimum=3)
    noise = check_real("noise", noise)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if corners.numel() and (corners.min() < 0 or corners.max() > size - 3):
        raise ValueError(f"corners must lie in 0 .. size - 3 = {size - 3} so a 3 x 3 mark fits, "
                         f"got values in {corners.min().item()} .. {corners.max().item()}")
    n = corners.shape[0]
    gen = torch.Generator().manual_seed(check_seed(seed))
    centres = torch.zeros(n, 1, size, size)
    rows, cols = corners[..., 0] + 1, corners[..., 1] + 1
    batch = torch.arange(n).unsqueeze(1).expand_as(rows)
    centres.index_put_((batch.reshape(-1), torch.zeros_like(rows).reshape(-1), rows.reshape(-1), cols.reshape(-1)),
                       torch.ones(rows.numel()), accumulate=True)
    marks = F.conv2d(centres, MARK.view(1, 1, 3, 3), padding=1)  # the mark is symmetric: conv == stamping it
    return marks + noise * torch.randn(n, 1, size, size, generator=gen)


def alignment_task(
    n_train: int = 1000,
    n_test: int = 500,
    size: int = 18,
    min_gap: int = 7,
    noise: float = 0.3,
    seed: int = 0,
) -> tuple[Split, Split]:
    """The task as ``(train, test)`` splits of ``size`` x ``size`` one-channel images, labels in :data:`CLASSES`.

    Train and test are drawn independently from ``seed`` (test uses ``seed + 1``), so the same
    arguments always give the same data.
    """
    def draw(n: int, s: int) -> Split:
        labels, corners = mark_positions(n, size, min_gap, s)
        return Split(render(corners, size, noise, s), labels)
    return train_test(draw, n_train, n_test, seed)
