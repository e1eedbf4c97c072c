"""Block-by-block evaluation (attn_src.fast.ops.pooled, gated): the same values as the whole batch at once.

Without autograd, the fast CA and CBAM (:mod:`attn_src.fast`) take their input a block of images at a time so that a block is still
in cache for the next pass over it. These tests shrink the block (``BLOCK_BYTES``) so that every test
shape spans several blocks, uneven ones included, and compare with the plain formulas and with the
blog listings (float32, 1e-6).
"""
from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

import attn_src.fast.ops as ops
from attn_src import blog
from attn_src.fast import FastCBAM, FastCoordAttention, block_bytes, convert
from attn_src.fast.ops import batch_blocks, gated, max_pool, mean_pool, pooled


def image_bytes(shape) -> int:
    return shape[1] * shape[2] * shape[3] * 4


@pytest.fixture
def blocks_of(monkeypatch):
    """``blocks_of(k, shape)``: make a block hold ``k`` images of ``shape``."""
    def set_block(k: int, shape) -> None:
        monkeypatch.setattr(ops, "BLOCK_BYTES", k * image_bytes(shape))
    return set_block


def test_batch_blocks_cover_the_batch_in_order_with_at_least_one_image(monkeypatch):
    x = torch.zeros(7, 2, 3, 4)  # 96 bytes an image
    monkeypatch.setattr(ops, "BLOCK_BYTES", 3 * 96)
    assert batch_blocks(x) == [slice(0, 3), slice(3, 6), slice(6, 7)]
    monkeypatch.setattr(ops, "BLOCK_BYTES", 3 * 96 - 1)   # not room for 3: 2 a block
    assert batch_blocks(x) == [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 7)]
    monkeypatch.setattr(ops, "BLOCK_BYTES", 10)            # smaller than an image: one a block
    assert batch_blocks(x) == [slice(i, i + 1) for i in range(7)]
    monkeypatch.setattr(ops, "BLOCK_BYTES", 4 * 2**20)
    assert batch_blocks(x) == [slice(0, 7)]
    assert batch_blocks(torch.zeros(0, 2, 3, 4)) == []
    assert ops.images_per_block(96) == 4 * 2**20 // 96 and ops.images_per_block(10**9) == 1


@pytest.mark.parametrize("k", [1, 2, 5])
def test_pooled_gives_the_whole_batch_pooling_block_by_block(k, blocks_of):
    torch.manual_seed(0)
    x = torch.randn(5, 16, 6, 7)
    blocks_of(k, x.shape)
    seen = []

    def recording(block):
        seen.append(block.shape[0])
        return block.amax(dim=(2, 3))

    with torch.no_grad():
        mean_h, mean_w, peak = pooled(x, partial(mean_pool, dim=3), partial(mean_pool, dim=2), recording)
    assert seen == [min(k, 5 - s) for s in range(0, 5, k)]  # each block once, in order
    torch.testing.assert_close(mean_h, x.mean(dim=3), rtol=0, atol=0)
    torch.testing.assert_close(mean_w, x.mean(dim=2), rtol=0, atol=0)
    torch.testing.assert_close(peak, x.amax(dim=(2, 3)), rtol=0, atol=0)


def test_pooled_takes_the_whole_batch_at_once_when_autograd_records(blocks_of):
    """Block slices and a concatenation would only add work to the backward."""
    x = torch.randn(4, 8, 5, 5, requires_grad=True)
    blocks_of(1, x.shape)
    seen = []
    (avg,) = pooled(x, lambda block: seen.append(block.shape[0]) or mean_pool(block, dim=(2, 3)))
    assert seen == [4]
    avg.sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 1 / 25), rtol=0, atol=1e-7)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_gated_multiplies_every_gate_block_by_block(k, blocks_of):
    torch.manual_seed(1)
    x = torch.randn(6, 8, 5, 4)
    g_h, g_w, g_all = torch.rand(6, 8, 5, 1), torch.rand(6, 8, 1, 4), torch.rand(1, 8, 1, 1)
    blocks_of(k, x.shape)
    seen = []

    def from_product(y):  # a gate computed from the product so far, as CBAM's spatial gate is
        seen.append(y.shape[0])
        return torch.sigmoid(y.mean(dim=1, keepdim=True))

    with torch.no_grad():
        out = gated(x, g_h, g_all, from_product, g_w)
    assert seen == [min(k, 6 - s) for s in range(0, 6, k)]
    y = x * g_h * g_all
    expected = y * torch.sigmoid(y.mean(dim=1, keepdim=True)) * g_w
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-7)
    assert out.data_ptr() != x.data_ptr()


def test_gated_with_autograd_takes_the_whole_batch_and_gives_every_gradient(blocks_of):
    torch.manual_seed(2)
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64, requires_grad=True)
    gate = torch.rand(3, 4, 1, 1, dtype=torch.float64, requires_grad=True)
    blocks_of(1, x.shape)
    seen = []

    def spatial(y):
        seen.append(y.shape[0])
        return torch.sigmoid(y.sum(dim=1, keepdim=True))

    assert torch.autograd.gradcheck(lambda x, g: gated(x, g, spatial), (x, gate))
    assert set(seen) == {3}


def test_gated_needs_a_gate():
    with pytest.raises(ValueError, match="gated needs at least one gate, got none"):
        gated(torch.randn(2, 3, 4, 4))


