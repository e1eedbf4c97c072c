"""The same-colour task: labels follow the spots' channels, positions carry nothing, no small field sees both spots."""
from __future__ import annotations

import itertools

import pytest
import torch

from attn_src.models import TinyCNN
from attn_src.se_task import CLASSES, SPOT, TINYCNN_FIELD, render, same_colour_task, spot_layout


def test_labels_follow_the_channels():
    labels, channels, corners = spot_layout(3000, seed=0)
    assert labels.shape == (3000,) and channels.shape == (3000, 2) and corners.shape == (3000, 2, 2)
    assert set(labels.tolist()) == {0, 1} and set(channels.flatten().tolist()) == {0, 1}
    assert torch.equal(labels == 1, channels[:, 0] == channels[:, 1])
    assert CLASSES == ("two colours", "one colour")


def test_spots_are_min_gap_apart_along_one_axis_and_fit():
    labels, channels, corners = spot_layout(3000, size=16, min_gap=11, seed=1)
    apart = (corners[:, 0] - corners[:, 1]).abs().amax(dim=1)
    assert (apart >= 11).all()
    assert corners.min() >= 0 and corners.max() <= 16 - SPOT
    both_axes = (corners[:, 0] - corners[:, 1]).abs() >= 11
    assert both_axes[:, 0].any() and both_axes[:, 1].any()  # sometimes rows, sometimes columns


def test_no_window_of_the_receptive_field_touches_both_spots():
    """min_gap = 11: the nearest pixels of the two spots are 11 - 3 + 1 = 9 apart, so a 9-pixel window holds one."""
    _, _, corners = spot_layout(2000, seed=2)
    first, second = corners[:, 0], corners[:, 1]
    # the pixels of a spot span corner .. corner + 2 on each axis; a window of w pixels touches both only
    # if, on every axis, the far end of one spot minus the near end of the other is < w
    reach = torch.maximum(first + SPOT - 1 - second, second + SPOT - 1 - first).amax(dim=1) + 1
    assert (reach > TINYCNN_FIELD).all()


def test_tinycnn_last_stage_sees_a_nine_pixel_window():
    """TINYCNN_FIELD is what a gradient says: one unit of the last stage depends on a 9 x 9 input window."""
    torch.manual_seed(0)
    model = TinyCNN(None, in_channels=2, num_classes=2).eval()
    x = torch.randn(1, 2, 24, 24, requires_grad=True)
    features = model.features(x)                       # (1, 64, 6, 6)
    features[0, :, 3, 3].sum().backward()
    seen = x.grad[0].abs().sum(dim=0) > 0
    rows, cols = seen.any(dim=1).nonzero().flatten(), seen.any(dim=0).nonzero().flatten()
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (TINYCNN_FIELD, TINYCNN_FIELD)


def test_positions_say_nothing_about_the_label():
    """Per class, the spots' corners have the same distribution (chi-square over the 14 corner values)."""
    labels, _, corners = spot_layout(40000, seed=3)
    for spot, axis in itertools.product(range(2), range(2)):
        counts = torch.stack([torch.bincount(corners[labels == k, spot, axis], minlength=14) for k in (0, 1)]).double()
        expected = counts.sum(0, keepdim=True) * counts.sum(1, keepdim=True) / counts.sum()
        chi2 = ((counts - expected) ** 2 / expected).sum().item()
        assert chi2 < 34.5, (spot, axis, chi2)  # 13 degrees of freedom: 34.5 is the 0.999 quantile


def test_classes_and_colours_are_balanced():
    labels, channels, _ = spot_layout(30000, seed=4)
    assert abs(labels.double().mean().item() - 0.5) < 0.015
    assert abs(channels.double().mean().item() - 0.5) < 0.015


def test_render_puts_a_spot_of_ones_in_its_channel():
    channels = torch.tensor([[0, 1], [1, 1]])
    corners = torch.tensor([[[0, 0], [5, 2]], [[3, 3], [0, 5]]])
    x = render(channels, corners, size=8, noise=0.0)
    expected = torch.zeros(2, 2, 8, 8)
    expected[0, 0, 0:3, 0:3] = 1
    expected[0, 1, 5:8, 2:5] = 1
    expected[1, 1, 3:6, 3:6] = 1
    expected[1, 1, 0:3, 5:8] = 1
    assert torch.equal(x, expected)


def test_the_channel_sums_show_the_label():
    """Without noise, a channel's sum is 9 per spot: one colour is (18, 0) or (0, 18), two colours (9, 9)."""
    labels, channels, corners = spot_layout(500, seed=5)
    sums = render(channels, corners, noise=0.0).sum(dim=(2, 3))
    assert torch.equal(sums.max(dim=1).values == 18, labels == 1)


