"""Checkers for the book's implementation exercises: one per exercise, each printing a clear verdict.

Each takes the learner's class or function, runs it against the reference implementation on
several shapes and prints ``PASSED: ...``, ``NOT YET: ...`` (the stub still raises
``NotImplementedError``) or ``FAILED: ...`` with what is wrong; it also returns the verdict.

>>> from attn_src import checks
>>> checks.check_se_conv(MySEConv)          # doctest: +SKIP
PASSED: ...
"""
from ._core import CheckFailure, Verdict, run_checks
from .backbones import check_last_bn_names
from .cbam import check_cbam, check_spatial_attention
from .compare import check_max_se
from .coord import check_coord_attention
from .costs import check_se_flops
from .eca import check_eca_forward, check_kernel_size
from .se import check_se_conv

__all__ = [
    "CheckFailure",
    "Verdict",
    "check_cbam",
    "check_coord_attention",
    "check_eca_forward",
    "check_kernel_size",
    "check_last_bn_names",
    "check_max_se",
    "check_se_conv",
    "check_se_flops",
    "check_spatial_attention",
    "run_checks",
]
