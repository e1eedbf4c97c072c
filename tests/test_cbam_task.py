"""The cue task: the label is the cued shape's class, neither channel alone carries it, seeds fix it."""
from __future__ import annotations

import pytest
import torch

from attn_src.cbam_task import CLASSES, SHAPES, cue_task, place_objects, render


def test_layout_has_every_class_per_class_times_and_the_label_is_the_cued_one():
    labels, classes, corners, target = place_objects(2000, grid=4, cell=5, per_class=2, seed=0)
    assert labels.shape == (2000,) and classes.shape == (2000, 6)
    assert corners.shape == (2000, 6, 2) and target.shape == (2000,)
    assert CLASSES == ("plus", "cross", "tee")
    # every image holds the same shapes: two of each class
    assert (torch.stack([(classes == c).sum(dim=1) for c in range(3)], dim=1) == 2).all()
    assert torch.equal(labels, classes[torch.arange(2000), target])
    assert labels.dtype == torch.long and set(labels.tolist()) == {0, 1, 2}
    assert target.min() >= 0 and target.max() <= 5


def test_objects_sit_in_distinct_cells_and_fit_the_image():
    _, _, corners, _ = place_objects(500, grid=4, cell=5, seed=1)
    assert corners.min() >= 0 and corners.max() <= 17  # a 3 x 3 shape fits in 20 pixels
    cells = (corners[..., 0] // 5) * 4 + corners[..., 1] // 5
    assert all(len(set(row.tolist())) == 6 for row in cells)


def test_the_cue_alone_says_nothing_about_the_label():
    """Per class, the cued object's cell is uniform over the 16 cells (chi-square)."""
    labels, _, corners, target = place_objects(48000, seed=2)
    cued = corners[torch.arange(48000), target]
    cell = (cued[:, 0] // 5) * 4 + cued[:, 1] // 5
    for k in range(3):
        counts = torch.bincount(cell[labels == k], minlength=16).double()
        expected = counts.sum() / 16
        chi2 = ((counts - expected) ** 2 / expected).sum().item()
        assert chi2 < 37.7, (k, counts)  # 0.999 quantile of chi-square with 15 degrees of freedom


def test_classes_are_balanced():
    labels, *_ = place_objects(30000, seed=3)
    shares = torch.bincount(labels, minlength=3) / 30000
    assert (shares - 1 / 3).abs().max() < 0.015


def test_render_stamps_each_shape_and_the_cue():
    classes = torch.tensor([[0, 1, 2]])
    corners = torch.tensor([[[0, 0], [5, 2], [2, 5]]])
    x = render(classes, corners, torch.tensor([1]), size=8, noise=0.0)
    assert x.shape == (1, 2, 8, 8)
    ink = torch.zeros(8, 8)
    ink[0:3, 0:3] += SHAPES[0]
    ink[5:8, 2:5] += SHAPES[1]
    ink[2:5, 5:8] += SHAPES[2]
    cue = torch.zeros(8, 8)
    cue[5:8, 2:5] = 1.0
    assert torch.equal(x[0, 0], ink) and torch.equal(x[0, 1], cue)


def test_without_noise_the_ink_is_the_same_amount_in_every_image():
    """Every shape has five pixels and every image the same shapes: the ink's total carries no label."""
    _, classes, corners, target = place_objects(300, seed=4)
    x = render(classes, corners, target, noise=0.0)
    assert torch.equal(x[:, 0].sum(dim=(1, 2)), torch.full((300,), 30.0))
    assert torch.equal(x[:, 1].sum(dim=(1, 2)), torch.full((300,), 9.0))
    assert (SHAPES.sum(dim=(1, 2)) == 5).all()


def test_noise_has_the_asked_spread_and_is_seeded():
    empty = torch.zeros(400, 0, dtype=torch.long)
    corners = torch.zeros(400, 0, 2, dtype=torch.long)
    target = torch.zeros(400, dtype=torch.long)
    with pytest.raises(ValueError):
        render(empty, corners, target)  # no object to cue
    _, classes, corners, target = place_objects(400, seed=5)
    clean = render(classes, corners, target, noise=0.0)
    noisy = render(classes, corners, target, noise=0.2, seed=6)
    assert abs((noisy - clean).std().item() - 0.2) < 0.005
    assert torch.equal(noisy, render(classes, corners, target, noise=0.2, seed=6))
    assert not torch.equal(noisy, render(classes, corners, target, noise=0.2, seed=7))


def test_task_is_deterministic_and_train_differs_from_test():
    train, test = cue_task(200, 100, seed=3)
    again, _ = cue_task(200, 100, seed=3)
    assert train.x.shape == (200, 2, 20, 20) and test.x.shape == (100, 2, 20, 20)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.long
    assert torch.equal(train.x, again.x) and torch.equal(train.y, again.y)
    assert not torch.equal(train.x[:100], test.x)
    other, _ = cue_task(200, 100, seed=4)
    assert not torch.equal(train.x, other.x)
    small, _ = cue_task(10, 10, grid=3, cell=4, per_class=1)
    assert small.x.shape == (10, 2, 12, 12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: place_objects(0), ValueError, "n must be an int >= 1, got 0"),
    (lambda: place_objects(10, grid=0), ValueError, "grid must be an int >= 1, got 0"),
    (lambda: place_objects(10, cell=2), ValueError, "cell must be an int >= 3, got 2"),
    (lambda: place_objects(10, per_class=1.5), TypeError, "per_class must be an int >= 1, got 1.5 (float)"),
    (lambda: place_objects(10, grid=2, per_class=2), ValueError,
     "per_class=2 needs 3 * per_class = 6 cells, but grid=2 has only grid * grid = 4"),
    (lambda: place_objects(10, seed="0"), TypeError, "seed must be an int, got '0' (str)"),
    (lambda: render([[0]], torch.zeros(1, 1, 2, dtype=torch.long), torch.zeros(1, dtype=torch.long)), ValueError,
     "classes must be a tensor of shape (n, k), got list"),
    (lambda: render(torch.zeros(1, 1), torch.zeros(1, 1, 2, dtype=torch.long), torch.zeros(1, dtype=torch.long)),
     TypeError, "classes must be an integer tensor, got dtype torch.float32"),
    (lambda: render(torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long),
                    torch.zeros(1, dtype=torch.long)), ValueError,
     "corners must be a tensor of shape (n, k, 2), got (1, 2)"),
    (lambda: render(torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 1, 2, dtype=torch.long),
                    torch.zeros(1, dtype=torch.long)), ValueError,
     "classes (n, k), corners (n, k, 2) and target (n,) must agree, got (1, 2), (1, 1, 2) and (1,)"),
    (lambda: render(torch.tensor([[3]]), torch.zeros(1, 1, 2, dtype=torch.long), torch.zeros(1, dtype=torch.long)),
     ValueError, "classes must lie in 0 .. 2, got values in 3 .. 3"),
    (lambda: render(torch.zeros(1, 1, dtype=torch.long), torch.tensor([[[0, 6]]]), torch.zeros(1, dtype=torch.long),
                    size=8), ValueError, "corners must lie in 0 .. size - 3 = 5 so a 3 x 3 shape fits, got values in 0 .. 6"),
    (lambda: render(torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1, 2, dtype=torch.long), torch.tensor([1])),
     ValueError, "target must index one of the k = 1 objects (0 .. 0), got values in 1 .. 1"),
    (lambda: render(torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1, 2, dtype=torch.long),
                    torch.zeros(1, dtype=torch.long), noise=-1.0), ValueError, "noise must be >= 0, got -1.0"),
    (lambda: render(torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1, 2, dtype=torch.long),
                    torch.zeros(1, dtype=torch.long), noise="a"), TypeError, "noise must be a real number, got 'a' (str)"),
    (lambda: cue_task(n_train=0), ValueError, "n_train must be an int >= 1, got 0"),
    (lambda: cue_task(n_test=-1), ValueError, "n_test must be an int >= 1, got -1"),
    (lambda: cue_task(seed=1.0), TypeError, "seed must be an int, got 1.0 (float)"),
    (lambda: cue_task(cell=True), TypeError, "cell must be an int >= 3, got True (bool)"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
