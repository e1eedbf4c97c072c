"""Offline data for the chapters: nothing here downloads anything.

- :func:`digits`: scikit-learn's 8x8 handwritten digits (1,797 images, shipped with the package).
- :func:`sample_images`: scikit-learn's two colour photographs (``china.jpg``, ``flower.jpg``).
- :func:`train_test`: the two splits of a generated task (``attn_src.*_task``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from ._validate import check_int, check_seed


@dataclass
class Split:
    """Images ``x`` (N, C, H, W) float32 and integer labels ``y`` (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


def train_test(draw: Callable[[int, int], Split], n_train: int, n_test: int, seed: int) -> tuple[Split, Split]:
    """``(draw(n_train, seed), draw(n_test, seed + 1))``: a generated task's train and test splits, drawn
    independently, so that the same arguments always give the same data."""
    n_train, n_test = check_int("n_train", n_train), check_int("n_test", n_test)
    seed = check_seed(seed)
    return draw(n_train, seed), draw(n_test, seed + 1)


def digits(size: int = 16, test_fraction: float = 0.25, seed: int = 0) -> tuple[Split, Split]:
    """scikit-learn's digits as (train, test), scaled to ``size`` x ``size``, standardised.

    The split is stratified and fixed by ``seed``; pixel values are standardised with the
    training set's mean and standard deviation.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    check_int("size", size, minimum=8)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    y = torch.tensor(data.target, dtype=torch.long)
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=test_fraction, random_state=seed, stratify=data.target
    )
    mean, std = x[idx_train].mean(), x[idx_train].std()
    x = (x - mean) / std
    return Split(x[idx_train], y[idx_train]), Split(x[idx_test], y[idx_test])


def sample_images(size: int | None = None) -> dict[str, torch.Tensor]:
    """scikit-learn's sample photographs as float tensors (3, H, W) in [0, 1], by name.

    With ``size``, each is resized (bilinear) so its shorter side is ``size`` pixels.
    """
    from sklearn.datasets import load_sample_images

    images = {}
    bunch = load_sample_images()
    for name, array in zip(bunch.filenames, bunch.images):
        img = torch.tensor(array, dtype=torch.float32).permute(2, 0, 1) / 255.0
        if size is not None:
            check_int("size", size, minimum=8)
            h, w = img.shape[1:]
            scale = size / min(h, w)
            img = F.interpolate(img[None], size=(round(h * scale), round(w * scale)),
                                mode="bilinear", align_corners=False, antialias=True)[0]
        images[name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".jpg")] = img
    return images
