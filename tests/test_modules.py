"""The four attention modules: shapes, exact parameter counts, gates, equivalences, dtypes, export."""
from __future__ import annotations

import math
import re

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


@pytest.mark.parametrize("grad", [True, False])
def test_spatial_conv_input_is_channels_last_only_while_autograd_records(grad):
    """Channels-last speeds up the conv's backward only; values and gradients are those of the usual order."""
    torch.manual_seed(3)
    sa = SpatialAttention(norm=False).double()
    layouts = []
    sa.conv.register_forward_pre_hook(
        lambda _, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last)
                                       and not args[0].is_contiguous()))
    x = torch.randn(2, 8, 10, 10, dtype=torch.float64, requires_grad=grad)
    gate = sa.gate(x)
    assert layouts == [grad]
    plain_x = x.detach().clone().requires_grad_(grad)
    pooled = torch.cat([plain_x.amax(1, keepdim=True), plain_x.mean(1, keepdim=True)], dim=1)
    plain = torch.sigmoid(F.conv2d(pooled, sa.conv.weight, padding=3))
    torch.testing.assert_close(gate, plain, rtol=1e-12, atol=1e-12)
    if grad:
        weights = torch.randn_like(plain)
        got = torch.autograd.grad((gate * weights).sum(), [x, sa.conv.weight])
        want = torch.autograd.grad((plain * weights).sum(), [plain_x, sa.conv.weight])
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


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



def test_pooling_matrix_written_out_for_a_2x3_map():
    """Position (i, j) is row 3i + j; it adds 1/3 to z^h(i) (columns 0-1) and 1/2 to z^w(j) (columns 2-4)."""
    from attn_src.coord import pooling_matrix

    a, b = 1 / 3, 1 / 2
    expected = torch.tensor([[a, 0, b, 0, 0],
                             [a, 0, 0, b, 0],
                             [a, 0, 0, 0, b],
                             [0, a, b, 0, 0],
                             [0, a, 0, b, 0],
                             [0, a, 0, 0, b]], dtype=torch.float64)
    torch.testing.assert_close(pooling_matrix(2, 3, dtype=torch.float64), expected, rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(2, 8, 7, 7), (1, 4, 1, 5), (3, 6, 16, 4), (2, 8, 12, 10), (2, 5, 3, 30)])
def test_coordinate_pool_is_both_means_forward_and_backward(shape):
    """By the product (H + W <= 20) or by two means (larger), [z^h, z^w] and its gradient are the plain ones."""
    from attn_src.coord import coordinate_pool

    torch.manual_seed(9)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(shape[0], shape[1], shape[2] + shape[3], dtype=torch.float64)
    expected = torch.cat([x.mean(3), x.mean(2)], dim=2)
    z = coordinate_pool(x)
    torch.testing.assert_close(z, expected, rtol=0, atol=1e-12)
    (grad,) = torch.autograd.grad((z * weights).sum(), x)
    (expected_grad,) = torch.autograd.grad((expected * weights).sum(), x)
    torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(coordinate_pool(x.float()), expected.float(), rtol=0, atol=1e-6)


def test_coordinate_pool_uses_one_product_up_to_h_plus_w_20():
    from attn_src import count_ops
    from attn_src.coord import PRODUCT_POOL_MAX, coordinate_pool

    class Pool(nn.Module):
        def forward(self, x):
            return coordinate_pool(x)

    assert PRODUCT_POOL_MAX == 20
    for (h, w), by_product in [((10, 10), True), ((1, 19), True), ((10, 11), False), ((56, 56), False)]:
        ops = count_ops(Pool(), torch.randn(2, 3, h, w)).by_op().index.tolist()
        assert ("aten.mm.default" in ops) == by_product, (h, w, ops)
        assert ("aten.mean.dim" in ops) != by_product, (h, w, ops)


