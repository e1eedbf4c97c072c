"""The chapters' training loop (attn_src.train).

The notebooks do not compare trained accuracies (float rounding differs between CPUs, see the
README), so what they rely on is checked here: the same seed gives the same run on one machine,
the loop learns, and compare / summarize tabulate what was measured.
"""
from __future__ import annotations

import statistics

import pytest
import torch
from torch import nn

from attn_src.data import Split
from attn_src.train import accuracy, compare, fit, summarize
from attn_src.utils import seed_everything


def blobs(n: int, seed: int) -> Split:
    """Two classes of 1x4x4 images: the mean of each image's left half is -1 or +1 (plus noise)."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=gen)
    x = 0.5 * torch.randn(n, 1, 4, 4, generator=gen)
    x[:, :, :, :2] += (2.0 * y - 1.0).view(n, 1, 1, 1)
    return Split(x, y)


TRAIN, TEST = blobs(256, seed=1), blobs(128, seed=2)


def tiny(width: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * width, 2))


def trained(seed: int, **options) -> tuple[nn.Module, object]:
    seed_everything(seed)
    model = tiny()
    return model, fit(model, TRAIN, TEST, seed=seed, **options)


def test_the_same_seed_gives_the_same_run():
    (a, history_a), (b, history_b) = trained(3, epochs=3), trained(3, epochs=3)
    assert history_a.train_loss == history_b.train_loss
    assert history_a.test_accuracy == history_b.test_accuracy
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_another_seed_gives_another_run():
    (_, history_a), (_, history_b) = trained(3, epochs=2), trained(4, epochs=2)
    assert history_a.train_loss != history_b.train_loss


def test_fit_learns_a_separable_task():
    _, history = trained(0, epochs=6, lr=1e-2, batch_size=32)
    assert len(history.train_loss) == len(history.test_accuracy) == 6
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.final_accuracy >= 0.95      # chance is about 0.5
    assert history.seconds_per_epoch > 0


def test_accuracy_counts_correct_predictions_and_keeps_the_mode():
    class Says(nn.Module):
        def forward(self, x):  # class 1 exactly where the left half is positive on average
            left = x[:, 0, :, :2].mean(dim=(1, 2))
            return torch.stack([-left, left], dim=1)

    model = Says().train()
    want = ((TEST.x[:, 0, :, :2].mean(dim=(1, 2)) > 0).long() == TEST.y).float().mean().item()
    assert accuracy(model, TEST, batch_size=7) == pytest.approx(want, abs=1e-12)
    assert model.training


def test_compare_and_summarize_tabulate_every_variant_and_seed():
    results = compare(lambda width: tiny(width), [2, 4], TRAIN, TEST, seeds=(0, 1), epochs=1)
    assert list(results["variant"]) == ["2", "2", "4", "4"]
    assert list(results["seed"]) == [0, 1, 0, 1]
    assert list(results["params"]) == [(1 * 9 + 1) * w + (16 * w + 1) * 2 for w in (2, 2, 4, 4)]
    summary = summarize(results)
    assert list(summary.index) == ["2", "4"]
    for variant in ("2", "4"):
        accuracies = results.loc[results["variant"] == variant, "accuracy"].tolist()
        assert summary.loc[variant, "accuracy_mean"] == pytest.approx(statistics.mean(accuracies))
        assert summary.loc[variant, "accuracy_std"] == pytest.approx(statistics.stdev(accuracies))


def test_compare_names_the_plain_variant_none():
    results = compare(lambda _: tiny(), [None], TRAIN, TEST, seeds=(0,), epochs=1)
    assert list(results["variant"]) == ["none"]


@pytest.mark.parametrize("name, value, message", [
    ("epochs", 0, "epochs must be"),
    ("batch_size", 2.5, "batch_size must be"),
    ("lr", -1e-3, "lr must be"),
])
def test_fit_rejects_bad_arguments(name, value, message):
    with pytest.raises((TypeError, ValueError), match=message) as error:
        fit(tiny(), TRAIN, TEST, **{name: value})
    assert repr(value) in str(error.value) or str(value) in str(error.value)
