"""The one registry of the four mechanisms, by the names the book prints.

Every table, benchmark and ``attention=`` switch reads this dict: ``attention="ca"`` is the lower-cased
name, and the fast twins are ``attn_src.fast.FAST_TWINS[cls]``.
"""
from __future__ import annotations

from torch import nn

from .cbam import CBAM
from .coord import CoordAttention
from .eca import ECA
from .se import SE

#: The four plain modules with the official defaults, in the book's order of chapters.
MODULES: dict[str, type[nn.Module]] = {"SE": SE, "CBAM": CBAM, "ECA": ECA, "CA": CoordAttention}
