"""One switch for every network: ``attention=None | "se" | "cbam" | "eca" | "ca" | callable``."""
from __future__ import annotations

from typing import Callable, Union

from torch import nn

from .._validate import check_bool
from ..registry import MODULES

AttentionSpec = Union[None, str, Callable[[int], nn.Module]]

#: ``attention=`` names: the registry's names in lower case.
ATTENTION_NAMES = {name.lower(): cls for name, cls in MODULES.items()}


def make_attention(attention: AttentionSpec, channels: int, fast: bool = False, **options) -> nn.Module:
    """Build the attention module named by ``attention`` for ``channels`` channels.

    Args:
        attention: ``None`` (no attention: ``nn.Identity``), one of ``"se"``, ``"cbam"``,
            ``"eca"``, ``"ca"``, or a callable ``channels -> nn.Module``.
        channels: the channel count at the insertion point.
        fast: build the named module's fast twin (:mod:`attn_src.fast`): the same parameters
            and outputs, computed faster.
        **options: keyword arguments for the module's constructor (e.g. ``reduction=8``).
    """
    check_bool("fast", fast)
    if attention is None:
        if options or fast:
            given = sorted(options) + (["fast"] if fast else [])
            raise ValueError(f"options {given} were given, but attention=None builds no module")
        return nn.Identity()
    if isinstance(attention, str):
        if attention not in ATTENTION_NAMES:
            allowed = ", ".join(repr(k) for k in ATTENTION_NAMES)
            raise ValueError(f"attention must be None, one of {allowed}, or a callable; got {attention!r}")
        cls = ATTENTION_NAMES[attention]
        if fast:
            from ..fast import FAST_TWINS  # the fast path loads only when asked for

            cls = FAST_TWINS[cls]
        return cls(channels, **options)
    if callable(attention):
        if options or fast:
            given = sorted(options) + (["fast"] if fast else [])
            raise ValueError(f"options {given} cannot be passed to a callable attention; bind them in it")
        module = attention(channels)
        if not isinstance(module, nn.Module):
            raise TypeError(f"attention({channels}) must return an nn.Module, got {type(module).__name__}")
        return module
    raise TypeError(
        f"attention must be None, a name ({', '.join(ATTENTION_NAMES)}) or a callable channels -> nn.Module; "
        f"got {attention!r} ({type(attention).__name__})"
    )


def per_stage_options(options: dict, num_stages: int) -> list[dict]:
    """Split attention options into one dict per stage of a network.

    Each option is either one value used in every stage, or a list/tuple with one value per
    stage: ``per_stage_options({"kernel_size": [3, 5, 5, 7], "gamma": 2}, 4)`` gives
    ``[{"kernel_size": 3, "gamma": 2}, {"kernel_size": 5, "gamma": 2}, ...]``. This is how
    ECA-ResNet-50's official per-stage kernels ``k_size=[3, 5, 5, 7]`` are expressed; no
    module option takes a list itself, so a list always means "per stage".
    """
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict of option name -> value, got {type(options).__name__}")
    if isinstance(num_stages, bool) or not isinstance(num_stages, int) or num_stages < 1:
        raise ValueError(f"num_stages must be an int >= 1, got {num_stages!r}")
    stages: list[dict] = [{} for _ in range(num_stages)]
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            if len(value) != num_stages:
                raise ValueError(
                    f"option {key}={list(value)!r} gives {len(value)} values, but the network has "
                    f"{num_stages} stages: give one value, or a list of {num_stages} (one per stage)"
                )
            for stage, item in zip(stages, value):
                stage[key] = item
        else:
            for stage in stages:
                stage[key] = value
    return stages
