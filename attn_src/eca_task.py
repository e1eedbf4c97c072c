"""A generated task whose answer sits in the channel its *neighbouring* channels mark: ECA's test.

Every image has ``channels`` ordered channels ("bands", like the bands of a multispectral
camera), each a ``size`` x ``size`` picture. One band ``j`` (uniform over ``1 .. channels - 2``)
holds a grating of stripes whose orientation is the label (:data:`CLASSES`). Band ``j`` is
*marked by its two neighbours*:

- ``marker="dark"`` (the default): every band carries a constant background ``level`` except
  the two beside ``j``, which carry nothing but noise;
- ``marker="bright"``: the two bands beside ``j`` carry the background ``level``, no other band does.

Every other band holds a fainter grating (amplitude ``distractor``, the label's grating has
amplitude 1) of a random orientation, and every pixel gets Gaussian noise of standard deviation
``noise``. Three properties make it a test of what ECA adds:

- **The marker is in the channel averages.** A grating with a whole number of periods averages
  to 0 (``size`` is a multiple of :data:`PERIOD`), so a band's global average is its background
  level plus a little noise: the descriptor ``y = GAP(x)`` shows the two marked bands plainly.
- **The rule is local and the same for every band.** "Keep the band whose two neighbours are
  marked" is one 1-D pattern along the channel axis, wherever ``j`` falls: a 1-D convolution
  over the descriptor with k = 3 (ECA) can express it with 3 weights; a network without that
  structure has to learn it once for each of the ``channels - 2`` places.
- **Without finding the band, the label is only guessable.** The label's grating is louder
  than each distractor, so pooling orientation over all bands beats chance, but the distractors
  and the noise of every band stay in the way.

The answer does not depend on channel order through anything else: ``j`` is uniform, and each
distractor's orientation is drawn independently of the label. (One edge effect belongs to ECA, not
to the task: its convolution pads the channel axis with zeros, so with the dark marker an end band
whose inner neighbour is a marker band, ``j = 2`` or ``j = channels - 3``, also looks marked.)
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import check_choice, check_int, check_real, check_seed
from .data import Split, train_test
from .models.factory import AttentionSpec, make_attention
from .models.small import conv_bn_relu

#: The label: the direction the labelled band's stripes run (rising: bottom left to top right).
CLASSES = ("horizontal", "vertical", "rising diagonal", "falling diagonal")
MARKERS = ("dark", "bright")
#: The stripes' period in pixels; ``size`` must be a multiple of it.
PERIOD = 4

# Direction (row step, column step) along which each class's stripes vary (they run across it).
_DIRECTIONS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]])


def _check_size(size: object) -> int:
    size = check_int("size", size, minimum=PERIOD)
    if size % PERIOD:
        raise ValueError(
            f"size must be a multiple of {PERIOD} (whole periods of the stripes, so each grating "
            f"averages to 0), got {size}"
        )
    return size


def _check_non_negative(name: str, value: object) -> float:
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be a real number >= 0, got {value:g}")
    return value


def gratings(orientations: torch.Tensor, phases: torch.Tensor, size: int = 12) -> torch.Tensor:
    """Stripes ``cos(2 pi (d . (row, col)) / PERIOD + phase)``, one ``size`` x ``size`` picture per entry.

    Args:
        orientations: integer tensor of class indices into :data:`CLASSES` (any shape S).
        phases: float tensor of phases in radians, the same shape S.
        size: side of each picture, a multiple of :data:`PERIOD`.

    Returns:
        a tensor of shape ``S + (size, size)`` with values in [-1, 1]; each picture averages to 0.
    """
    if not isinstance(orientations, torch.Tensor) or orientations.dtype.is_floating_point \
            or orientations.dtype.is_complex or orientations.dtype == torch.bool:
        got = orientations.dtype if isinstance(orientations, torch.Tensor) else type(orientations).__name__
        raise TypeError(f"orientations must be an integer tensor (class indices), got {got}")
    if orientations.numel() and (orientations.min() < 0 or orientations.max() >= len(CLASSES)):
        raise ValueError(
            f"orientations must lie in 0 .. {len(CLASSES) - 1} (indices into CLASSES), "
            f"got values in {orientations.min().item()} .. {orientations.max().item()}"
        )
    if not isinstance(phases, torch.Tensor) or not phases.dtype.is_floating_point:
        got = phases.dtype if isinstance(phases, torch.Tensor) else type(phases).__name__
        raise TypeError(f"phases must be a float tensor (radians), got {got}")
    if phases.shape != orientations.shape:
        raise ValueError(
            f"phases must have the shape of orientations {tuple(orientations.shape)}, got {tuple(phases.shape)}"
        )
    size = _check_size(size)
    grid = torch.arange(size, dtype=phases.dtype)
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")
    direction = _DIRECTIONS.to(phases.dtype)[orientations]  # S + (2,)
    coordinate = direction[..., 0, None, None] * rows + direction[..., 1, None, None] * cols
    return torch.cos(2 * math.pi * coordinate / PERIOD + phases[..., None, None])


def band_examples(
    n: int,
    channels: int = 16,
    size: int = 12,
    noise: float = 0.3,
    distractor: float = 0.5,
    level: float = 1.0,
    marker: str = "dark",
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` examples of the marked-band task: images, labels and the band that holds each label.

    Returns:
        ``(x, labels, bands)``: ``x`` (n, channels, size, size) float32, ``labels`` (n,) in
        ``0 .. 3`` (:data:`CLASSES`), ``bands`` (n,) the index ``j`` of the labelled band, in
        ``1 .. channels - 2``.
    """
    n = check_int("n", n)
    channels = check_int("channels", channels, minimum=3)
    size = _check_size(size)
    noise = _check_non_negative("noise", noise)
    distractor = _check_non_negative("distractor", distractor)
    level = check_real("level", level)
    marker = check_choice("marker", marker, MARKERS)
    gen = torch.Generator().manual_seed(check_seed(seed))

    bands = torch.randint(1, channels - 1, (n,), generator=gen)
    labels = torch.randint(0, len(CLASSES), (n,), generator=gen)
    orientations = torch.randint(0, len(CLASSES), (n, channels), generator=gen)
    phases = 2 * math.pi * torch.rand(n, channels, generator=gen)
    rows = torch.arange(n)
    orientations[rows, bands] = labels
    amplitude = torch.full((n, channels), distractor)
    amplitude[rows, bands] = 1.0
    beside = torch.zeros(n, channels, dtype=torch.bool)
    beside[rows, bands - 1] = True
    beside[rows, bands + 1] = True
    amplitude[beside] = 0.0  # the marker bands hold no stripes
    background = level * (~beside if marker == "dark" else beside).float()

    x = amplitude[..., None, None] * gratings(orientations, phases, size) + background[..., None, None]
    x = x + noise * torch.randn(n, channels, size, size, generator=gen)
    return x, labels, bands


