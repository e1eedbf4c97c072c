"""The SE chapter's diagrams: what each panel contains, and their argument checks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from attn_src.se_figures import draw_se_block, draw_se_positions  # noqa: E402


@pytest.mark.parametrize("channels", [3, 6])
def test_the_block_diagram_draws_four_groups_of_c_cells(channels):
    fig = draw_se_block(channels)
    (ax,) = fig.axes
    assert sum(isinstance(p, Rectangle) for p in ax.patches) == 4 * channels  # U, z, s, X~
    labels = " ".join(t.get_text() for t in ax.texts)
    for eq in ("(Eq. 2)", "(Eq. 3)", "(Eq. 4)"):
        assert eq in labels
    plt.close(fig)


def test_the_positions_diagram_has_one_panel_per_position_and_one_se_box_where_it_belongs():
    fig = draw_se_positions()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["residual unit", "standard SE", "SE-PRE", "SE-POST", "SE-Identity"]
    se_boxes = [sum(t.get_text() == "SE" for t in ax.texts) for ax in fig.axes]
    assert se_boxes == [0, 1, 1, 1, 1]
    plt.close(fig)


def test_a_subset_of_positions():
    fig = draw_se_positions(("pre", "post"))
    assert [ax.get_title() for ax in fig.axes] == ["SE-PRE", "SE-POST"]
    plt.close(fig)


@pytest.mark.parametrize("positions,error,message", [
    (("standard", "middle"), ValueError,
     "positions[...] must be one of 'none', 'standard', 'pre', 'post', 'identity', got 'middle'"),
    ("standard", TypeError, "positions must be a non-empty sequence of names"),
    ((), TypeError, "positions must be a non-empty sequence of names"),
])
def test_bad_positions_are_named(positions, error, message):
    with pytest.raises(error) as err:
        draw_se_positions(positions)
    assert message in str(err.value)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(channels=0), ValueError, "channels must be an int >= 1, got 0"),
    (dict(channels=2.5), TypeError, "channels must be an int >= 1, got 2.5 (float)"),
    (dict(seed=-1), ValueError, "seed must be an int >= 0, got -1"),
])
def test_bad_block_arguments_are_named(kwargs, error, message):
    with pytest.raises(error) as err:
        draw_se_block(**kwargs)
    assert str(err.value) == message
