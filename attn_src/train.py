"""A small, deterministic training loop for the chapters' experiments."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ._validate import check_int, check_positive_number
from .data import Split
from .utils import seed_everything


@dataclass
class History:
    """What :func:`fit` measured: per-epoch training loss and test accuracy, and seconds per epoch."""

    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds_per_epoch: float = 0.0

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1]


@torch.no_grad()
def accuracy(model: nn.Module, data: Split, batch_size: int = 512) -> float:
    """Fraction of ``data`` that ``model`` classifies correctly (in eval mode)."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        logits = model(data.x[start:start + batch_size])
        correct += (logits.argmax(1) == data.y[start:start + batch_size]).sum().item()
    model.train(was_training)
    return correct / len(data)


def fit(
    model: nn.Module,
    train: Split,
    test: Split,
    epochs: int = 10,
    lr: float = 3e-3,
    batch_size: int = 64,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> History:
    """Train ``model`` with AdamW and a cosine schedule; evaluate on ``test`` after every epoch.

    The batch order is drawn from ``seed``, so the same model, data and seed give the same history.
    """
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    check_positive_number("lr", lr)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(train) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    history = History()
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(train), generator=gen)
        total = 0.0
        for i in range(0, len(train), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(train.x[idx]), train.y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        history.train_loss.append(total / len(train))
        history.test_accuracy.append(accuracy(model, test))
    history.seconds_per_epoch = (time.perf_counter() - start) / epochs
    return history


def compare(
    make_model: Callable[[object], nn.Module],
    variants: Sequence[object],
    train: Split,
    test: Split,
    seeds: Sequence[int] = (0, 1, 2),
    **fit_options,
):
    """Train ``make_model(variant)`` for every variant and seed; return a tidy DataFrame.

    Each row: variant, seed, parameters, final test accuracy, seconds per epoch. The model is
    built after seeding with ``seed``, so initial weights differ between seeds but not between runs.
    """
    import pandas as pd

    rows = []
    for variant in variants:
        for seed in seeds:
            seed_everything(seed)
            model = make_model(variant)
            hist = fit(model, train, test, seed=seed, **fit_options)
            rows.append({
                "variant": "none" if variant is None else str(variant),
                "seed": seed,
                "params": sum(p.numel() for p in model.parameters()),
                "accuracy": hist.final_accuracy,
                "seconds_per_epoch": hist.seconds_per_epoch,
            })
    return pd.DataFrame(rows)


def summarize(results) -> "pd.DataFrame":  # noqa: F821
    """Mean and standard deviation of accuracy per variant (from :func:`compare`)."""
    grouped = results.groupby("variant", sort=False)
    return grouped.agg(
        params=("params", "first"),
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        seconds_per_epoch=("seconds_per_epoch", "mean"),
    )
