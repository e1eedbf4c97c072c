"""A generated task whose label is *which channels* hold something, anywhere in the image: SE's test.

Every image has two channels (think of two colours) and holds two square spots (3 x 3) on
Gaussian noise. Each spot lies in one channel. The label says whether both spots lie in the same
channel:

- ``0`` "two colours": one spot in each channel;
- ``1`` "one colour": both spots in the same channel (either one).

Three properties make it a fair test of what SE adds to a convolutional network:

- **The label is a global, channel-wise cue.** It depends only on which channels hold a spot,
  never on where the spots are: positions are drawn independently of the label and of the colours.
- **No unit of a small network sees both spots.** Along one axis (rows or columns, drawn at
  random) the spots' top-left corners are ``min_gap`` or more apart, so ``min_gap - 3`` pixels or
  more separate them: with the default ``min_gap = 11``, no 9 x 9 window (the receptive field of
  :class:`attn_src.models.TinyCNN`'s last stage) touches both.
- **Adding up local evidence cannot solve it.** With the spots out of each other's view, a plain
  network's globally pooled features are (up to borders and noise) a sum of one term per spot, and
  its linear classifier turns them into a score that depends on how many spots are in channel 0:
  0, 1 or 2. "One colour" is 0 or 2, "two colours" is 1, and no threshold on a straight line
  puts 1 on one side and both 0 and 2 on the other (the exclusive or of the two spots' colours).
  The best such rule names one of the two "one colour" cases and is right on 75% of the images.
  SE's gate is a non-linear function of the pooled channels that multiplies the features before
  the final pooling, so an SE network is not limited to that sum.
"""
from __future__ import annotations

import torch

from ._validate import check_int, check_real, check_seed
from .data import Split, train_test

CLASSES = ("two colours", "one colour")

#: The receptive field, in pixels, of :class:`attn_src.models.TinyCNN`'s last stage (three 3 x 3
#: convolutions, strides 1, 2, 2): 3 + 2 * 1 + 2 * 2 = 9.
TINYCNN_FIELD = 9

SPOT = 3  # a spot is SPOT x SPOT pixels


def _check_geometry(size: int, min_gap: int) -> int:
    size = check_int("size", size, minimum=SPOT)
    min_gap = check_int("min_gap", min_gap, minimum=SPOT)
    span = size - SPOT + 1  # positions of a spot's top-left corner
    if span <= min_gap:
        raise ValueError(f"min_gap={min_gap} needs size >= min_gap + {SPOT} = {min_gap + SPOT} "
                         f"(two spots min_gap apart), got size={size}")
    return span


def spot_layout(n: int, size: int = 16, min_gap: int = 11, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Labels, channels and positions of ``n`` examples, without drawing them.

    Returns ``(labels, channels, corners)``: ``labels`` (n,) in ``{0, 1}`` (see :data:`CLASSES`),
    ``channels`` (n, 2) the channel (0 or 1) of each spot, and ``corners`` (n, 2, 2) with
    ``corners[k, i] = (row, column)`` of spot ``i``'s top-left pixel. Half the images, on average,
    are "one colour"; the positions are drawn independently of labels and channels.
    """
    n = check_int("n", n)
    span = _check_geometry(size, min_gap)
    gen = torch.Generator().manual_seed(check_seed(seed))
    labels = torch.randint(0, len(CLASSES), (n,), generator=gen)
    first = torch.randint(0, 2, (n,), generator=gen)
    channels = torch.stack([first, torch.where(labels == 1, first, 1 - first)], dim=1)
    # Along the separating axis: p uniform over the corners that leave room, q at least min_gap further.
    near = torch.randint(0, span - min_gap, (n,), generator=gen)
    room = span - min_gap - near  # q - p ranges over min_gap .. min_gap + room - 1
    far = near + min_gap + (torch.rand(n, generator=gen) * room).long()
    swap = torch.rand(n, generator=gen) < 0.5
    along = torch.stack([torch.where(swap, far, near), torch.where(swap, near, far)], dim=1)  # (n, 2)
    across = torch.randint(0, span, (n, 2), generator=gen)  # the other axis: anywhere
    by_rows = (torch.rand(n, generator=gen) < 0.5).unsqueeze(1)  # separated along the rows?
    rows = torch.where(by_rows, along, across)
    cols = torch.where(by_rows, across, along)
    return labels, channels, torch.stack([rows, cols], dim=2)


def render(channels: torch.Tensor, corners: torch.Tensor, size: int = 16, noise: float = 0.1,
           seed: int = 0) -> torch.Tensor:
    """Images (n, 2, size, size): a 3 x 3 spot of ones at each ``corners[k, i]``, in channel ``channels[k, i]``,
    on Gaussian noise of standard deviation ``noise``."""
    if not isinstance(corners, torch.Tensor) or corners.dim() != 3 or corners.shape[2] != 2:
        got = tuple(corners.shape) if isinstance(corners, torch.Tensor) else type(corners).__name__
        raise ValueError(f"corners must be a tensor of shape (n, k, 2), got {got}")
    if not isinstance(channels, torch.Tensor) or tuple(channels.shape) != tuple(corners.shape[:2]):
        got = tuple(channels.shape) if isinstance(channels, torch.Tensor) else type(channels).__name__
        raise ValueError(f"channels must be a tensor of shape (n, k) = {tuple(corners.shape[:2])}, got {got}")
    for name, t in (("corners", corners), ("channels", channels)):
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise TypeError(f"{name} must be an integer tensor, got dtype {t.dtype}")
    size = check_int("size", size, minimum=SPOT)
    noise = check_real("noise", noise)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if corners.numel() and (corners.min() < 0 or corners.max() > size - SPOT):
        raise ValueError(f"corners must lie in 0 .. size - {SPOT} = {size - SPOT} so a {SPOT} x {SPOT} spot fits, "
                         f"got values in {corners.min().item()} .. {corners.max().item()}")
    if channels.numel() and (channels.min() < 0 or channels.max() > 1):
        raise ValueError(f"channels must be 0 or 1, got values in {channels.min().item()} .. {channels.max().item()}")
    n = corners.shape[0]
    gen = torch.Generator().manual_seed(check_seed(seed))
    x = noise * torch.randn(n, 2, size, size, generator=gen)
    offsets = torch.arange(SPOT)
    for i in range(corners.shape[1]):
        rows = corners[:, i, 0, None, None] + offsets[None, :, None]         # (n, 3, 1)
        cols = corners[:, i, 1, None, None] + offsets[None, None, :]         # (n, 1, 3)
        batch = torch.arange(n)[:, None, None]
        x[batch, channels[:, i, None, None], rows, cols] += 1.0
    return x


def same_colour_task(
    n_train: int = 1000,
    n_test: int = 500,
    size: int = 16,
    min_gap: int = 11,
    noise: float = 0.1,
    seed: int = 0,
) -> tuple[Split, Split]:
    """The task as ``(train, test)`` splits of two-channel ``size`` x ``size`` images, labels in :data:`CLASSES`.

    Train and test are drawn independently from ``seed`` (test uses ``seed + 1``), so the same
    arguments always give the same data.
    """
    def draw(n: int, s: int) -> Split:
        labels, channels, corners = spot_layout(n, size, min_gap, s)
        return Split(render(channels, corners, size, noise, s), labels)
    return train_test(draw, n_train, n_test, seed)
