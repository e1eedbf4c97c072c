"""The alignment task: labels follow the marks' geometry, each mark alone is uninformative, seeds fix it."""
from __future__ import annotations

import pytest
import torch

from attn_src.position_task import CLASSES, MARK, alignment_task, mark_positions, render


def test_labels_follow_the_geometry():
    labels, corners = mark_positions(3000, size=18, min_gap=7, seed=0)
    assert labels.shape == (3000,) and corners.shape == (3000, 2, 2)
    dr = (corners[:, 0, 0] - corners[:, 1, 0]).abs()
    dc = (corners[:, 0, 1] - corners[:, 1, 1]).abs()
    assert set(labels.tolist()) == {0, 1, 2}
    row, col, neither = labels == 0, labels == 1, labels == 2
    assert (dr[row] == 0).all() and (dc[row] >= 7).all()
    assert (dc[col] == 0).all() and (dr[col] >= 7).all()
    assert (dr[neither] >= 7).all() and (dc[neither] >= 7).all()
    assert corners.min() >= 0 and corners.max() <= 15  # a 3 x 3 mark fits in 18 pixels
    assert CLASSES == ("same row", "same column", "neither")


def test_each_mark_alone_is_uniform_in_every_class():
    """No absolute position (border, padding) can carry the label: per class, each mark's row and column are uniform."""
    labels, corners = mark_positions(60000, size=18, min_gap=7, seed=1)
    for k in range(3):
        for mark in range(2):
            for axis in range(2):
                counts = torch.bincount(corners[labels == k, mark, axis], minlength=16).double()
                expected = counts.sum() / 16
                # chi-square with 15 degrees of freedom: 37.7 is its 0.999 quantile
                chi2 = ((counts - expected) ** 2 / expected).sum().item()
                assert chi2 < 37.7, (k, mark, axis, counts)


def test_classes_are_balanced():
    labels, _ = mark_positions(30000, seed=2)
    shares = torch.bincount(labels, minlength=3) / 30000
    assert (shares - 1 / 3).abs().max() < 0.015


def test_render_stamps_a_plus_at_each_corner():
    corners = torch.tensor([[[0, 0], [5, 2]], [[3, 3], [3, 3]]])
    x = render(corners, size=8, noise=0.0)
    assert x.shape == (2, 1, 8, 8)
    expected = torch.zeros(2, 1, 8, 8)
    expected[0, 0, 0:3, 0:3] += MARK
    expected[0, 0, 5:8, 2:5] += MARK
    expected[1, 0, 3:6, 3:6] += 2 * MARK  # two marks at one place add up
    assert torch.equal(x, expected)


def test_noise_has_the_asked_spread_and_is_seeded():
    corners = torch.zeros(500, 0, 2, dtype=torch.long)
    x = render(corners, size=16, noise=0.3, seed=4)
    assert abs(x.std().item() - 0.3) < 0.01 and abs(x.mean().item()) < 0.01
    assert torch.equal(x, render(corners, size=16, noise=0.3, seed=4))
    assert not torch.equal(x, render(corners, size=16, noise=0.3, seed=5))


def test_task_is_deterministic_and_train_differs_from_test():
    train, test = alignment_task(200, 100, seed=3)
    again, _ = alignment_task(200, 100, seed=3)
    assert train.x.shape == (200, 1, 18, 18) and test.x.shape == (100, 1, 18, 18)
    assert train.y.dtype == torch.long
    assert torch.equal(train.x, again.x) and torch.equal(train.y, again.y)
    assert not torch.equal(train.x[:100], test.x)
    other, _ = alignment_task(200, 100, seed=4)
    assert not torch.equal(train.x, other.x)


def test_global_pooling_sees_no_difference_between_classes():
    """Without noise every image has the same pixel sum: two marks of 5 pixels."""
    labels, corners = mark_positions(300, seed=0)
    x = render(corners, noise=0.0)
    assert torch.equal(x.sum(dim=(1, 2, 3)), torch.full((300,), 10.0))


def test_the_row_profile_sees_the_label():
    """Summed along the width (CA's z^h), a same-row image has a row with two marks' centre lines."""
    labels, corners = mark_positions(300, seed=0)
    x = render(corners, noise=0.0)
    row_max = x.sum(dim=3).amax(dim=(1, 2))
    col_max = x.sum(dim=2).amax(dim=(1, 2))
    assert torch.equal(row_max == 6, labels == 0)  # 3 + 3: both marks' middle rows coincide
    assert torch.equal(col_max == 6, labels == 1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: mark_positions(0), ValueError, "n must be an int >= 1, got 0"),
    (lambda: mark_positions(10, size=15, min_gap=7), ValueError,
     "min_gap=7 needs size >= 2 * min_gap + 2 = 16 (marks min_gap apart along a wrapped axis), got size=15"),
    (lambda: mark_positions(10, min_gap=0), ValueError, "min_gap must be an int >= 1, got 0"),
    (lambda: mark_positions(10, size=2.5), TypeError, "size must be an int >= 3, got 2.5 (float)"),
    (lambda: mark_positions(10, seed="0"), TypeError, "seed must be an int, got '0' (str)"),
    (lambda: render(torch.zeros(3, 2)), ValueError, "corners must be a tensor of shape (n, k, 2), got (3, 2)"),
    (lambda: render([[0, 0]]), ValueError, "corners must be a tensor of shape (n, k, 2), got list"),
    (lambda: render(torch.zeros(1, 1, 2)), TypeError, "corners must be an integer tensor (pixel indices), got dtype torch.float32"),
    (lambda: render(torch.tensor([[[0, 6]]]), size=8), ValueError,
     "corners must lie in 0 .. size - 3 = 5 so a 3 x 3 mark fits, got values in 0 .. 6"),
    (lambda: render(torch.zeros(1, 1, 2, dtype=torch.long), noise=-1.0), ValueError, "noise must be >= 0, got -1.0"),
    (lambda: render(torch.zeros(1, 1, 2, dtype=torch.long), noise="a"), TypeError, "noise must be a real number, got 'a' (str)"),
    (lambda: alignment_task(n_train=0), ValueError, "n_train must be an int >= 1, got 0"),
    (lambda: alignment_task(n_test=-1), ValueError, "n_test must be an int >= 1, got -1"),
    (lambda: alignment_task(seed=1.0), TypeError, "seed must be an int, got 1.0 (float)"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
