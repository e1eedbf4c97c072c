"""attn_src.eca_analysis: the unrounded psi target, excitation Jacobians of SE and ECA, ECA layers of a network."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attn_src import ECA, SE, eca_kernel_size
from attn_src.eca_analysis import eca_layers, excitation_jacobian, kernel_size_target
from attn_src.models import TinyCNN


@pytest.mark.parametrize("channels, gamma, b, expected", [
    (256, 2, 1, (8 + 1) / 2), (64, 2, 1, (6 + 1) / 2), (1024, 1, 0, 10.0), (8, 3, 2, (3 + 2) / 3), (1, 2, -1, -0.5),
])
def test_kernel_size_target_is_eq13_before_rounding(channels, gamma, b, expected):
    assert kernel_size_target(channels, gamma, b) == pytest.approx(expected)


def test_kernel_size_target_rounds_to_the_kernel_size():
    # k is the odd number nearest to t (ties upwards): 2 floor(t/2) + 1, for every C up to 4096
    for c in range(1, 4097):
        t = kernel_size_target(c)
        assert eca_kernel_size(c) == 2 * math.floor(t / 2) + 1


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(channels=0), ValueError, "channels must be an int >= 1, got 0"),
    (dict(channels=64.0), TypeError, "channels must be an int >= 1, got 64.0 (float)"),
    (dict(channels=64, gamma=0), ValueError, "gamma must be a real number > 0, got 0"),
    (dict(channels=64, b="1"), TypeError, "b must be a real number, got '1' (str)"),
])
def test_kernel_size_target_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", "\\(").replace(")", "\\)")):
        kernel_size_target(**kwargs)


def test_eca_jacobian_is_its_banded_interaction_matrix():
    torch.manual_seed(0)
    eca = ECA(32, kernel_size=5)
    w = eca.conv.weight.detach().view(-1)
    for z in (torch.randn(32), torch.zeros(32)):
        jac = excitation_jacobian(eca, z)
        torch.testing.assert_close(jac, eca.interaction_matrix())
        # entry (i, j) is the kernel tap j - i + k // 2 inside the band, zero outside it
        for i in range(32):
            for j in range(32):
                tap = j - i + 2
                assert jac[i, j].item() == (w[tap].item() if 0 <= tap < 5 else 0.0)


@pytest.mark.parametrize("reduction, bias", [(4, True), (16, False), (1, True)])
def test_se_jacobian_is_w2_relu_mask_w1(reduction, bias):
    torch.manual_seed(1)
    se = SE(64, reduction=reduction, bias=bias)
    z = torch.randn(64)
    w1, w2 = se.reduce.weight.detach(), se.expand.weight.detach()
    pre = w1 @ z + (se.reduce.bias.detach() if bias else 0)
    expected = w2 @ torch.diag((pre > 0).float()) @ w1
    jac = excitation_jacobian(se, z)
    torch.testing.assert_close(jac, expected)
    assert torch.linalg.matrix_rank(jac).item() <= 64 // reduction


def test_se_jacobian_equals_w2_w1_when_every_hidden_unit_is_active():
    se = SE(16, reduction=4, bias=True)
    with torch.no_grad():
        se.reduce.bias.fill_(100.0)  # every hidden unit on: the ReLU is the identity
    torch.testing.assert_close(excitation_jacobian(se, torch.randn(16)), se.expand.weight @ se.reduce.weight)


def test_jacobian_follows_the_module_dtype():
    eca = ECA(8).double()
    assert excitation_jacobian(eca, torch.randn(8)).dtype == torch.float64


@pytest.mark.parametrize("module, z, error, message", [
    (nn.Linear(4, 4), torch.randn(4), TypeError, "module must be an attn_src SE or ECA, got Linear"),
    (ECA(8), [0.0] * 8, TypeError, "z must be a torch.Tensor of shape (C,), got list"),
    (ECA(8), torch.randn(2, 8), ValueError, "z must have shape (8,) (one descriptor for this module's 8 channels), got (2, 8)"),
    (SE(32, 4), torch.randn(16), ValueError, "z must have shape (32,)"),
])
def test_jacobian_rejects_bad_arguments(module, z, error, message):
    with pytest.raises(error) as info:
        excitation_jacobian(module, z)
    assert message in str(info.value)


def test_eca_layers_lists_every_eca_with_its_kernel():
    model = TinyCNN("eca", widths=(8, 128, 2048))
    layers = eca_layers(model)
    assert [(l["name"], l["channels"], l["k"], l["params"]) for l in layers] == [
        ("stages.0.1", 8, 3, 3), ("stages.1.1", 128, 5, 5), ("stages.2.1", 2048, 7, 7),
    ]
    assert eca_layers(TinyCNN("se")) == []


def test_eca_layers_rejects_a_non_module():
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        eca_layers("resnet50")