def test_pooling_matrix_built_under_inference_mode_serves_training_and_is_not_counted():
    """The shared matrix is built outside inference mode (a backward saves it) and outside count_ops."""
    from attn_src import count_ops
    from attn_src.coord import _shared_pooling_matrix

    torch.manual_seed(10)
    ca = CoordAttention(16).eval()
    x = torch.randn(2, 16, 5, 3)
    _shared_pooling_matrix.cache_clear()
    with torch.inference_mode():
        expected = ca(x)
    y = ca(x.requires_grad_())
    y.sum().backward()
    torch.testing.assert_close(y.detach(), expected, rtol=0, atol=0)
    _shared_pooling_matrix.cache_clear()
    first, second = count_ops(ca, x.detach()), count_ops(ca, x.detach())
    assert first.by_op().equals(second.by_op())


@pytest.mark.parametrize("h, w, dtype, error, message", [
    (0, 3, torch.float32, ValueError, "h must be an int >= 1, got 0"),
    (2, 2.0, torch.float32, TypeError, "w must be an int >= 1, got 2.0 (float)"),
    (2, 3, torch.int64, TypeError, "dtype must be a floating-point torch.dtype, got torch.int64"),
    (2, 3, "float32", TypeError, "dtype must be a floating-point torch.dtype, got 'float32'"),
])
def test_pooling_matrix_rejects_bad_arguments(h, w, dtype, error, message):
    from attn_src.coord import pooling_matrix

    with pytest.raises(error, match=re.escape(message)):
        pooling_matrix(h, w, dtype=dtype)


@pytest.mark.parametrize("x, error, message", [
    ([[1.0]], TypeError, "input must be a torch.Tensor of shape (N, C, H, W), got list"),
    (torch.zeros(2, 3, 4), ValueError, "input must be a 4-D tensor (N, C, H, W), got shape (2, 3, 4)"),
])
def test_coordinate_pool_rejects_what_is_not_a_4d_tensor(x, error, message):
    from attn_src.coord import coordinate_pool

    with pytest.raises(error, match=re.escape(message)):
        coordinate_pool(x)

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
    """We pick torch.export (torch.jit.script is deprecated): each module exports and runs the same.

    Exactly, but for CA on maps small enough for its eager forward to pool by a matrix product
    (H + W <= PRODUCT_POOL_MAX): the exported graph takes the two means, equal to float rounding."""
    from attn_src.coord import PRODUCT_POOL_MAX

    torch.manual_seed(11)
    x = torch.randn(2, 32, *size)
    for module in build_all(32):
        module.eval()
        exported = torch.export.export(module, (x,))
        by_product = isinstance(module, CoordAttention) and sum(size) <= PRODUCT_POOL_MAX
        tolerance = {} if by_product else {"rtol": 0, "atol": 0}
        torch.testing.assert_close(exported.module()(x), module(x), **tolerance)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape", [(2, 8, 5, 6), (2, 32, 7, 7), (3, 24, 16, 8), (1, 12, 3, 40), (2, 64, 1, 1)])
def test_cbam_max_pool_gives_the_same_values_with_and_without_gradients(shape, keepdim):
    """max_pool takes `max` with indices when a gradient is needed and `amax` otherwise, in two stages
    across a non-innermost dimension that splits into GROUPS groups (32, 24, 64 channels; not 8 or 12)."""
    from attn_src._ops import max_pool

    x = torch.randn(shape)
    x[:, :, 0] = 0.0  # ties: every channel equal at the first row
    for dim in (1, 2, 3, -1):
        with torch.no_grad():
            fast = max_pool(x, dim, keepdim)
        tracked = max_pool(x.clone().requires_grad_(), dim, keepdim)
        assert tracked.requires_grad
        torch.testing.assert_close(tracked.detach(), fast, rtol=0, atol=0)
        torch.testing.assert_close(fast, x.amax(dim=dim, keepdim=keepdim), rtol=0, atol=0)


