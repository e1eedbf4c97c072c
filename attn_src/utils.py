"""Small helpers every chapter uses: seeding, showing library source, and glueing numbers into the text."""
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


def glue(name: str, value: object) -> None:
    """Hand ``value`` to the book's text under ``name`` (myst-nb's ``glue``, shown nowhere in the cell).

    The text quotes it as `` {glue:text}`name:.2f` ``, so a number that a timing or a training run
    produced is the one this run produced, on whatever machine built the page. Where myst-nb is not
    installed (Colab, where the chapter's markdown is the plain Colab edition), it does nothing.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)
