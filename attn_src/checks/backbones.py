"""Checker for the backbones chapter's implementation exercise: find where attention goes in a ResNet.

>>> from attn_src.checks.backbones import check_last_bn_names
>>> check_last_bn_names(my_last_bn_names)        # doctest: +SKIP
PASSED: the last BatchNorm of every residual branch (5 checks)
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..models import attach, cifar_resnet20, count_parameters, resnet18, resnet34, resnet50
from ..models.resnet import BasicBlock, Bottleneck
from ._core import CheckFailure, Verdict, run_checks

__all__ = ["check_last_bn_names"]

NETWORKS = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "cifar_resnet20": cifar_resnet20}


def _reference(model: nn.Module) -> list[str]:
    last = {BasicBlock: "bn2", Bottleneck: "bn3"}
    return [f"{name}.{last[type(m)]}" for name, m in model.named_modules() if type(m) in last]


def _build(name: str, attention=None) -> nn.Module:
    with torch.device("meta"):  # shapes only: no weights are allocated
        return NETWORKS[name](attention)


def check_last_bn_names(fn: Callable[[nn.Module], list[str]]) -> Verdict:
    """Check ``fn(model)`` returns the names of the last BatchNorm of every residual branch, in model order.

    Tried on ResNet-18/34 (basic blocks: ``bn2``), ResNet-50 (bottlenecks: ``bn3``) and the CIFAR
    ResNet-20; then ``attach(model, "se", where=fn(model))`` must have exactly as many
    parameters as the built-in ``resnet50("se")``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function model -> list of module names, got {type(fn).__name__}")

    def names_of(net_name: str) -> Callable[[], None]:
        def check() -> None:
            model = _build(net_name)
            got = fn(model)
            if not isinstance(got, (list, tuple)) or not all(isinstance(n, str) for n in got):
                raise CheckFailure(f"fn({net_name}) should return a list of module names (str), got {got!r}")
            expected = _reference(model)
            missing = [n for n in expected if n not in got]
            extra = [n for n in got if n not in expected]
            if any(".downsample" in n for n in extra):
                raise CheckFailure(
                    f"for {net_name} you chose {[n for n in extra if '.downsample' in n][:2]}: that BatchNorm is "
                    "on the shortcut; attention there would gate the identity path. Only the residual branch's last BN"
                )
            if missing or extra:
                raise CheckFailure(
                    f"for {net_name}: missing {missing[:3]}{' ...' if len(missing) > 3 else ''}, "
                    f"not wanted {extra[:3]}{' ...' if len(extra) > 3 else ''}. A BasicBlock's last BN is bn2, "
                    "a Bottleneck's is bn3 (check each block's type with isinstance)"
                )
            if list(got) != expected:
                raise CheckFailure(f"for {net_name} the names are right but not in model order: {list(got)[:4]} ...")
        return check

    def attach_reproduces_se_resnet50() -> None:
        model = _build("resnet50")
        attach(model, "se", where=fn(model))
        got, expected = count_parameters(model), count_parameters(_build("resnet50", "se"))
        if got != expected:
            raise CheckFailure(f"attach(resnet50(), 'se', where=fn(model)) has {got:,} parameters, resnet50('se') {expected:,}")

    checks = [(f"names in {name}", names_of(name)) for name in NETWORKS]
    checks.append(("attach(resnet50(), 'se', where=fn(model)) == resnet50('se') in size", attach_reproduces_se_resnet50))
    return run_checks("the last BatchNorm of every residual branch", checks)