def test_max_pool_runs_two_stages_only_where_the_dimension_splits_into_groups():
    from attn_src import count_ops
    from attn_src._ops import GROUPS, max_pool

    class MaxPool(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, x):
            return max_pool(x, self.dim)

    def amax_calls(x, dim):
        return count_ops(MaxPool(dim), x).by_op().loc["aten.amax.default", "calls"]

    assert amax_calls(torch.randn(2, 4 * GROUPS, 3, 3), 1) == 2
    assert amax_calls(torch.randn(2, GROUPS, 3, 3), 1) == 1       # nothing left for a second stage
    assert amax_calls(torch.randn(2, GROUPS + 4, 3, 3), 1) == 1   # does not split evenly
    assert amax_calls(torch.randn(2, 4 * GROUPS, 3, 4 * GROUPS), 3) == 1  # innermost: already fast


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [(2, 3), 2, 3, 1])
def test_mean_pool_is_the_mean_forward_and_backward(dim, keepdim):
    from attn_src._ops import mean_pool

    torch.manual_seed(13)
    x1 = torch.randn(2, 6, 5, 7, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    weights = torch.randn_like(x1.mean(dim=dim, keepdim=keepdim))
    got, expected = mean_pool(x1, dim, keepdim), x2.mean(dim=dim, keepdim=keepdim)
    assert got.shape == expected.shape
    with torch.no_grad():
        assert mean_pool(x1, dim, keepdim).shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    (got * weights).sum().backward()
    (expected * weights).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-12, atol=1e-12)


def test_mean_pool_is_one_mean_without_gradients_and_a_sum_divided_by_the_count_with_them():
    """The route decides the backward (a sum's is a broadcast view); without gradients, one op is cheaper."""
    from attn_src import count_ops
    from attn_src._ops import mean_pool

    class MeanPool(nn.Module):
        def forward(self, x):
            return mean_pool(x, (2, 3))

    ops = count_ops(MeanPool(), torch.randn(2, 3, 4, 5)).by_op()
    assert ops.index.tolist() == ["aten.mean.dim"]
    tracked = mean_pool(torch.randn(2, 3, 4, 5, requires_grad=True), (2, 3))
    assert type(tracked.grad_fn).__name__ == "DivBackward0"
    assert type(tracked.grad_fn.next_functions[0][0]).__name__ == "SumBackward1"


def test_cbam_and_coord_attention_leave_their_input_untouched():
    """Their last multiply works in place, but only on a buffer they allocated themselves."""
    torch.manual_seed(12)
    x = torch.randn(2, 32, 6, 7)
    saved = x.clone()
    CBAM(32)(x)
    CoordAttention(32)(x)
    torch.testing.assert_close(x, saved, rtol=0, atol=0)


def test_rescale_writes_in_place_only_when_autograd_does_not_need_the_old_values():
    from attn_src._ops import rescale

    y, gate = torch.randn(2, 3, 4, 5), torch.rand(2, 3, 4, 1)
    expected = y * gate
    with torch.no_grad():
        out = rescale(y, gate)
    assert out.data_ptr() == y.data_ptr()
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    y2, gate2 = torch.randn(2, 3, 4, 5), torch.rand(2, 3, 4, 1, requires_grad=True)
    out2 = rescale(y2, gate2)
    assert out2.data_ptr() != y2.data_ptr()
    out2.sum().backward()
    torch.testing.assert_close(gate2.grad, y2.sum(dim=3, keepdim=True), rtol=1e-6, atol=1e-6)


def test_channel_mean_is_the_mean_over_channels_with_and_without_gradients():
    from attn_src._ops import channel_mean

    torch.manual_seed(14)
    x = torch.randn(3, 24, 5, 7, dtype=torch.float64)
    expected = x.mean(dim=1, keepdim=True)
    with torch.no_grad():
        torch.testing.assert_close(channel_mean(x), expected, rtol=1e-12, atol=1e-12)
    tracked = x.clone().requires_grad_()
    out = channel_mean(tracked)
    assert out.shape == (3, 1, 5, 7) and out.requires_grad
    # one sum with keepdim, divided by C: no unsqueeze step, in either pass
    assert type(out.grad_fn).__name__ == "DivBackward0"
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "SumBackward1"
    torch.testing.assert_close(out.detach(), expected, rtol=1e-12, atol=1e-12)
    weights = torch.randn_like(expected)
    (out * weights).sum().backward()
    torch.testing.assert_close(tracked.grad, (weights / 24).expand_as(x), rtol=1e-12, atol=1e-12)