def test_a_threshold_on_a_sum_of_one_term_per_spot_is_right_on_three_combinations_at_most():
    """The module docstring's argument: a score g(c1) + g(c2) thresholded gets at most 3 of the 4 colour pairs."""
    for g0, g1, tau in itertools.product(torch.linspace(-2, 2, 9).tolist(), repeat=3):
        g = (g0, g1)
        right = sum((g[a] + g[b] > tau) == (a == b) for a, b in itertools.product((0, 1), repeat=2))
        assert right <= 3


def test_noise_has_the_asked_spread_and_is_seeded():
    empty = torch.zeros(400, 0, dtype=torch.long), torch.zeros(400, 0, 2, dtype=torch.long)
    x = render(*empty, size=16, noise=0.1, seed=6)
    assert x.shape == (400, 2, 16, 16)
    assert abs(x.std().item() - 0.1) < 0.005 and abs(x.mean().item()) < 0.005
    assert torch.equal(x, render(*empty, size=16, noise=0.1, seed=6))
    assert not torch.equal(x, render(*empty, size=16, noise=0.1, seed=7))


def test_task_is_deterministic_and_train_differs_from_test():
    train, test = same_colour_task(200, 100, seed=3)
    again, _ = same_colour_task(200, 100, seed=3)
    assert train.x.shape == (200, 2, 16, 16) and test.x.shape == (100, 2, 16, 16)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.long
    assert torch.equal(train.x, again.x) and torch.equal(train.y, again.y)
    assert not torch.equal(train.x[:100], test.x)
    other, _ = same_colour_task(200, 100, seed=4)
    assert not torch.equal(train.x, other.x)


LONG = torch.long


@pytest.mark.parametrize("call, error, message", [
    (lambda: spot_layout(0), ValueError, "n must be an int >= 1, got 0"),
    (lambda: spot_layout(10, size=13), ValueError,
     "min_gap=11 needs size >= min_gap + 3 = 14 (two spots min_gap apart), got size=13"),
    (lambda: spot_layout(10, min_gap=2), ValueError, "min_gap must be an int >= 3, got 2"),
    (lambda: spot_layout(10, size=2.5), TypeError, "size must be an int >= 3, got 2.5 (float)"),
    (lambda: spot_layout(10, seed="0"), TypeError, "seed must be an int, got '0' (str)"),
    (lambda: render(torch.zeros(3, 2, dtype=LONG), torch.zeros(3, 2, dtype=LONG)), ValueError,
     "corners must be a tensor of shape (n, k, 2), got (3, 2)"),
    (lambda: render(torch.zeros(1, 2, dtype=LONG), [[0, 0]]), ValueError,
     "corners must be a tensor of shape (n, k, 2), got list"),
    (lambda: render(torch.zeros(1, 3, dtype=LONG), torch.zeros(1, 2, 2, dtype=LONG)), ValueError,
     "channels must be a tensor of shape (n, k) = (1, 2), got (1, 3)"),
    (lambda: render(torch.zeros(1, 2, dtype=LONG), torch.zeros(1, 2, 2)), TypeError,
     "corners must be an integer tensor, got dtype torch.float32"),
    (lambda: render(torch.zeros(1, 2, dtype=torch.bool), torch.zeros(1, 2, 2, dtype=LONG)), TypeError,
     "channels must be an integer tensor, got dtype torch.bool"),
    (lambda: render(torch.zeros(1, 1, dtype=LONG), torch.tensor([[[0, 6]]]), size=8), ValueError,
     "corners must lie in 0 .. size - 3 = 5 so a 3 x 3 spot fits, got values in 0 .. 6"),
    (lambda: render(torch.tensor([[2]]), torch.zeros(1, 1, 2, dtype=LONG)), ValueError,
     "channels must be 0 or 1, got values in 2 .. 2"),
    (lambda: render(torch.zeros(1, 1, dtype=LONG), torch.zeros(1, 1, 2, dtype=LONG), noise=-1.0), ValueError,
     "noise must be >= 0, got -1.0"),
    (lambda: render(torch.zeros(1, 1, dtype=LONG), torch.zeros(1, 1, 2, dtype=LONG), noise="a"), TypeError,
     "noise must be a real number, got 'a' (str)"),
    (lambda: same_colour_task(n_train=0), ValueError, "n_train must be an int >= 1, got 0"),
    (lambda: same_colour_task(n_test=-1), ValueError, "n_test must be an int >= 1, got -1"),
    (lambda: same_colour_task(seed=1.0), TypeError, "seed must be an int, got 1.0 (float)"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
