"""CBAM variants for the chapter's ablations, and the weight mapping between CBAM's published layouts.

Woo, Park, Lee, Kweon. *CBAM: Convolutional Block Attention Module*. ECCV 2018.

- :class:`PooledChannelAttention`: the channel gate ``M_c`` (Eq. 2) fed by the average-pooled
  descriptor, the max-pooled one, or both (the paper's channel-pooling ablation).
- :class:`ArrangedCBAM`: the two gates channel -> spatial (Eq. 1, the paper's choice),
  spatial -> channel, or in parallel (the paper's arrangement ablation; its Table 4 is the main
  ImageNet table, with the parameter and GFLOP counts).
- :func:`convert_cbam_state_dict`: move one CBAM's weights between four layouts, ``"attn_src"``
  (:class:`attn_src.CBAM` with its defaults), ``"official"`` (``Jongchan/attention-module``,
  ``MODELS/cbam.py``), ``"timm"`` (``timm.layers.CbamModule``) and ``"blog"``
  (:class:`attn_src.blog.BlogCBAM`). The spatial conv sees its two pooled maps in a different
  order in these layouts ([max; mean] in the official code and ``attn_src``, [mean; max] in timm,
  the blog and the paper's Eq. 3), so its weight's two input channels are swapped
  (:func:`swap_pooled_maps`).
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ._validate import check_choice, check_input, check_positive_number
from .cbam import CBAM, ChannelAttention, SpatialAttention
from .probe import record_gates

POOLS = ("avg", "max", "both")
ARRANGEMENTS = ("channel-spatial", "spatial-channel", "parallel")


class PooledChannelAttention(ChannelAttention):
    """Channel attention ``M_c`` from the average-pooled descriptor, the max-pooled one, or both.

    ``pools="both"`` is Eq. 2 and computes exactly what :class:`attn_src.ChannelAttention` does;
    ``"avg"`` alone is SE's squeeze with CBAM's MLP; ``"max"`` alone keeps only the peaks.

    Args:
        channels: number of input channels C.
        reduction: MLP bottleneck ratio r (hidden width ``C // r``).
        pools: ``"avg"``, ``"max"`` or ``"both"``.
        bias: whether the MLP's layers have biases.
    """

    def __init__(self, channels: int, reduction: int = 16, pools: str = "both", bias: bool = True) -> None:
        super().__init__(channels, reduction, bias=bias)
        self.pools = check_choice("pools", pools, POOLS)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """``M_c(x)`` from the chosen descriptors, shaped (N, C, 1, 1)."""
        check_input(x, self.channels)
        logits = 0
        if self.pools in ("avg", "both"):
            logits = logits + self.mlp(x.mean(dim=(2, 3)))
        if self.pools in ("max", "both"):
            logits = logits + self.mlp(x.amax(dim=(2, 3)))
        return torch.sigmoid(logits)[:, :, None, None]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pools={self.pools!r}"


class ArrangedCBAM(nn.Module):
    """CBAM's two gates in one of three arrangements.

    - ``"channel-spatial"`` (Eq. 1): ``F' = M_c(F) * F``, then ``M_s(F') * F'``;
    - ``"spatial-channel"``: ``F' = M_s(F) * F``, then ``M_c(F') * F'``;
    - ``"parallel"``: both gates computed from ``F`` and both applied, ``M_c(F) * M_s(F) * F``.

    Args:
        channels: number of input channels C.
        arrangement: one of ``"channel-spatial"``, ``"spatial-channel"``, ``"parallel"``.
        reduction: channel-MLP bottleneck ratio.
        kernel_size: odd size of the spatial conv.
        pools: descriptors of the channel gate, ``"avg"``, ``"max"`` or ``"both"``.
        bias, norm, max_first: as in :class:`attn_src.CBAM`.
    """

    def __init__(
        self,
        channels: int,
        arrangement: str = "channel-spatial",
        reduction: int = 16,
        kernel_size: int = 7,
        pools: str = "both",
        bias: bool = True,
        norm: bool = True,
        max_first: bool = True,
    ) -> None:
        super().__init__()
        self.arrangement = check_choice("arrangement", arrangement, ARRANGEMENTS)
        self.channel = PooledChannelAttention(channels, reduction, pools=pools, bias=bias)
        self.spatial = SpatialAttention(kernel_size, norm=norm, max_first=max_first)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.arrangement == "channel-spatial":
            return self.spatial(self.channel(x))
        if self.arrangement == "spatial-channel":
            return self.channel(self.spatial(x))
        return x * self.channel.gate(x) * self.spatial.gate(x)

    def extra_repr(self) -> str:
        return f"arrangement={self.arrangement!r}"


# --------------------------------------------------------------------------- weight layouts

_BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

# Key names of one CBAM module's state dict in each layout. ``mlp`` is "linear" ((out, in) weights)
# or "conv" (1x1 convs, (out, in, 1, 1)); ``max_first`` is the order of the spatial conv's inputs.
LAYOUTS: dict[str, dict] = {
    "attn_src": dict(fc1="channel.mlp.0", fc2="channel.mlp.2", conv="spatial.conv", bn="spatial.norm",
                     mlp="linear", bias=True, norm=True, max_first=True),
    "official": dict(fc1="ChannelGate.mlp.1", fc2="ChannelGate.mlp.3", conv="SpatialGate.spatial.conv",
                     bn="SpatialGate.spatial.bn", mlp="linear", bias=True, norm=True, max_first=True),
    "timm": dict(fc1="channel.fc1", fc2="channel.fc2", conv="spatial.conv.conv", bn="spatial.conv.bn",
                 mlp="conv", bias=False, norm=True, max_first=False),
    "blog": dict(fc1="channel_gate.squeeze", fc2="channel_gate.unsqueeze", conv="spatial_gate.conv", bn=None,
                 mlp="conv", bias=False, norm=False, max_first=False),
}


def layout_options(layout: str) -> dict[str, bool]:
    """The :class:`attn_src.CBAM` options that compute what ``layout``'s module computes.

    >>> layout_options("blog")
    {'bias': False, 'norm': False, 'max_first': False}
    """
    spec = LAYOUTS[check_choice("layout", layout, tuple(LAYOUTS))]
    return {key: spec[key] for key in ("bias", "norm", "max_first")}


def swap_pooled_maps(weight: torch.Tensor) -> torch.Tensor:
    """The spatial conv's weight (1, 2, k, k) with its two input channels swapped.

    A conv over ``[mean; max]`` with weight ``w`` equals a conv over ``[max; mean]`` with
    ``swap_pooled_maps(w)``: each input channel keeps its own k x k filter.
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor of shape (1, 2, k, k), got {type(weight).__name__}")
    if weight.dim() != 4 or weight.shape[:2] != (1, 2):
        raise ValueError(f"weight must have shape (1, 2, k, k) (one output, two pooled maps), got {tuple(weight.shape)}")
    return weight[:, [1, 0]].clone()


