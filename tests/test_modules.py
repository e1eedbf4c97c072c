"""The four attention modules: shapes, exact parameter counts, gates, equivalences, dtypes, export."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attn_src import CBAM, ECA, SE, ChannelAttention, CoordAttention, SpatialAttention, eca_kernel_size

SHAPES = [(2, 16, 8, 8), (1, 32, 5, 7), (3, 64, 1, 1), (2, 48, 13, 6), (2, 256, 4, 3)]


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_all(channels: int) -> list[nn.Module]:
    return [SE(channels), CBAM(channels), ChannelAttention(channels), SpatialAttention(), ECA(channels),
            CoordAttention(channels)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_output_shape_equals_input_shape(shape):
    torch.manual_seed(0)
    x = torch.randn(shape)
    for module in build_all(shape[1]):
        assert module(x).shape == x.shape, type(module).__name__


# ---- exact parameter counts from the closed-form formulas -------------------------------------

@pytest.mark.parametrize("channels,reduction", [(16, 4), (64, 16), (320, 16), (2048, 16), (24, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_se_parameter_count(channels, reduction, bias):
    hidden = channels // reduction
    expected = 2 * channels * hidden + ((hidden + channels) if bias else 0)
    assert n_params(SE(channels, reduction, bias=bias)) == expected


@pytest.mark.parametrize("channels,kernel_size", [(64, 3), (256, 5), (2048, 7), (10, 9)])
def test_eca_parameter_count_is_k(channels, kernel_size):
    assert n_params(ECA(channels, kernel_size)) == kernel_size


@pytest.mark.parametrize("channels", [16, 64, 256, 2048])
def test_eca_adaptive_parameter_count(channels):
    k = int(abs((math.log2(channels) + 1) / 2))
    k = k if k % 2 else k + 1
    assert n_params(ECA(channels)) == k


@pytest.mark.parametrize("channels,reduction,min_hidden", [(16, 32, 8), (64, 32, 8), (320, 32, 8), (512, 16, 0), (96, 4, 8)])
@pytest.mark.parametrize("bias", [True, False])
def test_coord_attention_parameter_count(channels, reduction, min_hidden, bias):
    m = max(min_hidden, channels // reduction)
    transform = channels * m + (m if bias else 0)
    norm = 2 * m
    gates = 2 * (m * channels + (channels if bias else 0))
    module = CoordAttention(channels, reduction, min_hidden=min_hidden, bias=bias)
    assert n_params(module) == transform + norm + gates


@pytest.mark.parametrize("channels,reduction,kernel_size", [(64, 16, 7), (256, 16, 3), (320, 8, 7)])
@pytest.mark.parametrize("bias,norm", [(True, True), (False, False)])
def test_cbam_parameter_count(channels, reduction, kernel_size, bias, norm):
    hidden = channels // reduction
    mlp = 2 * channels * hidden + ((hidden + channels) if bias else 0)
    spatial = 2 * kernel_size**2 + (2 if norm else 0)
    module = CBAM(channels, reduction, kernel_size, bias=bias, norm=norm)
    assert n_params(module.channel) == mlp
    assert n_params(module.spatial) == spatial
    assert n_params(module) == mlp + spatial


# ---- gates -----------------------------------------------------------------------------------

def test_gates_lie_strictly_between_zero_and_one():
    torch.manual_seed(1)
    x = torch.randn(4, 32, 9, 11)
    gates = [SE(32).gate(x), ECA(32).gate(x), ChannelAttention(32).gate(x), SpatialAttention().gate(x),
             *CoordAttention(32).gates(x)]
    for gate in gates:
        assert gate.min() > 0 and gate.max() < 1


def test_gate_shapes_broadcast_the_right_way():
    x = torch.randn(2, 32, 9, 11)
    assert SE(32).gate(x).shape == (2, 32, 1, 1)
    assert ECA(32).gate(x).shape == (2, 32, 1, 1)
    assert ChannelAttention(32).gate(x).shape == (2, 32, 1, 1)
    assert SpatialAttention().gate(x).shape == (2, 1, 9, 11)
    g_h, g_w = CoordAttention(32).gates(x)
    assert g_h.shape == (2, 32, 9, 1) and g_w.shape == (2, 32, 1, 11)


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def test_se_matches_a_hand_computation():
    """Eqs. 2-4 written out with loops over a 1 x 4 x 2 x 3 tensor."""
    torch.manual_seed(2)
    se = SE(4, reduction=2)
    x = torch.randn(1, 4, 2, 3, dtype=torch.float64)
    se = se.double()
    w1, b1 = se.reduce.weight.detach().numpy(), se.reduce.bias.detach().numpy()
    w2, b2 = se.expand.weight.detach().numpy(), se.expand.bias.detach().numpy()
    u = x[0].numpy()
    z = [sum(u[c, i, j] for i in range(2) for j in range(3)) / 6 for c in range(4)]
    hidden = [max(0.0, sum(w1[k, c] * z[c] for c in range(4)) + b1[k]) for k in range(2)]
    s = [sigmoid(sum(w2[c, k] * hidden[k] for k in range(2)) + b2[c]) for c in range(4)]
    expected = np.stack([s[c] * u[c] for c in range(4)])
    np.testing.assert_allclose(se(x)[0].detach().numpy(), expected, rtol=1e-12)


def test_eca_matches_a_hand_computation():
    """omega_i = sigmoid(sum_j w_j y_{i+j-1}) with zero padding, k = 3, C = 5."""
    eca = ECA(5, kernel_size=3).double()
    with torch.no_grad():
        eca.conv.weight.copy_(torch.tensor([[[0.5, -1.0, 2.0]]]))
    x = torch.randn(1, 5, 2, 2, dtype=torch.float64)
    y = x[0].mean(dim=(1, 2)).numpy()
    padded = np.concatenate([[0.0], y, [0.0]])
    omega = [sigmoid(0.5 * padded[i] - 1.0 * padded[i + 1] + 2.0 * padded[i + 2]) for i in range(5)]
    expected = x[0].numpy() * np.array(omega)[:, None, None]
    np.testing.assert_allclose(eca(x)[0].detach().numpy(), expected, rtol=1e-12)


def test_channel_attention_matches_a_hand_computation_forward_and_backward():
    """Eq. 2 with numpy: the MLP applied to each descriptor of each image separately and the two summed
    (the module runs it once on the 2N stacked rows); the gradients agree with autograd's of Eq. 2
    written the plain way (two MLP calls)."""
    torch.manual_seed(5)
    ca = ChannelAttention(6, reduction=2).double()
    x = torch.randn(3, 6, 4, 5, dtype=torch.float64, requires_grad=True)
    w1, b1 = ca.mlp[0].weight.detach().numpy(), ca.mlp[0].bias.detach().numpy()
    w2, b2 = ca.mlp[2].weight.detach().numpy(), ca.mlp[2].bias.detach().numpy()

    def mlp(z):
        return w2 @ np.maximum(w1 @ z + b1, 0.0) + b2

    u = x.detach().numpy()
    expected = np.stack([sigmoid(mlp(u[i].mean(axis=(1, 2))) + mlp(u[i].max(axis=(1, 2)))) for i in range(3)])
    gate = ca.gate(x)
    assert gate.shape == (3, 6, 1, 1)
    np.testing.assert_allclose(gate.detach().numpy()[:, :, 0, 0], expected, rtol=1e-12)

    plain_x = x.detach().clone().requires_grad_()
    plain = torch.sigmoid(ca.mlp(plain_x.mean(dim=(2, 3))) + ca.mlp(plain_x.amax(dim=(2, 3))))[:, :, None, None]
    weights = torch.randn(3, 6, 1, 1, dtype=torch.float64)
    params = list(ca.parameters())
    got = torch.autograd.grad((gate * weights).sum(), [x, *params])
    want = torch.autograd.grad((plain * weights).sum(), [plain_x, *params])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)


def test_spatial_attention_matches_a_hand_computation():
    """A 1x1 kernel: the gate at (i, j) is sigmoid(a * max_c + b * mean_c) (max first, no BatchNorm)."""
    sa = SpatialAttention(kernel_size=1, norm=False).double()
    with torch.no_grad():
        sa.conv.weight.copy_(torch.tensor([[[[0.7]], [[-0.3]]]], dtype=torch.float64))
    x = torch.randn(2, 6, 3, 4, dtype=torch.float64)
    u = x.numpy()
    gate = sigmoid(0.7 * u.max(axis=1, keepdims=True) - 0.3 * u.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(sa(x).detach().numpy(), u * gate, rtol=1e-12)


def test_max_first_swaps_the_two_input_channels_of_the_spatial_conv():
    torch.manual_seed(3)
    official = SpatialAttention(norm=False, max_first=True)
    paper = SpatialAttention(norm=False, max_first=False)
    with torch.no_grad():
        paper.conv.weight.copy_(official.conv.weight.flip(1))
    x = torch.randn(2, 8, 10, 10)
    torch.testing.assert_close(official(x), paper(x), rtol=0, atol=1e-6)


def test_cbam_is_channel_then_spatial():
    torch.manual_seed(4)
    cbam = CBAM(32, reduction=4)
    x = torch.randn(2, 32, 6, 6)
    refined = x * cbam.channel.gate(x)
    expected = refined * cbam.spatial.gate(refined)
    torch.testing.assert_close(cbam(x), expected, rtol=0, atol=1e-6)


def test_coord_attention_output_is_x_times_both_gates():
    torch.manual_seed(5)
    ca = CoordAttention(32)
    x = torch.randn(2, 32, 7, 5)
    g_h, g_w = ca.gates(x)
    torch.testing.assert_close(ca(x), x * g_h * g_w, rtol=0, atol=1e-6)


# ---- equivalences between variants -----------------------------------------------------------


class SEConv(nn.Module):
    """SE written as the SENet code writes it: 1x1 convolutions on the pooled (N, C, 1, 1) map."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


