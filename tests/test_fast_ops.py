"""The operations of the fast path (attn_src.fast.ops), each the plain expression's values by another route."""
from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attn_src import CoordAttention
from attn_src.fast import FastSpatialAttention


@pytest.mark.parametrize("grad", [True, False])
def test_spatial_conv_input_is_channels_last_only_while_autograd_records(grad):
    """Channels-last speeds up the conv's backward only; values and gradients are those of the usual order."""
    torch.manual_seed(3)
    sa = FastSpatialAttention(norm=False).double()
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


def test_pooling_matrix_written_out_for_a_2x3_map():
    """Position (i, j) is row 3i + j; it adds 1/3 to z^h(i) (columns 0-1) and 1/2 to z^w(j) (columns 2-4)."""
    from attn_src.fast.ops import pooling_matrix

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
    from attn_src.fast.ops import coordinate_pool

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
    from attn_src.fast.ops import PRODUCT_POOL_MAX, coordinate_pool

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
    from attn_src.fast.ops import _shared_pooling_matrix

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
    from attn_src.fast.ops import pooling_matrix

    with pytest.raises(error, match=re.escape(message)):
        pooling_matrix(h, w, dtype=dtype)


@pytest.mark.parametrize("x, error, message", [
    ([[1.0]], TypeError, "input must be a torch.Tensor of shape (N, C, H, W), got list"),
    (torch.zeros(2, 3, 4), ValueError, "input must be a 4-D tensor (N, C, H, W), got shape (2, 3, 4)"),
])
def test_coordinate_pool_rejects_what_is_not_a_4d_tensor(x, error, message):
    from attn_src.fast.ops import coordinate_pool

    with pytest.raises(error, match=re.escape(message)):
        coordinate_pool(x)

# ---- equivalences between variants -----------------------------------------------------------

@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape", [(2, 8, 5, 6), (2, 32, 7, 7), (3, 24, 16, 8), (1, 12, 3, 40), (2, 64, 1, 1)])
def test_cbam_max_pool_gives_the_same_values_with_and_without_gradients(shape, keepdim):
    """max_pool takes `max` with indices when a gradient is needed and `amax` otherwise, in two stages
    across a non-innermost dimension that splits into GROUPS groups (32, 24, 64 channels; not 8 or 12)."""
    from attn_src.fast.ops import max_pool

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
    from attn_src.fast.ops import GROUPS, max_pool

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
    from attn_src.fast.ops import mean_pool

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
    from attn_src.fast.ops import mean_pool

    class MeanPool(nn.Module):
        def forward(self, x):
            return mean_pool(x, (2, 3))

    ops = count_ops(MeanPool(), torch.randn(2, 3, 4, 5)).by_op()
    assert ops.index.tolist() == ["aten.mean.dim"]
    tracked = mean_pool(torch.randn(2, 3, 4, 5, requires_grad=True), (2, 3))
    assert type(tracked.grad_fn).__name__ == "DivBackward0"
    assert type(tracked.grad_fn.next_functions[0][0]).__name__ == "SumBackward1"


def test_rescale_writes_in_place_only_when_autograd_does_not_need_the_old_values():
    from attn_src.fast.ops import rescale

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
    from attn_src.fast.ops import channel_mean

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


@pytest.mark.parametrize("size, route", [((5, 7), "aten.mean.dim"), ((32, 32), "aten.bmm.default")])
def test_channel_mean_takes_the_product_only_on_large_maps(size, route):
    """Without gradients the mean over C is a matrix-vector product from PRODUCT_MEAN_MIN_AREA = 32 x 32
    positions on; below, the product's dozen small operations cost more than they save."""
    from attn_src import count_ops
    from attn_src.fast.ops import PRODUCT_MEAN_MIN_AREA, channel_mean

    assert PRODUCT_MEAN_MIN_AREA == 32 * 32

    class Mean(nn.Module):
        def forward(self, x):
            return channel_mean(x)

    x = torch.randn(2, 16, *size, dtype=torch.float64)
    ops = count_ops(Mean(), x).by_op()
    (other,) = {"aten.mean.dim", "aten.bmm.default"} - {route}
    assert route in ops.index and other not in ops.index
    with torch.no_grad():
        torch.testing.assert_close(Mean()(x), x.mean(1, keepdim=True), rtol=1e-12, atol=1e-12)
