"""record_gates finds every gate of every attention module in a network."""
from __future__ import annotations

import pytest
import torch

from attn_src import CBAM
from attn_src.models import TinyCNN
from attn_src.probe import record_gates


@pytest.mark.parametrize("attention", ["se", "eca", "cbam", "ca"])
def test_one_entry_per_gate_with_the_right_shapes(attention):
    torch.manual_seed(0)
    model = TinyCNN(attention)
    gates = record_gates(model, torch.randn(3, 1, 16, 16))
    sizes = {"stages.0.1": (16, 16), "stages.1.1": (32, 8), "stages.2.1": (64, 4)}
    if attention == "cbam":
        assert sorted(gates) == sorted([f"{k}.{part}" for k in sizes for part in ("channel", "spatial")])
        for key, (c, s) in sizes.items():
            assert gates[f"{key}.channel"].shape == (3, c, 1, 1)
            assert gates[f"{key}.spatial"].shape == (3, 1, s, s)
    elif attention == "ca":
        assert sorted(gates) == sorted(sizes)
        for key, (c, s) in sizes.items():
            assert [g.shape for g in gates[key]] == [(3, c, s, 1), (3, c, 1, s)]
    else:
        assert sorted(gates) == sorted(sizes)
        for key, (c, _) in sizes.items():
            assert gates[key].shape == (3, c, 1, 1)


def test_cbam_spatial_gate_is_the_one_applied_to_the_refined_map():
    torch.manual_seed(1)
    cbam = CBAM(16, reduction=4).eval()
    x = torch.randn(2, 16, 6, 6)
    gates = record_gates(torch.nn.Sequential(cbam), x)
    refined = x * gates["0.channel"]
    torch.testing.assert_close(refined * gates["0.spatial"], cbam(x), rtol=0, atol=1e-6)


def test_every_module_keeps_its_own_mode_and_bad_arguments_are_named():
    model = TinyCNN("se").train()
    model.stages[1].eval()
    record_gates(model, torch.randn(2, 1, 16, 16))
    assert model.training and model.stages[0].training and model.stages[2][0][1].training
    assert not model.stages[1].training and not model.stages[1][0][1].training
    with pytest.raises(TypeError, match="model must be an nn.Module, got int"):
        record_gates(3, torch.randn(1))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        record_gates(model, [1.0])


def test_a_bare_cbam_reports_its_parts_without_a_leading_dot():
    gates = record_gates(CBAM(16, reduction=4), torch.randn(2, 16, 5, 5))
    assert sorted(gates) == ["channel", "spatial"]