def marked_band_task(
    n_train: int = 800,
    n_test: int = 500,
    channels: int = 16,
    size: int = 12,
    noise: float = 0.3,
    distractor: float = 0.5,
    level: float = 1.0,
    marker: str = "dark",
    seed: int = 0,
) -> tuple[Split, Split]:
    """The task as ``(train, test)`` splits, labels in :data:`CLASSES` (see :func:`band_examples`).

    Train and test are drawn independently from ``seed`` (test uses ``seed + 1``), so the same
    arguments always give the same data.
    """
    def draw(n: int, s: int) -> Split:
        x, labels, _ = band_examples(n, channels, size, noise, distractor, level, marker, seed=s)
        return Split(x, labels)
    return train_test(draw, n_train, n_test, seed)


class BandNet(nn.Module):
    """Attention on the input's ordered bands, then two conv stages, global average pooling and a classifier.

    The attention module sits *before* the first convolution, where the channel order is the
    bands' order (after a convolution it would be whatever order training gives the filters).

    Args:
        attention: ``None`` (the plain network), ``"se"``, ``"eca"``, ... or a callable
            ``channels -> nn.Module`` (see :func:`attn_src.models.make_attention`).
        channels: bands of the input.
        width: channels of the first conv stage (the second has ``2 * width``).
        num_classes: outputs of the classifier.
        **attention_options: passed to the attention module (e.g. ``kernel_size=1``, ``reduction=1``).
    """

    def __init__(
        self,
        attention: AttentionSpec = None,
        channels: int = 16,
        width: int = 16,
        num_classes: int = len(CLASSES),
        **attention_options,
    ) -> None:
        super().__init__()
        channels = check_int("channels", channels)
        width = check_int("width", width)
        num_classes = check_int("num_classes", num_classes)
        self.attention = make_attention(attention, channels, **attention_options)
        self.body = nn.Sequential(conv_bn_relu(channels, width), conv_bn_relu(width, 2 * width, stride=2))
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.attention(x)).mean(dim=(2, 3)))