def test_se_with_linear_layers_equals_se_with_1x1_convs():
    torch.manual_seed(6)
    se, conv = SE(64, 8), SEConv(64, 8)
    with torch.no_grad():
        conv.fc1.weight.copy_(se.reduce.weight[:, :, None, None])
        conv.fc1.bias.copy_(se.reduce.bias)
        conv.fc2.weight.copy_(se.expand.weight[:, :, None, None])
        conv.fc2.bias.copy_(se.expand.bias)
    x = torch.randn(3, 64, 7, 9)
    torch.testing.assert_close(se(x), conv(x), rtol=0, atol=1e-6)


def banded(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """W[i, j] = w[j - i + k//2] for |i - j| <= k//2, else 0: the band written out."""
    k = weight.numel()
    out = torch.zeros(channels, channels, dtype=weight.dtype)
    for i in range(channels):
        for j in range(channels):
            if abs(i - j) <= k // 2:
                out[i, j] = weight[j - i + k // 2]
    return out


@pytest.mark.parametrize("channels,k", [(8, 3), (16, 5), (7, 7)])
def test_eca_conv_equals_multiplying_by_a_banded_matrix(channels, k):
    torch.manual_seed(7)
    eca = ECA(channels, kernel_size=k)
    band = banded(eca.conv.weight.detach().reshape(-1), channels)
    torch.testing.assert_close(eca.interaction_matrix(), band, rtol=0, atol=0)
    x = torch.randn(2, channels, 4, 4)
    expected = x * torch.sigmoid(x.mean(dim=(2, 3)) @ band.T)[:, :, None, None]
    torch.testing.assert_close(eca(x), expected, rtol=0, atol=1e-6)


def test_coord_attention_on_input_constant_along_w_ignores_w():
    """If x does not vary along W, CA(x) equals CA on a single column, broadcast back (eval mode)."""
    torch.manual_seed(8)
    ca = CoordAttention(32).eval()
    with torch.no_grad():  # non-trivial running statistics, so BatchNorm is not the identity
        ca.norm.running_mean.uniform_(-0.5, 0.5)
        ca.norm.running_var.uniform_(0.5, 2.0)
    column = torch.randn(2, 32, 9, 1)
    x = column.expand(2, 32, 9, 6).contiguous()
    torch.testing.assert_close(ca(x), ca(column).expand_as(x), rtol=0, atol=1e-6)
    _, g_w = ca.gates(x)
    assert torch.allclose(g_w, g_w[..., :1].expand_as(g_w))  # the width gate is constant along W


# ---- eca_kernel_size ---------------------------------------------------------------------------

# Hand-derived: t = int(|(log2 C + b) / gamma|), then t + 1 if t is even.
#   gamma=2, b=1: C=16 -> 2.5 -> 2 -> 3; 32 -> 3 -> 3; 64 -> 3.5 -> 3; 128 -> 4 -> 5; 256 -> 4.5 -> 5;
#                 512 -> 5 -> 5; 1024 -> 5.5 -> 5; 2048 -> 6 -> 7
#   gamma=1, b=0: C=16 -> 4 -> 5; 32 -> 5; 64 -> 6 -> 7; 2048 -> 11
#   gamma=3, b=2: C=16 -> 2 -> 3; 512 -> 3.67 -> 3; 2048 -> 4.33 -> 5
KERNEL_TABLE = [
    (16, 2, 1, 3), (32, 2, 1, 3), (64, 2, 1, 3), (128, 2, 1, 5), (256, 2, 1, 5),
    (512, 2, 1, 5), (1024, 2, 1, 5), (2048, 2, 1, 7),
    (16, 1, 0, 5), (32, 1, 0, 5), (64, 1, 0, 7), (2048, 1, 0, 11),
    (16, 3, 2, 3), (512, 3, 2, 3), (2048, 3, 2, 5),
]


@pytest.mark.parametrize("channels,gamma,b,expected", KERNEL_TABLE)
def test_eca_kernel_size_table(channels, gamma, b, expected):
    assert eca_kernel_size(channels, gamma, b) == expected
    assert ECA(channels, gamma=gamma, b=b).kernel_size == expected


# ---- gradients, dtypes, export -------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: SE(32), lambda: CBAM(32), lambda: ECA(32), lambda: CoordAttention(32),
                                  lambda: SE(32, bias=False), lambda: CBAM(32, norm=False, bias=False)],
                         ids=["se", "cbam", "eca", "ca", "se-nobias", "cbam-blog-like"])
