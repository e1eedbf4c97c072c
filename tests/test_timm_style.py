"""The benchmark's timm-style baseline computes the blog references' function (float32, 1e-6).

If it did not, the benchmark would compare implementations of different functions.
"""
from __future__ import annotations

import pytest
import torch

from attn_src import blog

from tests.benchmark_scripts import load

SHAPES = [(2, 64, 8, 8), (3, 32, 7, 5), (4, 256, 14, 14)]
BLOG = {"se": blog.BlogSE, "cbam": blog.BlogCBAM, "eca": blog.BlogECA, "ca": blog.BlogCA}


@pytest.fixture(scope="module")
def timm_style():
    return load("timm_style")


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", BLOG)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_same_output_as_the_blog_reference(timm_style, name, shape, training):
    torch.manual_seed(0)
    reference = BLOG[name](shape[1]).train(training)
    timm = timm_style.from_blog(reference)
    assert timm.training == training
    x = torch.randn(shape)
    assert (timm(x) - reference(x)).abs().max().item() <= 1e-6


@pytest.mark.parametrize("name", BLOG)
def test_same_gradients_as_the_blog_reference(timm_style, name):
    """In float64, so that the comparison is exact up to rounding of sums over thousands of terms."""
    torch.manual_seed(1)
    reference = BLOG[name](64).double()
    timm = timm_style.from_blog(reference)
    x1 = torch.randn(2, 64, 9, 7, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    reference(x1).square().sum().backward()
    timm(x2).square().sum().backward()
    torch.testing.assert_close(x2.grad, x1.grad, rtol=1e-10, atol=1e-12)
    # every weight gets the gradient of the weight it was copied from (both list them in one order)
    ours, theirs = list(timm.parameters()), list(reference.parameters())
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad.flatten(), b.grad.flatten(), rtol=1e-10, atol=1e-12)


def test_from_blog_rejects_other_modules(timm_style):
    with pytest.raises(TypeError, match="module must be BlogSE, BlogECA, BlogCBAM or BlogCA, got Linear"):
        timm_style.from_blog(torch.nn.Linear(2, 2))