def _bn_is_identity(bn: dict[str, torch.Tensor], eps: float = 1e-5, atol: float = 1e-6) -> bool:
    """Whether an eval-mode BatchNorm with these statistics returns its input unchanged."""
    scale = bn["weight"] / torch.sqrt(bn["running_var"] + eps)
    shift = bn["bias"] - bn["running_mean"] * scale
    return bool(torch.allclose(scale, torch.ones_like(scale), atol=atol) and torch.allclose(shift, torch.zeros_like(shift), atol=atol))


def convert_cbam_state_dict(
    state_dict: Mapping[str, torch.Tensor], source: str, target: str, eps: float = 1e-5
) -> dict[str, torch.Tensor]:
    """Rename and reshape one CBAM module's weights from layout ``source`` to layout ``target``.

    Layouts: ``"attn_src"``, ``"official"``, ``"timm"``, ``"blog"`` (see :data:`LAYOUTS`). Besides
    the key names, the conversion

    - reshapes the MLP between ``nn.Linear`` (official, attn_src) and 1x1 ``nn.Conv2d`` (timm, blog);
    - swaps the spatial conv's two input channels when the pooled maps are stacked in the other order;
    - fills what the target has and the source lacks with values that change nothing (zero MLP
      biases; a BatchNorm that is the identity in eval mode: ``running_var = 1 - eps``);
    - refuses (``ValueError``) to drop MLP biases that are not zero or a BatchNorm that is not the
      identity, because the target could not compute the same function.

    Args:
        state_dict: the module's ``state_dict()`` (keys relative to the CBAM module).
        source, target: layout names.
        eps: the target BatchNorm's epsilon (1e-5 in all three codes).
    """
    names = tuple(LAYOUTS)
    eps = check_positive_number("eps", eps)
    src = LAYOUTS[check_choice("source", source, names)]
    dst = LAYOUTS[check_choice("target", target, names)]
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    expected = {f"{src['fc1']}.weight", f"{src['fc2']}.weight", f"{src['conv']}.weight"}
    if src["bias"]:
        expected |= {f"{src['fc1']}.bias", f"{src['fc2']}.bias"}
    if src["norm"]:
        expected |= {f"{src['bn']}.{k}" for k in _BN_KEYS}
    if set(state_dict) != expected:
        missing, extra = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
        raise ValueError(
            f"state_dict does not have the keys of layout source={source!r}: missing {missing}, unexpected {extra}"
        )

    # Read into a neutral form: Linear-shaped MLP weights, conv inputs in [max; mean] order.
    w1 = state_dict[f"{src['fc1']}.weight"].reshape(state_dict[f"{src['fc1']}.weight"].shape[:2])
    w2 = state_dict[f"{src['fc2']}.weight"].reshape(state_dict[f"{src['fc2']}.weight"].shape[:2])
    b1 = state_dict[f"{src['fc1']}.bias"] if src["bias"] else torch.zeros(w1.shape[0], dtype=w1.dtype)
    b2 = state_dict[f"{src['fc2']}.bias"] if src["bias"] else torch.zeros(w2.shape[0], dtype=w2.dtype)
    conv = state_dict[f"{src['conv']}.weight"]
    if not src["max_first"]:
        conv = swap_pooled_maps(conv)
    if src["norm"]:
        bn = {k: state_dict[f"{src['bn']}.{k}"] for k in _BN_KEYS}
    else:
        one = torch.ones(1, dtype=conv.dtype)
        bn = {"weight": one.clone(), "bias": 0 * one, "running_mean": 0 * one,
              "running_var": one - eps, "num_batches_tracked": torch.tensor(0)}

    if not dst["bias"] and (b1.abs().max() > 0 or b2.abs().max() > 0):
        raise ValueError(
            f"target={target!r} has no MLP biases, but the source's biases are not zero: "
            f"the converted module would compute a different gate"
        )
    if not dst["norm"] and not _bn_is_identity(bn, eps):
        raise ValueError(
            f"target={target!r} has no BatchNorm after the spatial conv, but the source's BatchNorm "
            f"is not the identity: the converted module would compute a different gate"
        )

    if dst["mlp"] == "conv":
        w1, w2 = w1[:, :, None, None], w2[:, :, None, None]
    out = {f"{dst['fc1']}.weight": w1.clone(), f"{dst['fc2']}.weight": w2.clone()}
    if dst["bias"]:
        out[f"{dst['fc1']}.bias"], out[f"{dst['fc2']}.bias"] = b1.clone(), b2.clone()
    out[f"{dst['conv']}.weight"] = conv.clone() if dst["max_first"] else swap_pooled_maps(conv)
    if dst["norm"]:
        out.update({f"{dst['bn']}.{k}": v.clone() for k, v in bn.items()})
    return out


