"""Checker for the SE chapter's implementation exercise: SE with 1x1 convolutions.

The learner writes ``SEConv(channels, reduction=16)`` whose two fully connected layers are
``nn.Conv2d(..., kernel_size=1)`` with biases, as in the original SENet. The checker copies the
weights of an :class:`attn_src.SE` into the learner's two convolutions (in the order they are
registered) and compares the outputs on several shapes, recognising the usual mistakes.

>>> from attn_src.checks.se import check_se_conv
>>> check_se_conv(SEConv)                   # doctest: +SKIP
PASSED: SE with 1x1 convolutions (24 checks)
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ..se import SE
from ._core import CheckFailure, Verdict, expect_close, expect_in_unit_interval, expect_param_count, expect_shape, run_checks

TITLE = "SE with 1x1 convolutions"

# (channels, reduction, input shape): non-square maps, a 1x1 map, a batch of one, r = 2 ... 16.
CASES = (
    (32, 4, (2, 32, 5, 7)),
    (16, 16, (1, 16, 1, 1)),
    (64, 16, (3, 64, 8, 8)),
    (8, 2, (2, 8, 3, 3)),
)


def check_se_conv(cls: type) -> Verdict:
    """Check the learner's SE-with-1x1-convolutions class against :class:`attn_src.SE`; print the verdict.

    ``cls(channels, reduction=r)`` must build a module with exactly two ``nn.Conv2d`` layers of
    kernel size 1 (``C -> C // r`` then ``C // r -> C``, with biases) and no other parameters,
    whose forward computes Eqs. 2-4 of the SE paper. Returns True when every check passes.
    """
    if isinstance(cls, nn.Module):
        name = type(cls).__name__
        raise TypeError(f"cls must be a subclass of nn.Module, got an instance of {name}: pass the class, "
                        f"check_se_conv({name})")
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise TypeError(
            f"cls must be a subclass of nn.Module (the class itself, not an instance), "
            f"got {cls!r} ({type(cls).__name__})"
        )
    name = cls.__name__
    checks = []
    for channels, reduction, shape in CASES:
        built: dict[str, object] = {}
        call = f"{name}({channels}, reduction={reduction})"
        checks += [
            (f"building {call} and finding its two 1x1 convolutions",
             partial(_check_layers, cls, channels, reduction, built)),
            (f"the parameter count of {call}", partial(_check_params, channels, reduction, built)),
            (f"the output shape of {call} on an input of shape {shape}", partial(_check_output_shape, shape, built)),
            (f"the gate of {call}: one number per channel", partial(_check_gate_per_channel, built)),
            (f"the gate of {call}: a sigmoid's range", partial(_check_gate_range, built)),
            (f"the output of {call} against attn_src.SE with the same weights", partial(_check_output, built)),
        ]
    return run_checks(TITLE, checks)


def _check_layers(cls: type, channels: int, reduction: int, built: dict) -> None:
    with torch.random.fork_rng():  # the learner's notebook keeps its random stream
        module = cls(channels, reduction=reduction)
    if not isinstance(module, nn.Module):
        raise CheckFailure(f"{cls.__name__}(...) should build an nn.Module, got {type(module).__name__}")
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs and any(isinstance(m, nn.Linear) for m in module.modules()):
        raise CheckFailure(
            "found nn.Linear layers but no nn.Conv2d: this exercise asks for W1 and W2 as 1x1 convolutions, "
            "nn.Conv2d(in, out, kernel_size=1), which apply to the pooled (N, C, 1, 1) tensor without reshaping"
        )
    if len(convs) != 2:
        raise CheckFailure(f"expected exactly two nn.Conv2d layers (W1 then W2), found {len(convs)}")
    hidden = channels // reduction
    for conv, label, cin, cout in ((convs[0], "first", channels, hidden), (convs[1], "second", hidden, channels)):
        if tuple(conv.kernel_size) != (1, 1):
            raise CheckFailure(f"the {label} convolution has kernel_size {tuple(conv.kernel_size)}, expected 1")
        if (conv.in_channels, conv.out_channels) != (cin, cout):
            raise CheckFailure(
                f"the {label} convolution maps {conv.in_channels} -> {conv.out_channels} channels, expected "
                f"{cin} -> {cout} (W1: C -> C // r, W2: C // r -> C, with C={channels}, r={reduction})"
            )
    built.update(module=module, convs=convs, reduction=reduction)


def _check_params(channels: int, reduction: int, built: dict) -> None:
    hidden = channels // reduction
    weights = 2 * channels * hidden
    got = sum(p.numel() for p in built["module"].parameters())
    if got == weights:
        raise CheckFailure(
            f"{got} parameters = the weights 2*C*(C//r) only: the original SENet's 1x1 convolutions have biases "
            "(keep nn.Conv2d's default bias=True)"
        )
    expect_param_count("your module", built["module"], weights + hidden + channels,
                       f"2*C*(C//r) + C//r + C with C={channels}, r={reduction}")


def _check_output_shape(shape: tuple[int, ...], built: dict) -> None:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        reference = SE(shape[1], built["reduction"])
        gen = torch.Generator().manual_seed(1)
        # |x| >= 0.5 everywhere, so dividing the output by x recovers the gate safely.
        sign = torch.randint(0, 2, shape, generator=gen) * 2 - 1
        x = sign * (0.5 + torch.rand(shape, generator=gen))
    reduce_conv, expand_conv = built["convs"]
    with torch.no_grad():
        reduce_conv.weight.copy_(reference.reduce.weight[:, :, None, None])
        reduce_conv.bias.copy_(reference.reduce.bias)
        expand_conv.weight.copy_(reference.expand.weight[:, :, None, None])
        expand_conv.bias.copy_(reference.expand.bias)
        out = built["module"](x.clone())
        expected = reference(x)
    n, c = shape[:2]
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, c, 1, 1) and shape[2:] != (1, 1):
        raise CheckFailure(
            f"your forward returns shape {(n, c, 1, 1)}, the gate's: Eq. 4 scales the input by it, "
            "so return x * gate, of the input's shape"
        )
    expect_shape("your output", out, shape)
    built.update(x=x, out=out.detach(), expected=expected, reference=reference)


def _check_gate_per_channel(built: dict) -> None:
    factor = built["out"] / built["x"]
    spread = (factor.amax(dim=(2, 3)) - factor.amin(dim=(2, 3))).max().item()
    if spread > 1e-4:
        added = built["out"] - built["x"]
        if (added.amax(dim=(2, 3)) - added.amin(dim=(2, 3))).max().item() <= 1e-4:
            raise CheckFailure(
                "your output is the input plus one number per channel: Eq. 4 multiplies each channel by its "
                "gate, x * s, it does not add the gate"
            )
        raise CheckFailure(
            f"output / input varies over the positions (i, j) of a channel (by up to {spread:.3g}): the gate must "
            "be one number per channel, computed from the globally pooled input (Eq. 2) and broadcast over H x W"
        )
    built["gate"] = factor.mean(dim=(2, 3))


def _check_gate_range(built: dict) -> None:
    gate = built["gate"]
    expect_in_unit_interval("your gate (output / input)", gate)
    if gate.shape[1] > 1 and torch.allclose(gate.sum(dim=1), torch.ones(gate.shape[0]), atol=1e-4):
        raise CheckFailure(
            "your gates sum to 1 over the channels: that is a softmax. SE uses a sigmoid on each channel (Eq. 3), "
            "because channels are not mutually exclusive: several may be emphasised at once"
        )


def _check_output(built: dict) -> None:
    x, out, expected, reference = built["x"], built["out"], built["expected"], built["reference"]
    if not torch.allclose(out, expected, atol=1e-5):
        with torch.no_grad():
            for mistake, variant in _MISTAKES.items():
                if torch.allclose(out, variant(reference, x), atol=1e-5):
                    raise CheckFailure(f"your output equals SE's {mistake}")
    expect_close("your output", out, expected)


def _variant(reference: SE, x: torch.Tensor, pool: str = "mean", delta: str = "relu") -> torch.Tensor:
    """SE with one step changed, to recognise a common mistake."""
    z = {"mean": x.mean(dim=(2, 3)), "max": x.amax(dim=(2, 3)), "sum": x.sum(dim=(2, 3))}[pool]
    hidden = reference.reduce(z)
    hidden = {"relu": torch.relu, "none": lambda h: h, "sigmoid": torch.sigmoid}[delta](hidden)
    s = torch.sigmoid(reference.expand(hidden))
    return x * s[:, :, None, None]


_MISTAKES = {
    "with global max pooling: the squeeze (Eq. 2) is an average over H x W": partial(_variant, pool="max"),
    "with a sum over H x W: the squeeze (Eq. 2) divides the sum by H x W": partial(_variant, pool="sum"),
    "without the ReLU (delta in Eq. 3) between the two convolutions": partial(_variant, delta="none"),
    "with a sigmoid between the two convolutions: Eq. 3 has a ReLU (delta) there, and the sigmoid only at the end":
        partial(_variant, delta="sigmoid"),
}