def test_max_pool_and_mean_pool_agree_with_pooled_on_cbam_descriptors(blocks_of):
    """CBAM's channel descriptors, pooled block by block, are the plain mean and max."""
    torch.manual_seed(3)
    x = torch.randn(3, 16, 4, 4)
    blocks_of(2, x.shape)
    with torch.no_grad():
        avg, peak = pooled(x.flatten(2), partial(mean_pool, dim=2), partial(max_pool, dim=2))
    torch.testing.assert_close(avg, x.mean(dim=(2, 3)), rtol=0, atol=0)
    torch.testing.assert_close(peak, x.amax(dim=(2, 3)), rtol=0, atol=0)


# (3, 16, 12, 10): H + W > 20, where CA pools by blocks of means rather than by one matrix product
SHAPES = [(5, 32, 7, 5), (3, 64, 8, 8), (2, 16, 1, 1), (3, 16, 12, 10)]
BLOG = {"cbam": blog.BlogCBAM, "ca": blog.BlogCA, "se": blog.BlogSE, "eca": blog.BlogECA}


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", BLOG)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_without_gradients_block_by_block_the_same_function_as_the_blog_listing(name, shape, k, training,
                                                                                 blocks_of):
    """Inference (no_grad) with blocks of k images, and training mode under no_grad (CBAM's spatial
    BatchNorm then needs the whole batch's statistics, and CA's BatchNorm always sees every image)."""
    torch.manual_seed(4)
    reference = BLOG[name](shape[1]).train(training)
    ours = convert(blog.to_attn_src(reference))
    x = torch.randn(shape)
    blocks_of(k, shape)
    with torch.no_grad():
        expected, got = reference(x), ours(x)
    assert (got - expected).abs().max().item() <= 1e-6


@pytest.mark.parametrize("module", [FastCBAM(32), FastCoordAttention(32)], ids=["CBAM", "CA"])
def test_block_by_block_reads_its_input_and_writes_only_its_output(module, blocks_of):
    torch.manual_seed(5)
    x = torch.randn(3, 32, 6, 17)  # H + W > 20: CA pools by blocks too
    saved = x.clone()
    blocks_of(1, x.shape)
    module.eval()
    with torch.no_grad():
        once = module(x)
        blocks_of(3, x.shape)
        whole = module(x)
    torch.testing.assert_close(x, saved, rtol=0, atol=0)
    torch.testing.assert_close(once, whole, rtol=1e-6, atol=1e-6)


def test_cbam_spatial_gate_uses_batch_statistics_only_with_a_training_batch_norm():
    cbam = FastCBAM(32)
    assert cbam.spatial.uses_batch_statistics            # training mode: BatchNorm of the batch
    cbam.eval()
    assert not cbam.spatial.uses_batch_statistics        # running statistics: one image at a time
    assert not FastCBAM(32, norm=False).spatial.uses_batch_statistics
    untracked = FastCBAM(32)
    untracked.spatial.norm = nn.BatchNorm2d(1, track_running_stats=False).eval()
    assert untracked.spatial.uses_batch_statistics       # no running statistics to use


def test_block_bytes_sets_the_block_for_a_with_block_and_restores_it():
    x = torch.zeros(6, 2, 3, 4)  # 96 bytes an image
    default = ops.BLOCK_BYTES
    assert default is None and batch_blocks(x) == [slice(0, 6)]  # no blocks unless asked for
    with block_bytes(2 * 96):
        assert batch_blocks(x) == [slice(0, 2), slice(2, 4), slice(4, 6)]
        with block_bytes(2**40):
            assert batch_blocks(x) == [slice(0, 6)]
        with block_bytes(None):  # the default
            assert batch_blocks(x) == [slice(0, 6)] and ops.images_per_block(96) is None
        assert ops.BLOCK_BYTES == 2 * 96
    assert ops.BLOCK_BYTES == default
    with pytest.raises(RuntimeError), block_bytes(1):
        raise RuntimeError("restored even so")
    assert ops.BLOCK_BYTES == default


@pytest.mark.parametrize("value, error, message", [
    (0, ValueError, "nbytes must be an int >= 1, got 0"),
    (-5, ValueError, "nbytes must be an int >= 1, got -5"),
    (4.0, TypeError, r"nbytes must be an int >= 1, got 4.0 \(float\)"),
    (True, TypeError, r"nbytes must be an int >= 1, got True \(bool\)"),
])
def test_block_bytes_rejects_what_is_not_a_positive_int(value, error, message):
    default = ops.BLOCK_BYTES
    with pytest.raises(error, match=message):
        with block_bytes(value):
            pass
    assert ops.BLOCK_BYTES == default


def test_under_torch_compile_the_batch_is_one_block(blocks_of):
    """A loop over blocks would be unrolled into the graph; compiled, the module takes the batch whole."""
    torch.manual_seed(6)
    x = torch.randn(4, 16, 5, 6)
    blocks_of(1, x.shape)
    seen = []

    def record(block):
        seen.append(block.shape[0])
        return block.mean(dim=(2, 3))

    torch._dynamo.reset()
    compiled = torch.compile(lambda x: pooled(x, record)[0] + gated(x, torch.sigmoid(x.mean(1, keepdim=True))).sum(),
                             backend="eager")
    with torch.no_grad():
        compiled(x)
    assert seen == [4]
    torch._dynamo.reset()