# --------------------------------------------------------------------------- pooling, one op at a time

_POOL_OPS = {
    # over H, W (the channel gate's descriptors): (N, C, H, W) -> (N, C, 1, 1)
    "mean over H, W": lambda x: x.mean(dim=(2, 3), keepdim=True),
    "AdaptiveAvgPool2d(1)": lambda x: nn.functional.adaptive_avg_pool2d(x, 1),
    "amax over H, W": lambda x: x.amax(dim=(2, 3), keepdim=True),
    "AdaptiveMaxPool2d(1)": lambda x: nn.functional.adaptive_max_pool2d(x, 1),
    # across C (the spatial gate's maps): (N, C, H, W) -> (N, 1, H, W)
    "mean across C": lambda x: x.mean(dim=1, keepdim=True),
    "amax across C": lambda x: x.amax(dim=1, keepdim=True),
    "max across C, with indices": lambda x: torch.max(x, dim=1, keepdim=True)[0],
}
POOL_OPS = tuple(_POOL_OPS)


class Pool(nn.Module):
    """One of CBAM's pooling ops as a module (so it can be timed and counted on its own).

    ``kind`` is one of :data:`POOL_OPS`: the same four results, each computed two ways, as the
    official code (``mean``, ``amax``) or the blog listing (adaptive pooling layers, ``torch.max``
    that also returns the indices) compute them.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = check_choice("kind", kind, POOL_OPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _POOL_OPS[self.kind](x)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


@torch.no_grad()
def recalibrate_spatial_norms(model: nn.Module, x: torch.Tensor) -> int:
    """Recompute the running statistics of every spatial-attention BatchNorm in ``model`` from ``x``.

    The official code's BatchNorm after the 7x7 conv has ``momentum=0.01``: after t training steps
    its running statistics still weigh their initial values (mean 0, variance 1) by 0.99^t, so a
    short training run evaluates with statistics the conv never produced. This resets them and
    sets them to the exact averages over ``x`` (one forward in training mode, ``momentum=None``),
    leaving every weight unchanged. Returns how many BatchNorms were recalibrated.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    norms = [m.norm for m in model.modules() if isinstance(m, SpatialAttention) and isinstance(m.norm, nn.BatchNorm2d)]
    saved = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average: one pass gives the exact statistics over x
    was_training = model.training
    # Only these BatchNorms may update their statistics: the others stay in eval mode.
    model.eval()
    for bn in norms:
        bn.train()
    try:
        model(x)
    finally:
        for bn, momentum in zip(norms, saved):
            bn.momentum = momentum
        model.train(was_training)
    return len(norms)


@torch.no_grad()
def cbam_spatial_gates(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """``M_s`` of every channel-first CBAM in ``model`` for the input ``x``, by module name, in eval mode.

    Each gate is recomputed from the input its CBAM received, ``M_s(M_c(F) * F)``, so it does not
    depend on how ``CBAM.forward`` applies it (calling its spatial module or only its ``gate``).
    Each value is shaped (N, 1, H, W).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    channel_first = {name for name, module in model.named_modules()
                     if isinstance(module, CBAM)
                     or (isinstance(module, ArrangedCBAM) and module.arrangement == "channel-spatial")}
    gates = record_gates(model, x)  # every spatial gate, as "<name>.spatial"
    return {name: gates[f"{name}.spatial" if name else "spatial"] for name in sorted(channel_first)}