def test_gradients_reach_every_parameter_and_the_input(make):
    torch.manual_seed(9)
    module = make()
    x = torch.randn(4, 32, 6, 5, requires_grad=True)
    module(x).square().sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-5), (torch.bfloat16, 0.1)])
def test_float64_and_bfloat16(dtype, atol):
    torch.manual_seed(10)
    x = torch.randn(2, 32, 8, 7)
    for module in build_all(32):
        module.eval()
        reference = module(x)
        low = module.to(dtype)(x.to(dtype))
        assert low.dtype == dtype, type(module).__name__
        torch.testing.assert_close(low.float(), reference, rtol=0.05, atol=atol)


@pytest.mark.parametrize("size", [(8, 6), (16, 12)])
def test_torch_export_reproduces_every_module(size):
    """We pick torch.export (torch.jit.script is deprecated): each module exports and runs the same."""
    torch.manual_seed(11)
    x = torch.randn(2, 32, *size)
    for module in build_all(32):
        module.eval()
        exported = torch.export.export(module, (x,))
        torch.testing.assert_close(exported.module()(x), module(x), rtol=0, atol=0)


def test_cbam_and_coord_attention_leave_their_input_untouched():
    """The fast twins' last multiply works in place, but only on a buffer they allocated themselves."""
    from attn_src.fast import FastCBAM, FastCoordAttention

    torch.manual_seed(12)
    x = torch.randn(2, 32, 6, 7)
    saved = x.clone()
    for module in (CBAM(32), CoordAttention(32), FastCBAM(32), FastCoordAttention(32)):
        with torch.no_grad():
            module(x)
        torch.testing.assert_close(x, saved, rtol=0, atol=0)
