"""Diagrams for the SE chapter: the SE block (SE paper, Fig. 1) and its positions in a residual unit (Fig. 5).

Both return a matplotlib figure and draw nothing else; the chapter shows them with ``plt.show()``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from ._validate import check_choice, check_int
from .se_variants import SE_POSITIONS

_SE_COLOUR = "#f4a261"
_BOX = dict(boxstyle="round,pad=0.35", facecolor="#e9eef6", edgecolor="#34495e")


def _stack(ax, x0: float, y0: float, shades, size: float = 0.9, step: float = 0.18) -> None:
    """C feature maps drawn as offset squares, back to front, each filled with its shade of blue."""
    cmap = plt.get_cmap("Blues")
    for k, shade in reversed(list(enumerate(shades))):
        ax.add_patch(Rectangle((x0 + k * step, y0 + k * step), size, size, facecolor=cmap(shade),
                               edgecolor="#34495e", linewidth=0.8))


def _column(ax, x0: float, y0: float, values, cmap: str) -> None:
    """A 1 x 1 x C descriptor drawn as a column of C cells coloured by value in [0, 1]."""
    colours = plt.get_cmap(cmap)
    for k, v in enumerate(values):
        ax.add_patch(Rectangle((x0, y0 + k * 0.3), 0.3, 0.3, facecolor=colours(v), edgecolor="#34495e", linewidth=0.8))


def _arrow(ax, start, end, label: str = "", dy: float = 0.35) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color="#34495e", lw=1.4))
    if label:
        ax.text((start[0] + end[0]) / 2, start[1] + dy, label, ha="center", va="bottom", fontsize=9)


def draw_se_block(channels: int = 6, seed: int = 0):
    """The SE block on ``channels`` feature maps: U, squeeze to z, excite to s, scale to X~.

    The shades are illustrative, drawn from ``seed``: z is each map's mean shade, s a gate
    per channel, and the output maps are the input shades times s.
    """
    check_int("channels", channels)
    check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    shades = rng.uniform(0.25, 0.95, channels)
    gates = rng.uniform(0.05, 0.95, channels)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    _stack(ax, 0.0, 0.2, shades)
    ax.text(0.9, -0.25, "$\\mathbf{U}$: $C$ maps, $H\\times W$", ha="center", fontsize=10)
    _arrow(ax, (2.2, 1.0), (3.6, 1.0), "squeeze $F_{sq}$\n(Eq. 2)")
    _column(ax, 3.8, 0.1, shades, "Blues")
    ax.text(3.95, -0.25, "$\\mathbf{z}$: $1\\times1\\times C$", ha="center", fontsize=10)
    _arrow(ax, (4.3, 1.0), (6.3, 1.0), "excite $F_{ex}$: FC $C\\to C/r$,\nReLU, FC $C/r\\to C$, $\\sigma$ (Eq. 3)")
    _column(ax, 6.5, 0.1, gates, "Oranges")
    ax.text(6.65, -0.25, "$\\mathbf{s}\\in(0,1)^C$", ha="center", fontsize=10)
    _arrow(ax, (7.0, 1.0), (8.4, 1.0), "scale $F_{scale}$\n(Eq. 4)")
    _stack(ax, 8.6, 0.2, shades * gates)
    ax.text(9.5, -0.25, "$\\widetilde{\\mathbf{X}}$: $s_c\\,\\mathbf{u}_c$", ha="center", fontsize=10)
    ax.set_xlim(-0.2, 10.8)
    ax.set_ylim(-0.5, 2.4)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return fig


_TITLES = {"none": "residual unit", "standard": "standard SE", "pre": "SE-PRE", "post": "SE-POST",
           "identity": "SE-Identity"}


def _main_path(position: str) -> list[str]:
    """The boxes on the residual branch, top to bottom, for one position ("+" is the sum)."""
    return {
        "none": ["F (conv-BN-ReLU-conv-BN)", "+", "ReLU"],
        "standard": ["F (conv-BN-ReLU-conv-BN)", "SE", "+", "ReLU"],
        "pre": ["SE", "F (conv-BN-ReLU-conv-BN)", "+", "ReLU"],
        "post": ["F (conv-BN-ReLU-conv-BN)", "+", "ReLU", "SE"],
        "identity": ["F (conv-BN-ReLU-conv-BN)", "+", "ReLU"],
    }[position]


def draw_se_positions(positions=SE_POSITIONS):
    """One panel per position: where SE sits in a residual unit (the SE paper's Fig. 5, redrawn).

    ``positions`` is a sequence of names from :data:`attn_src.se_variants.SE_POSITIONS`.
    """
    if isinstance(positions, str) or not hasattr(positions, "__len__") or len(positions) == 0:
        raise TypeError(f"positions must be a non-empty sequence of names from {SE_POSITIONS}, got {positions!r}")
    for p in positions:
        check_choice("positions[...]", p, SE_POSITIONS)
    fig, axes = plt.subplots(1, len(positions), figsize=(2.6 * len(positions), 4.2), squeeze=False)
    for ax, position in zip(axes[0], positions):
        nodes = ["x", *_main_path(position), "output"]
        ys = np.linspace(0.93, 0.05, len(nodes))
        plus_y = ys[nodes.index("+")]
        for k, (label, y) in enumerate(zip(nodes, ys)):
            style = dict(_BOX, facecolor=_SE_COLOUR) if label == "SE" else _BOX
            if label in ("x", "output"):
                style = dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="white")
            if label == "+":
                style = dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="#34495e")
            ax.text(0.38, y, label.replace(" (", "\n("), ha="center", va="center", fontsize=8, bbox=style)
            if k:
                ax.annotate("", xy=(0.38, y + 0.045), xytext=(0.38, ys[k - 1] - 0.045),
                            arrowprops=dict(arrowstyle="-|>", color="#34495e", lw=1.2))
        # the identity connection: from x, down the right side, into the sum
        ax.plot([0.44, 0.86, 0.86], [ys[0], ys[0], plus_y], color="#34495e", lw=1.2)
        ax.annotate("", xy=(0.43, plus_y), xytext=(0.86, plus_y),
                    arrowprops=dict(arrowstyle="-|>", color="#34495e", lw=1.2))
        if position == "identity":
            ax.text(0.86, (ys[0] + plus_y) / 2, "SE", ha="center", va="center", fontsize=8,
                    bbox=dict(_BOX, facecolor=_SE_COLOUR))
        ax.set_title(_TITLES[position], fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
    fig.tight_layout()
    return fig
