"""Argument checks shared by every public class and function.

Each check raises a ``TypeError`` (wrong kind of value) or ``ValueError``
(right kind, wrong value) whose message names the argument, the value given
and what is allowed, so a learner sees the mistake at the line that made it
instead of a shape error from deep inside torch.
"""
from __future__ import annotations

import numbers

import torch


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_seed(value: object) -> int:
    """Return ``value`` if it is an integer (a random seed, any sign)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"seed must be an int, got {value!r} ({type(value).__name__})")
    return int(value)


def check_odd_kernel(name: str, value: object) -> int:
    """Return ``value`` if it is a positive odd integer (so 'same' padding exists)."""
    value = check_int(name, value, minimum=1)
    if value % 2 == 0:
        raise ValueError(
            f"{name} must be a positive odd int (an even kernel has no centred 'same' padding), got {value}"
        )
    return value


def check_positive_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number > 0, got {value!r} ({type(value).__name__})")
    if not value > 0:
        raise ValueError(f"{name} must be a real number > 0, got {value}")
    return float(value)


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite real number, got {value}")
    return float(value)


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool (not 0/1 or a string)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value  # type: ignore[return-value]


def hidden_width(channels: int, reduction: int, min_hidden: int = 0) -> int:
    """Width of a bottleneck: ``max(min_hidden, channels // reduction)``, never 0.

    A hidden width of 0 would build a layer with no weights whose output is a
    constant: the gate would ignore its input. That is always a mistake, so it
    raises instead (the blog listing's ``SE(8, ratio=16)`` used to do exactly that).
    """
    width = max(min_hidden, channels // reduction)
    if width < 1:
        raise ValueError(
            f"reduction={reduction} gives a hidden width of channels // reduction = "
            f"{channels} // {reduction} = 0 for channels={channels}; "
            f"allowed: 1 <= reduction <= {channels}"
        )
    return width


def check_4d(x: object) -> None:
    """Check that ``x`` is a 4-D (N, C, H, W) tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"input must be a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}")


def check_input(x: object, channels: int) -> None:
    """Check that ``x`` is an (N, C, H, W) tensor with ``channels`` channels."""
    check_4d(x)
    if x.shape[1] != channels:
        raise ValueError(
            f"input has the wrong channel count: expected {channels} channels, got {x.shape[1]} "
            f"(input shape {tuple(x.shape)})"
        )
