"""The marked-band task: its labels, its marker, its determinism, its argument errors, and BandNet."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attn_src import ECA, SE
from attn_src.eca_task import CLASSES, MARKERS, PERIOD, BandNet, band_examples, gratings, marked_band_task


def test_shapes_and_ranges():
    x, labels, bands = band_examples(300, channels=16, size=12, seed=0)
    assert x.shape == (300, 16, 12, 12) and x.dtype == torch.float32
    assert labels.shape == bands.shape == (300,)
    assert set(labels.tolist()) == set(range(len(CLASSES)))
    assert bands.min() >= 1 and bands.max() <= 14  # both neighbours exist
    assert CLASSES == ("horizontal", "vertical", "rising diagonal", "falling diagonal") and MARKERS == ("dark", "bright")


@pytest.mark.parametrize("orientation, constant_along", [(0, "row"), (1, "column"), (2, "rising"), (3, "falling")])
def test_each_class_has_stripes_running_its_way(orientation, constant_along):
    g = gratings(torch.tensor([orientation]), torch.tensor([0.3]), size=8)[0]
    r, c = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    key = {"row": r, "column": c, "rising": r + c, "falling": r - c}[constant_along]
    for value in key.unique():
        along = g[key == value]
        assert torch.allclose(along, along[0].expand_as(along), atol=1e-6)
    assert not torch.allclose(g, g[0, 0].expand_as(g))


def test_gratings_average_to_zero_with_half_their_squared_amplitude():
    gen = torch.Generator().manual_seed(0)
    g = gratings(torch.randint(0, 4, (50,), generator=gen), 6.3 * torch.rand(50, generator=gen), size=12)
    assert g.mean(dim=(1, 2)).abs().max() < 1e-5
    assert torch.allclose(g.pow(2).mean(dim=(1, 2)), torch.full((50,), 0.5), atol=1e-5)


@pytest.mark.parametrize("marker", MARKERS)
def test_the_channel_averages_show_the_marker(marker):
    x, _, bands = band_examples(200, noise=0.0, level=1.0, marker=marker, seed=3)
    means = x.mean(dim=(2, 3))
    beside = torch.zeros_like(means, dtype=torch.bool)
    beside[torch.arange(200), bands - 1] = True
    beside[torch.arange(200), bands + 1] = True
    expected = (~beside if marker == "dark" else beside).float()
    assert torch.allclose(means, expected, atol=1e-5)


def test_the_labelled_band_holds_the_labels_grating_and_the_others_fainter_ones():
    x, labels, bands = band_examples(100, noise=0.0, level=0.0, distractor=0.5, seed=4)
    rows = torch.arange(100)
    rms = x.pow(2).mean(dim=(2, 3)).sqrt()
    assert torch.allclose(rms[rows, bands], torch.full((100,), math.sqrt(0.5)), atol=1e-5)
    assert rms[rows, bands - 1].max() == 0 and rms[rows, bands + 1].max() == 0  # the marker bands: no stripes
    others = torch.ones_like(rms, dtype=torch.bool)
    others[rows, bands] = others[rows, bands - 1] = others[rows, bands + 1] = False
    assert torch.allclose(rms[others], torch.full_like(rms[others], 0.5 * math.sqrt(0.5)), atol=1e-5)
    # the labelled band's picture is a grating of the label's orientation (some phase)
    for i in range(10):
        picture = x[i, bands[i]]
        fits = [min((picture - gratings(torch.tensor([o]), torch.tensor([p]), 12)[0]).abs().max().item()
                    for p in torch.linspace(0, 2 * math.pi, 721).tolist()) for o in range(4)]
        assert min(range(4), key=fits.__getitem__) == labels[i].item()


def test_labels_and_bands_are_balanced_and_independent():
    _, labels, bands = band_examples(20000, channels=8, size=4, seed=5)
    assert (torch.bincount(labels, minlength=4) / 20000 - 0.25).abs().max() < 0.015
    assert (torch.bincount(bands, minlength=7)[1:] / 20000 - 1 / 6).abs().max() < 0.015
    # each label equally common at every band
    table = torch.zeros(6, 4)
    table.index_put_((bands - 1, labels), torch.ones(20000), accumulate=True)
    assert ((table / table.sum(1, keepdim=True)) - 0.25).abs().max() < 0.05


def test_noise_has_the_asked_spread():
    x, _, bands = band_examples(400, noise=0.3, level=0.0, seed=6)
    marker_pixels = x[torch.arange(400), bands - 1]  # only noise there
    assert abs(marker_pixels.std().item() - 0.3) < 0.01 and abs(marker_pixels.mean().item()) < 0.01


def test_deterministic_and_seeded():
    a, b = marked_band_task(n_train=50, n_test=20, seed=7), marked_band_task(n_train=50, n_test=20, seed=7)
    for split_a, split_b in zip(a, b):
        assert torch.equal(split_a.x, split_b.x) and torch.equal(split_a.y, split_b.y)
    other, _ = marked_band_task(n_train=50, n_test=20, seed=8)
    assert not torch.equal(a[0].x, other.x)
    # test is drawn with seed + 1
    x, labels, _ = band_examples(20, seed=8)
    assert torch.equal(a[1].x, x) and torch.equal(a[1].y, labels)
    assert len(a[0]) == 50 and len(a[1]) == 20


def test_a_three_weight_eca_finds_the_band():
    """The task's premise: ECA with k = 3 (weights -5, 0, -5) opens the labelled band and shuts the rest."""
    x, _, bands = band_examples(200, seed=9)
    eca = ECA(16, kernel_size=3)
    with torch.no_grad():
        eca.conv.weight.copy_(torch.tensor([[[-5.0, 0.0, -5.0]]]))
        gate = eca.gate(x).view(200, 16)
    rows = torch.arange(200)
    assert gate[rows, bands].min() > 0.3
    others = torch.ones_like(gate, dtype=torch.bool)
    others[rows, bands] = False
    inner = others.clone()
    inner[:, 0] = inner[:, -1] = False
    assert gate[inner].max() < 0.02
    # an end band sees the zero padding as one dark neighbour: it stays shut unless its other
    # neighbour is a marker band too (j = 2 or j = 13), where it opens like the labelled band
    assert gate[bands != 2, 0].max() < 0.02 and gate[bands != 13, 15].max() < 0.02
    assert gate[bands == 2, 0].min() > 0.3 and gate[bands == 13, 15].min() > 0.3


