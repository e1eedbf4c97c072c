"""Small helpers every chapter uses: seeding and showing library source."""
from __future__ import annotations

import inspect
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch so a notebook gives the same numbers on every run.

    Returns a ``torch.Generator`` seeded with ``seed`` for code that wants its own stream.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def show_source(obj: object):
    """Display the source of a class, function or method of ``attn_src`` with highlighting.

    Chapters call this instead of pasting code, so the page always shows the code that runs.
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except TypeError as err:
        raise TypeError(f"obj must be a class, function or method, got {type(obj).__name__}") from err
    return Code(inspect.cleandoc("\n" + source) if source.startswith(" ") else source, language="python")
