"""Add attention modules to a network you already have.

``attach(model, "se", where=...)`` replaces every chosen submodule ``m`` by
``nn.Sequential(m, attention)``, so the attention sees ``m``'s output and everything after
it sees the refined map. The attention's channel count is read from ``m`` (its
``out_channels``, ``num_features`` or ``out_features``, or those of its last layer that has one).

Wrapped modules move one level down: ``layer1.0.bn3.weight`` becomes ``layer1.0.bn3.0.weight``.
Load pretrained weights *before* attaching.
"""
from __future__ import annotations

from typing import Callable, Iterable, Union

from torch import nn

from .factory import AttentionSpec, make_attention

Where = Union[Callable[[str, nn.Module], bool], type, tuple, Iterable[str]]


def output_channels(module: nn.Module) -> int:
    """The channel count a module produces: its own, or that of its last layer that declares one."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    for m in reversed(list(module.modules())):
        for attr in ("out_channels", "num_features", "out_features"):
            value = getattr(m, attr, None)
            if isinstance(value, int):
                return value
    raise ValueError(
        f"cannot tell how many channels {type(module).__name__} outputs: it has no layer with "
        "out_channels, num_features or out_features; choose a Conv, BatchNorm or Linear (or a block ending in one)"
    )


def _selector(where: Where, names: list[str]) -> Callable[[str, nn.Module], bool]:
    if isinstance(where, type) or (isinstance(where, tuple) and where and all(isinstance(t, type) for t in where)):
        return lambda name, module: isinstance(module, where)
    if callable(where):
        return where
    if isinstance(where, str):
        raise TypeError(f"where must be a list of module names, not a single string; got {where!r} (write [{where!r}])")
    if isinstance(where, Iterable):
        wanted = list(where)
        bad = [w for w in wanted if not isinstance(w, str)]
        if bad:
            raise TypeError(f"where must list module names (str), got {bad[0]!r} ({type(bad[0]).__name__})")
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ValueError(
                f"where names modules the model does not have: {missing}; "
                f"names look like {names[1:4]} (see model.named_modules())"
            )
        chosen = set(wanted)
        return lambda name, module: name in chosen
    raise TypeError(
        "where must be a predicate (name, module) -> bool, a module type (or tuple of types), "
        f"or a list of module names; got {where!r} ({type(where).__name__})"
    )


def attach(model: nn.Module, attention: AttentionSpec, where: Where, fast: bool = False, **options) -> list[str]:
    """Insert an attention module after every submodule of ``model`` that ``where`` selects.

    Args:
        model: the network, changed in place.
        attention: ``"se"``, ``"cbam"``, ``"eca"``, ``"ca"`` or a callable ``channels -> nn.Module``
            (``None`` is refused: attaching nothing is a mistake).
        where: which submodules get attention after them, one of
            - a predicate ``(name, module) -> bool`` over ``model.named_modules()``,
              e.g. ``lambda name, m: name.endswith(".bn3")``;
            - a module type or tuple of types, e.g. ``nn.BatchNorm2d``;
            - a list of qualified names, e.g. ``["layer1.0.bn3", "layer2.0.bn3"]``.
            The model itself (name ``""``) is never selected.
        fast: insert the fast twins of the named modules (:mod:`attn_src.fast`).
        **options: passed to each attention module's constructor (``reduction=8``).

    Returns:
        The names of the wrapped modules, in ``named_modules()`` order.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    >>> attach(net, "eca", where=["0"])
    ['0']
    >>> type(net[0][1]).__name__
    'ECA'
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if attention is None:
        raise ValueError("attention must be a name ('se', 'cbam', 'eca', 'ca') or a callable; got None, which attaches nothing")
    named = list(model.named_modules())
    select = _selector(where, [name for name, _ in named])
    chosen = [(name, module) for name, module in named if name and select(name, module)]
    if not chosen:
        raise ValueError(f"where={where!r} selected no submodule of {type(model).__name__}")
    attentions = {name: make_attention(attention, output_channels(module), fast, **options) for name, module in chosen}
    # Deepest first, so a chosen module inside another chosen one is wrapped before its parent moves.
    for name, module in reversed(chosen):
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, nn.Sequential(module, attentions[name]))
    return [name for name, _ in chosen]