@pytest.mark.parametrize("attention, options, module, extra", [
    (None, {}, nn.Identity, 0),
    ("eca", {"kernel_size": 3}, ECA, 3),
    ("eca", {"kernel_size": 1}, ECA, 1),
    ("se", {"reduction": 1}, SE, 2 * 16 * 16 + 2 * 16),
])
def test_bandnet_puts_the_attention_on_the_input(attention, options, module, extra):
    net = BandNet(attention, **options)
    assert isinstance(net.attention, module)
    assert net(torch.randn(3, 16, 12, 12)).shape == (3, len(CLASSES))
    plain = sum(p.numel() for p in BandNet().parameters())
    assert sum(p.numel() for p in net.parameters()) == plain + extra
    assert plain == 16 * 16 * 9 + 2 * 16 + 16 * 32 * 9 + 2 * 32 + 32 * 4 + 4


def _message(text):
    return text.replace("(", "\\(").replace(")", "\\)").replace(".", "\\.").replace("+", "\\+")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n=0), ValueError, "n must be an int >= 1, got 0"),
    (dict(n=10, channels=2), ValueError, "channels must be an int >= 3, got 2"),
    (dict(n=10, channels=16.0), TypeError, "channels must be an int >= 3, got 16.0 (float)"),
    (dict(n=10, size=10), ValueError,
     "size must be a multiple of 4 (whole periods of the stripes, so each grating averages to 0), got 10"),
    (dict(n=10, size=2), ValueError, "size must be an int >= 4, got 2"),
    (dict(n=10, noise=-0.1), ValueError, "noise must be a real number >= 0, got -0.1"),
    (dict(n=10, distractor=-1), ValueError, "distractor must be a real number >= 0, got -1"),
    (dict(n=10, distractor="0.5"), TypeError, "distractor must be a real number, got '0.5' (str)"),
    (dict(n=10, level=float("nan")), ValueError, "level must be a finite real number, got nan"),
    (dict(n=10, marker="grey"), ValueError, "marker must be one of 'dark', 'bright', got 'grey'"),
    (dict(n=10, seed=1.5), TypeError, "seed must be an int, got 1.5 (float)"),
])
def test_band_examples_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=_message(message)):
        band_examples(**kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n_train=0), ValueError, "n_train must be an int >= 1, got 0"),
    (dict(n_test=2.5), TypeError, "n_test must be an int >= 1, got 2.5 (float)"),
    (dict(seed="0"), TypeError, "seed must be an int, got '0' (str)"),
    (dict(marker="dim"), ValueError, "marker must be one of 'dark', 'bright', got 'dim'"),
])
def test_marked_band_task_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=_message(message)):
        marked_band_task(**kwargs)


@pytest.mark.parametrize("args, error, message", [
    ((torch.tensor([0.0]), torch.tensor([0.0])), TypeError,
     "orientations must be an integer tensor (class indices), got torch.float32"),
    (([0], torch.tensor([0.0])), TypeError, "orientations must be an integer tensor (class indices), got list"),
    ((torch.tensor([4]), torch.tensor([0.0])), ValueError,
     "orientations must lie in 0 .. 3 (indices into CLASSES), got values in 4 .. 4"),
    ((torch.tensor([1]), torch.tensor([0])), TypeError, "phases must be a float tensor (radians), got torch.int64"),
    ((torch.tensor([1, 2]), torch.tensor([0.0])), ValueError,
     "phases must have the shape of orientations (2,), got (1,)"),
    ((torch.tensor([1]), torch.tensor([0.0]), 6), ValueError,
     "size must be a multiple of 4 (whole periods of the stripes, so each grating averages to 0), got 6"),
])
def test_gratings_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=_message(message)):
        gratings(*args)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(width=0), ValueError, "width must be an int >= 1, got 0"),
    (dict(channels="16"), TypeError, "channels must be an int >= 1, got '16' (str)"),
    (dict(num_classes=0), ValueError, "num_classes must be an int >= 1, got 0"),
    (dict(attention="sk"), ValueError, "attention must be None, one of"),
])
def test_bandnet_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=_message(message)):
        BandNet(**kwargs)


def test_period_divides_the_default_size():
    assert 12 % PERIOD == 0
