"""Checkers for the CBAM chapter: the whole module from its equations, and its spatial gate alone.

:func:`check_cbam` (the chapter's exercise) takes the learner's ``MyCBAM(channels, reduction, kernel_size)``
with three methods, each one of Woo et al.'s (2018) equations::

    channel_gate(F) = M_c(F) = sigmoid(W_1 relu(W_0 AvgPool(F)) + W_1 relu(W_0 MaxPool(F)))    (Eq. 2)
    spatial_gate(F) = M_s(F) = sigmoid(f^{k x k}([AvgPool(F); MaxPool(F)]))   (pooling across channels, Eq. 3)
    forward(F)      = F'' = M_s(F') * F',  F' = M_c(F) * F                                      (Eq. 1)

copies the weights of :class:`attn_src.CBAM` (``bias=False, norm=False, max_first=False``: the equations,
without the official code's biases and BatchNorm) into the learner's layers and compares each part on
several shapes, naming the common mistakes (one descriptor only, a second MLP, the sigmoid per branch,
maps stacked [max; mean], a sum instead of a mean, the parallel or spatial-first arrangement, ...).

:func:`check_spatial_attention` checks ``SpatialAttention(kernel_size=7)``, Eq. 3 alone as a module that
returns ``M_s(F) * F``, the same way.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..cbam import CBAM, SpatialAttention
from ._core import CheckFailure, Verdict, expect_close, expect_in_unit_interval, expect_param_count, expect_shape, run_checks

TITLE = "CBAM spatial attention"
KERNEL_SIZES = (7, 3)
# (N, C, H, W): odd and even sizes, non-square, one channel, a 1 x 1 map.
SHAPES = ((2, 8, 9, 9), (3, 5, 6, 10), (1, 1, 7, 7), (2, 16, 1, 1))


def _check_spatial_conv(conv: nn.Conv2d, k: int, name: str) -> nn.Conv2d:
    """Fail unless ``conv`` maps the 2 pooled maps to 1 map with a k x k kernel, keeping the map's size."""
    if tuple(conv.weight.shape) != (1, 2, k, k):
        raise CheckFailure(
            f"{name}'s weight has shape {tuple(conv.weight.shape)}, expected (1, 2, {k}, {k}): "
            f"in_channels=2 (the mean map and the max map), out_channels=1, kernel_size={k}"
        )
    if conv.padding not in ("same", (k // 2, k // 2)) or conv.stride != (1, 1) or conv.dilation != (1, 1):
        raise CheckFailure(
            f"{name} has padding={conv.padding}, stride={conv.stride}, dilation={conv.dilation}: the map changes "
            f"size; pad it by kernel_size // 2 = {k // 2} on each side, with stride 1 and dilation 1"
        )
    return conv


def _the_conv(module: nn.Module, k: int) -> nn.Conv2d:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if len(convs) != 1:
        raise CheckFailure(
            f"SpatialAttention(kernel_size={k}) should contain exactly one nn.Conv2d (2 pooled maps -> 1 map), "
            f"found {len(convs)}"
        )
    return _check_spatial_conv(convs[0], k, "the conv")


def _pair(cls, k: int) -> tuple[nn.Module, SpatialAttention]:
    """The learner's module and the reference, with the same conv weight, in eval mode."""
    torch.manual_seed(k)
    reference = SpatialAttention(k, norm=False, max_first=False).eval()
    mine = cls(kernel_size=k)
    if not isinstance(mine, nn.Module):
        raise CheckFailure(f"SpatialAttention(kernel_size={k}) should be an nn.Module, got {type(mine).__name__}")
    with torch.no_grad():
        _the_conv(mine, k).weight.copy_(reference.conv.weight)
    return mine.eval(), reference


def _inputs(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    # Positive inputs, so the gate can be read back as output / input.
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5


def _check_constructs(cls) -> None:
    for k in KERNEL_SIZES:
        _pair(cls, k)


def _check_params(cls) -> None:
    for k in KERNEL_SIZES:
        expect_param_count(
            f"SpatialAttention(kernel_size={k})", cls(kernel_size=k), 2 * k * k,
            f"2 * {k} * {k} (one {k}x{k} filter per pooled map; Eq. 3 has no bias and no BatchNorm here)",
        )


def _check_shapes(cls) -> None:
    for k in KERNEL_SIZES:
        mine, _ = _pair(cls, k)
        for i, shape in enumerate(SHAPES):
            with torch.no_grad():
                out = mine(_inputs(shape, i))
            n, _, h, w = shape
            if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 1, h, w) and shape[1] != 1:
                raise CheckFailure(
                    f"forward returned shape {tuple(out.shape)}, the gate M_s(F); forward should return the "
                    f"refined map M_s(F) * F, shaped like its input {shape}"
                )
            if isinstance(out, torch.Tensor) and out.dim() == 4 and tuple(out.shape[2:]) != (h, w):
                raise CheckFailure(
                    f"with kernel_size={k} an input of shape {shape} gave {tuple(out.shape)}: the map changed size; "
                    f"pad the conv by kernel_size // 2 = {k // 2} on each side"
                )
            expect_shape(f"SpatialAttention(kernel_size={k}) output for input {shape}", out, shape)


def _gate_of(mine: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return mine(x) / x


def _check_gate(cls) -> None:
    for k in KERNEL_SIZES:
        mine, _ = _pair(cls, k)
        for i, shape in enumerate(SHAPES):
            gate = _gate_of(mine, _inputs(shape, i))
            expect_in_unit_interval(f"the gate output / input for input {shape} (did you apply the sigmoid?)", gate)
            spread = (gate - gate[:, :1]).abs().max().item()
            if spread > 1e-5:
                raise CheckFailure(
                    f"the gate output / input differs between channels at the same position (by up to {spread:.3g}) "
                    f"for input {shape}: a spatial gate is one map (N, 1, H, W), shared by every channel; "
                    f"pool across channels (dim=1, keepdim=True) and multiply the input by the gate"
                )


def _check_values(cls) -> None:
    for k in KERNEL_SIZES:
        mine, reference = _pair(cls, k)
        for i, shape in enumerate(SHAPES):
            x = _inputs(shape, 10 + i)
            with torch.no_grad():
                got, expected = mine(x), reference(x)
                swapped = SpatialAttention(k, norm=False, max_first=True).eval()
                swapped.conv.weight.copy_(reference.conv.weight)
                if shape[1] > 1 and torch.allclose(got, swapped(x), atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
                    raise CheckFailure(
                        "your maps are stacked [max; mean]; Eq. 3 stacks [AvgPool(F); MaxPool(F)], "
                        "mean first (torch.cat([avg, max], dim=1))"
                    )
            expect_close(f"SpatialAttention(kernel_size={k}) output for input {shape}", got, expected)


def check_spatial_attention(cls) -> Verdict:
    """Check a learner's ``SpatialAttention`` class against Eq. 3; print and return the verdict."""
    if not isinstance(cls, type):
        print(f"FAILED: {TITLE}\n  pass the class itself (SpatialAttention), not {type(cls).__name__}")
        return Verdict(False)
    return run_checks(TITLE, [
        ("SpatialAttention(kernel_size=k) builds, with one conv from 2 maps to 1", lambda: _check_constructs(cls)),
        ("parameter count is 2 * k * k", lambda: _check_params(cls)),
        ("the output has the input's shape", lambda: _check_shapes(cls)),
        ("the gate lies in (0, 1) and is shared by all channels", lambda: _check_gate(cls)),
        ("the output equals attn_src's, position by position", lambda: _check_values(cls)),
    ])


# --------------------------------------------------------------------------- the whole module

CBAM_TITLE = "CBAM from its equations"
# (channels C, reduction r, kernel size k, input shape): non-square maps, a batch of one, a 1 x 1 map.
CBAM_CASES = (
    (16, 4, 7, (2, 16, 9, 9)),
    (32, 8, 3, (3, 32, 6, 10)),
    (12, 3, 5, (1, 12, 7, 7)),
    (24, 2, 7, (2, 24, 1, 1)),
)


def _reference_cbam(c: int, r: int, k: int) -> CBAM:
    """attn_src's CBAM in the paper's form: no MLP biases, no BatchNorm, maps stacked [mean; max]."""
    with torch.random.fork_rng():  # the learner's notebook keeps its random stream
        torch.manual_seed(c + 100 * k)
        return CBAM(c, reduction=r, kernel_size=k, bias=False, norm=False, max_first=False).eval()


def _matrix(layer: nn.Module) -> torch.Tensor:
    """A layer's weight as an (out, in) matrix: an nn.Linear's, or a 1 x 1 conv's without its 1 x 1."""
    return layer.weight.reshape(layer.weight.shape[0], layer.weight.shape[1])


def _cbam_layers(module: nn.Module, c: int, r: int, k: int) -> tuple[nn.Module, nn.Module, nn.Conv2d]:
    """The learner's W_0, W_1 and spatial conv, checked for shapes and biases."""
    hidden = c // r
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    spatial = [m for m in convs if tuple(m.kernel_size) != (1, 1)]
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    mlp = linears + [m for m in convs if tuple(m.kernel_size) == (1, 1)]
    if len(spatial) != 1:
        raise CheckFailure(
            f"expected one nn.Conv2d with a {k}x{k} kernel (Eq. 3's f, from the 2 pooled maps to 1 map), "
            f"found {len(spatial)}"
        )
    conv = _check_spatial_conv(spatial[0], k, "the spatial conv")
    if len(mlp) == 4:
        raise CheckFailure(
            "found 4 MLP layers: two MLPs, one per descriptor; Eq. 2 applies ONE MLP (W_0, W_1) to both "
            "the average- and the max-pooled descriptor, so build W_0 and W_1 once and call them twice"
        )
    if len(mlp) != 2:
        raise CheckFailure(
            f"expected the shared MLP as two layers, W_0 (C -> C // r) and W_1 (C // r -> C), each an nn.Linear "
            f"(or a 1x1 nn.Conv2d), found {len(mlp)}"
        )
    w0, w1 = mlp
    for layer, label, cin, cout in ((w0, "W_0", c, hidden), (w1, "W_1", hidden, c)):
        out_features, in_features = _matrix(layer).shape
        if (in_features, out_features) != (cin, cout):
            raise CheckFailure(
                f"{label} maps {in_features} -> {out_features} features, expected {cin} -> {cout} "
                f"(W_0: C -> C // r, W_1: C // r -> C, with C={c}, r={r}; W_0 is the first one you create)"
            )
    if any(layer.bias is not None for layer in (w0, w1, conv)):
        raise CheckFailure(
            "your layers have biases; Eqs. 2 and 3 have none (W_0, W_1 and f are plain weights): "
            "build them with bias=False (the official code's MLP has biases, the equations do not)"
        )
    return w0, w1, conv


def _build_cbam(cls, built: dict) -> None:
    for c, r, k, shape in CBAM_CASES:
        with torch.random.fork_rng():
            module = cls(c, reduction=r, kernel_size=k)
        if not isinstance(module, nn.Module):
            raise CheckFailure(f"{cls.__name__}({c}, reduction={r}, kernel_size={k}) should build an nn.Module, "
                               f"got {type(module).__name__}")
        w0, w1, conv = _cbam_layers(module, c, r, k)
        reference = _reference_cbam(c, r, k)
        with torch.no_grad():
            w0.weight.copy_(reference.channel.mlp[0].weight.reshape(w0.weight.shape))
            w1.weight.copy_(reference.channel.mlp[2].weight.reshape(w1.weight.shape))
            conv.weight.copy_(reference.spatial.conv.weight)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(c + k))
        built[(c, r, k)] = (module.eval(), reference, x)


def _check_cbam_params(built: dict) -> None:
    for (c, r, k), (module, _, _) in built.items():
        expect_param_count(
            f"your CBAM({c}, reduction={r}, kernel_size={k})", module, 2 * c * (c // r) + 2 * k * k,
            f"2 * C * (C // r) + 2 * k * k with C={c}, r={r}, k={k} (W_0, W_1 and the {k}x{k} filter, "
            f"nothing else: no bias, no BatchNorm)",
        )


def _method(module: nn.Module, name: str, what: str) -> Callable[[torch.Tensor], torch.Tensor]:
    method = getattr(module, name, None)
    if not callable(method):
        raise CheckFailure(f"{type(module).__name__} has no method {name}(x): write {what} there")
    return method


def _mlp(reference: CBAM, v: torch.Tensor, relu: bool = True) -> torch.Tensor:
    w0, w1 = reference.channel.mlp[0], reference.channel.mlp[2]
    return w1(torch.relu(w0(v)) if relu else w0(v))


def _channel_mistakes(reference: CBAM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Eq. 2 with one step changed, by what the learner should be told."""
    avg, peak = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
    gates = {
        "your gate uses only the average-pooled descriptor: Eq. 2 adds MLP(MaxPool(F)), the same MLP on the "
        "max-pooled descriptor, before the sigmoid": torch.sigmoid(_mlp(reference, avg)),
        "your gate uses only the max-pooled descriptor: Eq. 2 adds MLP(AvgPool(F)), the same MLP on the "
        "average-pooled descriptor, before the sigmoid": torch.sigmoid(_mlp(reference, peak)),
        "your MLP has no ReLU between W_0 and W_1 (Eq. 2's MLP has one hidden layer with a ReLU)":
            torch.sigmoid(_mlp(reference, avg, relu=False) + _mlp(reference, peak, relu=False)),
        "you add the two descriptors before the MLP; Eq. 2 runs the MLP on each descriptor and adds the "
        "two outputs: sigmoid(MLP(avg) + MLP(max))": torch.sigmoid(_mlp(reference, avg + peak)),
        "you apply a sigmoid to each MLP output and add them; Eq. 2 adds the two MLP outputs and applies "
        "one sigmoid to the sum": torch.sigmoid(_mlp(reference, avg)) + torch.sigmoid(_mlp(reference, peak)),
        "your gate is a softmax over the channels; Eq. 2 applies a sigmoid to each channel on its own":
            torch.softmax(_mlp(reference, avg) + _mlp(reference, peak), dim=1),
    }
    return {message: gate[:, :, None, None] for message, gate in gates.items()}


def _check_channel_gate(built: dict) -> None:
    for (c, r, k), (module, reference, x) in built.items():
        gate_of = _method(module, "channel_gate", "Eq. 2, returning M_c(F) shaped (N, C, 1, 1)")
        with torch.no_grad():
            got, expected = gate_of(x.clone()), reference.channel.gate(x)
        n, _, h, w = x.shape
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (n, c):
            raise CheckFailure(f"channel_gate returned shape {(n, c)}; return it as (N, C, 1, 1) = {(n, c, 1, 1)}, "
                               "so that it broadcasts over the positions (gate[:, :, None, None])")
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (n, 1, h, w) and (h, w) != (1, 1):
            raise CheckFailure(f"channel_gate returned shape {(n, 1, h, w)}, a map of positions: Eq. 2 pools over "
                               "the positions (dims 2 and 3) and gives one number per channel, (N, C, 1, 1)")
        expect_shape(f"channel_gate for an input of shape {tuple(x.shape)}", got, (n, c, 1, 1))
        _name_the_mistake(got, expected, lambda: _channel_mistakes(reference, x))
        expect_in_unit_interval("channel_gate's output (did you apply the sigmoid?)", got)
        expect_close(f"channel_gate for an input of shape {tuple(x.shape)}", got, expected)


def _name_the_mistake(got: torch.Tensor, expected: torch.Tensor, mistakes: Callable[[], dict]) -> None:
    """Where ``got`` is not ``expected``, fail with the message of the usual mistake it equals, if any."""
    if not torch.allclose(got, expected, atol=1e-5):
        with torch.no_grad():
            for message, variant in mistakes().items():
                if torch.allclose(got, variant, atol=1e-5):
                    raise CheckFailure(message)


def _spatial_mistakes(reference: CBAM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    conv = reference.spatial.conv
    avg, peak = x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)
    return {
        "your maps are stacked [max; mean]; Eq. 3 stacks [AvgPool(F); MaxPool(F)], mean first "
        "(torch.cat([avg, max], dim=1))": torch.sigmoid(conv(torch.cat([peak, avg], dim=1))),
        "your first map is the sum across channels; AvgPool(F) in Eq. 3 is the mean across channels "
        "(x.mean(dim=1, keepdim=True))": torch.sigmoid(conv(torch.cat([x.sum(dim=1, keepdim=True), peak], dim=1))),
        "your spatial gate has no sigmoid: Eq. 3 applies sigmoid to the conv's output":
            conv(torch.cat([avg, peak], dim=1)),
    }


def _check_spatial_gate(built: dict) -> None:
    for (c, r, k), (module, reference, x) in built.items():
        gate_of = _method(module, "spatial_gate", "Eq. 3, returning M_s(F) shaped (N, 1, H, W)")
        with torch.no_grad():
            got, expected = gate_of(x.clone()), reference.spatial.gate(x)
        n, _, h, w = x.shape
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (n, c, 1, 1) and (h, w) != (1, 1):
            raise CheckFailure(f"spatial_gate returned shape {(n, c, 1, 1)}, one number per channel: Eq. 3 pools "
                               "across the channels (dim=1, keepdim=True) and gives one map, (N, 1, H, W)")
        expect_shape(f"spatial_gate for an input of shape {tuple(x.shape)}", got, (n, 1, h, w))
        _name_the_mistake(got, expected, lambda: _spatial_mistakes(reference, x))
        expect_in_unit_interval("spatial_gate's output (did you apply the sigmoid?)", got)
        expect_close(f"spatial_gate for an input of shape {tuple(x.shape)}", got, expected)


def _forward_mistakes(reference: CBAM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    m_c, m_s = reference.channel.gate, reference.spatial.gate
    refined = m_c(x) * x
    spatial_first = m_s(x) * x
    return {
        "your forward computes both gates from F, M_c(F) * M_s(F) * F: that is the parallel arrangement; "
        "Eq. 1 computes the spatial gate from F' = M_c(F) * F": m_c(x) * m_s(x) * x,
        "your forward applies the spatial gate first; Eq. 1 is channel first: F' = M_c(F) * F, "
        "then F'' = M_s(F') * F'": m_c(spatial_first) * spatial_first,
        "your forward returns F' = M_c(F) * F; Eq. 1 goes on: F'' = M_s(F') * F'": refined,
        "your forward returns M_s(F) * F, without the channel gate; Eq. 1 first computes F' = M_c(F) * F":
            m_s(x) * x,
        "your forward multiplies the spatial gate with F; Eq. 1 multiplies it with F' = M_c(F) * F, "
        "the map it was computed from: F'' = M_s(F') * F'": m_s(refined) * x,
    }


def _check_forward(built: dict) -> None:
    for (c, r, k), (module, reference, x) in built.items():
        with torch.no_grad():
            got, expected = module(x.clone()), reference(x)
        n, _, h, w = x.shape
        gate_shaped = isinstance(got, torch.Tensor) and tuple(got.shape) in ((n, 1, h, w), (n, c, 1, 1))
        if gate_shaped and tuple(got.shape) != tuple(x.shape):
            raise CheckFailure(f"forward returned shape {tuple(got.shape)}, a gate; Eq. 1's F'' has the input's "
                               f"shape {tuple(x.shape)}: multiply the gates into the map")
        expect_shape(f"forward for an input of shape {tuple(x.shape)}", got, tuple(x.shape))
        _name_the_mistake(got, expected, lambda: _forward_mistakes(reference, x))
        expect_close(f"forward for an input of shape {tuple(x.shape)}", got, expected)


def check_cbam(cls) -> Verdict:
    """Check a learner's whole CBAM class against Eqs. 1-3 of Woo et al. (2018); print and return the verdict.

    ``cls(channels, reduction=r, kernel_size=k)`` must build W_0 (C -> C // r) and W_1 (C // r -> C) as
    ``nn.Linear`` (or 1x1 ``nn.Conv2d``) and one k x k ``nn.Conv2d`` from 2 maps to 1, all without biases,
    and define ``channel_gate(x)`` (Eq. 2, (N, C, 1, 1)), ``spatial_gate(x)`` (Eq. 3, (N, 1, H, W), maps
    stacked [mean; max]) and ``forward(x)`` (Eq. 1). The checker copies the weights of
    :class:`attn_src.CBAM` (``bias=False, norm=False, max_first=False``) into the learner's layers and
    compares each part on several shapes.
    """
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        what = f"an instance of {type(cls).__name__}" if isinstance(cls, nn.Module) else f"{cls!r}"
        print(f"FAILED: {CBAM_TITLE}\n  pass the class itself (MyCBAM, a subclass of nn.Module), not {what}")
        return Verdict(False)
    built: dict = {}
    return run_checks(CBAM_TITLE, [
        ("building the module for several (C, r, k) and finding W_0, W_1 and the spatial conv",
         lambda: _build_cbam(cls, built)),
        ("parameter count is 2 * C * (C // r) + 2 * k * k", lambda: _check_cbam_params(built)),
        ("channel_gate(F) is M_c(F), Eq. 2", lambda: _check_channel_gate(built)),
        ("spatial_gate(F) is M_s(F), Eq. 3", lambda: _check_spatial_gate(built)),
        ("forward(F) is F'' of Eq. 1", lambda: _check_forward(built)),
    ])
