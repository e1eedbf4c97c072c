"""attn_src's modules, configured like the blog listings, compute the same function (float32, 1e-6)."""
from __future__ import annotations

import pytest
import torch

from attn_src import blog

SHAPES = [(2, 64, 8, 8), (3, 32, 7, 5), (1, 128, 1, 1), (4, 256, 14, 14)]
BLOG = {"se": blog.BlogSE, "cbam": blog.BlogCBAM, "eca": blog.BlogECA, "ca": blog.BlogCA}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", BLOG)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_same_function_as_the_blog_listing(name, shape, training):
    torch.manual_seed(0)
    reference = BLOG[name](shape[1]).train(training)
    ours = blog.to_attn_src(reference)
    x = torch.randn(shape)
    if name == "ca" and training and shape[0] * (shape[2] + shape[3]) == 2:
        pytest.skip("BatchNorm cannot train on one value per channel")
    expected, got = reference(x), ours(x)
    assert (got - expected).abs().max().item() <= 1e-6


@pytest.mark.parametrize("name", BLOG)
def test_same_gradients_as_the_blog_listing(name):
    torch.manual_seed(1)
    reference = BLOG[name](64)
    ours = blog.to_attn_src(reference)
    x1 = torch.randn(2, 64, 9, 7, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    reference(x1).square().sum().backward()
    ours(x2).square().sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, rtol=1e-5, atol=1e-6)


def test_blog_se_with_few_channels_builds_a_zero_width_layer_and_ours_refuses():
    """The listing's SE(8, ratio=16) silently builds Linear(8, 0): its gate ignores the input."""
    with pytest.warns(UserWarning, match="zero-element"):
        listing = blog.BlogSE(8, reduction=16)
    assert listing.mlp[0].out_features == 0
    x = torch.randn(2, 8, 4, 4)
    gate = listing.mlp(listing.pool(x).flatten(1))
    assert torch.all(gate == 0.5)  # sigmoid(0): the same for every input
    with pytest.raises(ValueError, match="hidden width"):
        from attn_src import SE
        SE(8, reduction=16)


def test_to_attn_src_rejects_other_modules():
    with pytest.raises(TypeError, match="module must be BlogSE, BlogCBAM, BlogECA or BlogCA, got Linear"):
        blog.to_attn_src(torch.nn.Linear(2, 2))
