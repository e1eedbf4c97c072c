"""Checkers for the book's implementation exercises: one per exercise, each printing a clear verdict.

>>> from attn_src import checks
>>> checks.check_se_conv(MySEConv)          # doctest: +SKIP
PASSED: SE with 1x1 convolutions (6 checks)
"""
from ._core import CheckFailure, run_checks

__all__ = ["CheckFailure", "run_checks"]
