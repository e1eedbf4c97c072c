"""A generated task whose label is *what* stands *where* a cue points: CBAM's test.

Every image has two channels. The **ink** channel holds six small shapes (3 x 3 pixels: a plus,
a cross and a tee, two of each) at random places on Gaussian noise. The **cue** channel holds one
3 x 3 square of ones, on one of the six shapes, chosen at random. The label is the class of the
shape under the cue (see :data:`CLASSES`).

Three properties make it a test of what CBAM's gates add to a convolutional network that ends
in global average pooling:

- **Neither channel alone carries the label.** Every image holds the same shapes, ``per_class``
  of each class, so the ink channel alone says nothing about which one is cued; the cue is a plain
  square whose place is uniform over the grid in every class, so the cue channel alone says nothing
  either. Only the two together, read at the same place, give the label.
- **The clutter matches the target.** The other shapes are the same three classes drawn the same
  way, so averaged over the image a shape detector responds alike in every class: the plain
  network has to learn features that fire only where ink and cue coincide before its global average.
- **Where is one place.** A gate that weights the cued place up before the average (CBAM's spatial
  gate, ``M_s``), or a descriptor that keeps the strongest response instead of the average (the
  max-pooled input of its channel gate, ``M_c``), is exactly what the task asks for.

Objects sit in distinct cells of a ``grid`` x ``grid`` layout of ``cell`` x ``cell`` pixels, each at
a random offset inside its cell, so they never overlap.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ._validate import check_int, check_real, check_seed
from .data import Split, train_test

CLASSES = ("plus", "cross", "tee")

SHAPES = torch.tensor([
    [[0.0, 1.0, 0.0],
     [1.0, 1.0, 1.0],
     [0.0, 1.0, 0.0]],   # plus
    [[1.0, 0.0, 1.0],
     [0.0, 1.0, 0.0],
     [1.0, 0.0, 1.0]],   # cross
    [[1.0, 1.0, 1.0],
     [0.0, 1.0, 0.0],
     [0.0, 1.0, 0.0]],   # tee
])
"""The three shapes, (3, 3, 3): five pixels each, so the amount of ink says nothing about the class."""


def _check_layout(grid: object, cell: object, per_class: object) -> tuple[int, int, int]:
    grid = check_int("grid", grid)
    cell = check_int("cell", cell, minimum=3)
    per_class = check_int("per_class", per_class)
    if 3 * per_class > grid * grid:
        raise ValueError(
            f"per_class={per_class} needs 3 * per_class = {3 * per_class} cells, "
            f"but grid={grid} has only grid * grid = {grid * grid}"
        )
    return grid, cell, per_class


def place_objects(
    n: int, grid: int = 4, cell: int = 5, per_class: int = 2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Labels and object layout of ``n`` examples, without drawing them.

    Returns ``(labels, classes, corners, target)``:

    - ``classes`` (n, k), ``k = 3 * per_class``: each object's class, every row holding ``per_class``
      objects of each class in random order;
    - ``corners`` (n, k, 2): each object's top-left pixel (row, column), in distinct cells;
    - ``target`` (n,): which object the cue marks, uniform over the k objects;
    - ``labels`` (n,): the target's class, ``classes[i, target[i]]``.
    """
    n = check_int("n", n)
    grid, cell, per_class = _check_layout(grid, cell, per_class)
    gen = torch.Generator().manual_seed(check_seed(seed))
    k = 3 * per_class
    cells = torch.rand(n, grid * grid, generator=gen).argsort(dim=1)[:, :k]      # k distinct cells
    classes = torch.rand(n, k, generator=gen).argsort(dim=1) % 3                   # per_class of each
    offsets = torch.randint(0, cell - 2, (n, k, 2), generator=gen)                # a 3 x 3 shape fits
    corners = torch.stack([cells // grid, cells % grid], dim=2) * cell + offsets
    target = torch.randint(0, k, (n,), generator=gen)
    labels = classes[torch.arange(n), target]
    return labels, classes, corners, target


def _check_index_tensor(name: str, value: object, dim: int, shape_text: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.dim() != dim:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a tensor of shape {shape_text}, got {got}")
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {value.dtype}")
    return value


def render(
    classes: torch.Tensor, corners: torch.Tensor, target: torch.Tensor, size: int = 20,
    noise: float = 0.2, seed: int = 0,
) -> torch.Tensor:
    """Images (n, 2, size, size): channel 0 the ink (every shape), channel 1 the cue (a 3 x 3 square
    of ones on the target shape), both with Gaussian noise of standard deviation ``noise``."""
    classes = _check_index_tensor("classes", classes, 2, "(n, k)")
    corners = _check_index_tensor("corners", corners, 3, "(n, k, 2)")
    target = _check_index_tensor("target", target, 1, "(n,)")
    n, k = classes.shape
    if tuple(corners.shape) != (n, k, 2) or tuple(target.shape) != (n,):
        raise ValueError(
            f"classes (n, k), corners (n, k, 2) and target (n,) must agree, got {tuple(classes.shape)}, "
            f"{tuple(corners.shape)} and {tuple(target.shape)}"
        )
    size = check_int("size", size, minimum=3)
    noise = check_real("noise", noise)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if classes.numel() and (classes.min() < 0 or classes.max() >= len(CLASSES)):
        raise ValueError(f"classes must lie in 0 .. {len(CLASSES) - 1}, got values in "
                         f"{classes.min().item()} .. {classes.max().item()}")
    if corners.numel() and (corners.min() < 0 or corners.max() > size - 3):
        raise ValueError(f"corners must lie in 0 .. size - 3 = {size - 3} so a 3 x 3 shape fits, "
                         f"got values in {corners.min().item()} .. {corners.max().item()}")
    if n and (k == 0 or target.min() < 0 or target.max() >= k):
        raise ValueError(f"target must index one of the k = {k} objects (0 .. {k - 1}), got values in "
                         f"{target.min().item()} .. {target.max().item()}")
    gen = torch.Generator().manual_seed(check_seed(seed))
    batch = torch.arange(n)
    # A one at each shape's top-left pixel, one map per class; a transposed conv stamps the shapes.
    spots = torch.zeros(n, len(CLASSES), size, size)
    spots[batch[:, None].expand(n, k), classes, corners[..., 0], corners[..., 1]] = 1.0
    ink = F.conv_transpose2d(spots, SHAPES[:, None])[:, :, :size, :size]
    spot = torch.zeros(n, 1, size, size)
    if n:
        spot[batch, 0, corners[batch, target, 0], corners[batch, target, 1]] = 1.0
    cue = F.conv_transpose2d(spot, torch.ones(1, 1, 3, 3))[:, :, :size, :size]
    images = torch.cat([ink, cue], dim=1)
    return images + noise * torch.randn(images.shape, generator=gen)


def cue_task(
    n_train: int = 1000,
    n_test: int = 500,
    grid: int = 4,
    cell: int = 5,
    per_class: int = 2,
    noise: float = 0.2,
    seed: int = 0,
) -> tuple[Split, Split]:
    """The task as ``(train, test)`` splits of two-channel ``grid * cell`` pixel square images,
    labels in :data:`CLASSES`.

    Train and test are drawn independently from ``seed`` (test uses ``seed + 1``), so the same
    arguments always give the same data.
    """
    grid, cell, per_class = _check_layout(grid, cell, per_class)

    def draw(n: int, s: int) -> Split:
        labels, classes, corners, target = place_objects(n, grid, cell, per_class, s)
        return Split(render(classes, corners, target, grid * cell, noise, s), labels)
    return train_test(draw, n_train, n_test, seed)
