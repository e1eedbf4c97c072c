"""attn_src.compare: the comparison chapter's tables agree with independent counts."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from attn_src import CBAM, ECA, SE, CoordAttention, stat
from attn_src.compare import (
    BACKBONES, MODULES, PAPER, SHAPES, backbone_grid, cost_table, measured_copies, measured_functions,
)
from attn_src.models import mobilenet_v2, resnet50
from attn_src.opcount import closed_form

SMALL = ((2, 32, 8, 8), (3, 64, 5, 7))

# ---------------------------------------------------------------- cost_table


@pytest.fixture(scope="module")
def costs():
    return cost_table(SMALL)


def test_cost_table_has_one_row_per_module_and_shape(costs):
    assert list(costs.index) == [(m, s) for s in ("2 x 32 x 8 x 8", "3 x 64 x 5 x 7") for m in ("SE", "CBAM", "ECA", "CA")]
    assert list(costs.columns) == [
        "params", "FLOPs / image", "closed form", "MACs / image", "FlopCounterMode", "torchstat Flops",
        "torchstat MAdd", "MB read", "MB written", "copies (counted)", "aten calls"]
    assert set(MODULES) == {"SE", "CBAM", "ECA", "CA"} and SHAPES == ((8, 256, 56, 56), (32, 512, 7, 7))


@pytest.mark.parametrize("name, cls", [("SE", SE), ("CBAM", CBAM), ("ECA", ECA), ("CA", CoordAttention)])
@pytest.mark.parametrize("shape", SMALL)
def test_cost_table_equals_the_closed_forms_and_torchstat(costs, name, cls, shape):
    n, c, h, w = shape
    module = cls(c).eval()
    row = costs.loc[(name, " x ".join(map(str, shape)))]
    one, batch = closed_form(module, (1, c, h, w)), closed_form(module, shape)
    assert row["params"] == sum(p.numel() for p in module.parameters())
    assert row["FLOPs / image"] == row["closed form"] == one.flops
    assert row["MACs / image"] == one.macs
    assert row["FlopCounterMode"] == 2 * one.macs  # torch counts the MACs of convs and matmuls only
    assert row["FLOPs / image"] > row["FlopCounterMode"]
    report = stat(module, [c, h, w])
    assert row["torchstat Flops"] == report.loc["total", "Flops"]
    assert row["torchstat MAdd"] == report.loc["total", "MAdd"]
    assert row["MB read"] == round(batch.bytes_read / 1e6, 2)
    assert row["MB written"] == round(batch.bytes_written / 1e6, 2)
    assert row["copies (counted)"] == round(batch.bytes / (2 * 4 * n * c * h * w), 2)


def test_cost_table_by_hand_for_eca_and_se():
    n, c, h, w = 4, 64, 6, 6
    table = cost_table([(n, c, h, w)])
    k, hidden, p = ECA(c).kernel_size, c // 16, c * h * w
    # per image: mean (P) + 1-D conv (2 C k) + sigmoid (C) + multiply (P)
    assert table.loc[("ECA", "4 x 64 x 6 x 6"), "FLOPs / image"] == 2 * p + 2 * c * k + c
    assert table.loc[("ECA", "4 x 64 x 6 x 6"), "params"] == k
    # SE: mean, two biased linear layers, relu, sigmoid, multiply
    se = 2 * p + 4 * c * hidden + (hidden + c) + hidden + c
    assert table.loc[("SE", "4 x 64 x 6 x 6"), "FLOPs / image"] == se
    assert table.loc[("SE", "4 x 64 x 6 x 6"), "params"] == 2 * c * hidden + hidden + c
    # torchstat sees nothing of ECA: a Conv1d it has no formula for, the rest functional code
    assert table.loc[("ECA", "4 x 64 x 6 x 6"), "torchstat Flops"] == 0
    assert table.loc[("ECA", "4 x 64 x 6 x 6"), "torchstat MAdd"] == 0


def test_cost_table_takes_any_module_factory():
    table = cost_table([(2, 4, 3, 3)], modules={"identity": lambda c: nn.Identity(), "scale": lambda c: _Double()})
    assert table.loc[("identity", "2 x 4 x 3 x 3")].tolist()[:2] == [0, 0]
    assert table["closed form"].isna().all()  # no formula for a module of the reader's own
    assert table.loc[("identity", "2 x 4 x 3 x 3"), "copies (counted)"] == 0
    # x * 2: one FLOP per element, one read and one write of x: exactly one copy
    assert table.loc[("scale", "2 x 4 x 3 x 3"), "FLOPs / image"] == 4 * 3 * 3
    assert table.loc[("scale", "2 x 4 x 3 x 3"), "copies (counted)"] == 1.0
    assert table.loc[("identity", "2 x 4 x 3 x 3"), "aten calls"] == 0
    assert table.loc[("scale", "2 x 4 x 3 x 3"), "aten calls"] == 1


class _Double(nn.Module):
    def forward(self, x):
        return x * 2


@pytest.mark.parametrize("kwargs, error, message", [
    ({"shapes": []}, ValueError, "shapes must be a non-empty list of (N, C, H, W) tuples, got []"),
    ({"shapes": "8x256"}, ValueError, "shapes must be a non-empty list"),
    ({"shapes": [(256, 56, 56)]}, ValueError, "every shape must be an (N, C, H, W) tuple of 4 ints >= 1, got (256, 56, 56)"),
    ({"shapes": [(1, 8, 0, 4)]}, ValueError, "got (1, 8, 0, 4)"),
    ({"shapes": [(1, 8, True, 4)]}, ValueError, "got (1, 8, True, 4)"),
    ({"modules": {}}, TypeError, "modules must be a non-empty dict {name: factory(channels) -> nn.Module}, got {}"),
    ({"modules": {"SE": 3}}, TypeError, "got {'SE': 3}"),
])
def test_cost_table_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        cost_table(**kwargs)
    assert message in str(info.value)


# ---------------------------------------------------------------- measured_copies


def test_measured_copies_columns_and_values():
    table = measured_copies([(1, 16, 4, 4)], repeats=1, min_run_time=0.001)
    assert list(table.index) == [(m, "1 x 16 x 4 x 4") for m in ("SE", "CBAM", "ECA", "CA")]
    assert list(table.columns) == ["forward ms", "forward copies", "fwd+bwd copies"]
    assert (table.to_numpy() > 0).all()
    forward_only = measured_copies([(1, 16, 4, 4)], modules={"SE": SE}, backward=False, repeats=1,
                                   min_run_time=0.001, clock="wall")
    assert list(forward_only.columns) == ["forward ms", "forward copies"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"backward": 1}, TypeError, "backward must be True or False, got 1"),
    ({"repeats": 0}, ValueError, "repeats must be an int >= 1, got 0"),
    ({"min_run_time": -1}, ValueError, "min_run_time must be a real number > 0, got -1"),
    ({"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
    ({"clock": "gpu"}, ValueError, "clock must be one of 'wall', 'cpu', got 'gpu'"),
    ({"shapes": [(8, 4)]}, ValueError, "every shape must be an (N, C, H, W) tuple"),
])
def test_measured_copies_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        measured_copies(**{"shapes": [(1, 16, 4, 4)], "repeats": 1, "min_run_time": 0.001, **kwargs})
    assert message in str(info.value)


def test_measured_functions_table():
    table = measured_functions({"clone": lambda x: x.clone(), "mean": lambda x: x.mean(dim=(2, 3))},
                               [(1, 4, 8, 8), (2, 4, 3, 3)], repeats=1, min_run_time=0.001)
    assert list(table.index) == ["clone", "mean"] and table.index.name == "operation"
    assert list(table.columns) == ["1 x 4 x 8 x 8", "2 x 4 x 3 x 3"]
    assert (table.to_numpy() > 0).all()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"functions": {}}, TypeError, "functions must be a non-empty dict {name: function(x) -> tensor}, got {}"),
    ({"functions": {"a": 1}}, TypeError, "got {'a': 1}"),
    ({"repeats": 0}, ValueError, "repeats must be an int >= 1, got 0"),
    ({"shapes": [(4, 8, 8)]}, ValueError, "every shape must be an (N, C, H, W) tuple"),
    ({"clock": "gpu"}, ValueError, "clock must be one of 'wall', 'cpu', got 'gpu'"),
])
def test_measured_functions_rejects_bad_arguments(kwargs, error, message):
    args = {"functions": {"clone": lambda x: x.clone()}, "shapes": [(1, 4, 8, 8)], "repeats": 1,
            "min_run_time": 0.001, **kwargs}
    with pytest.raises(error) as info:
        measured_functions(**args)
    assert message in str(info.value)


# ---------------------------------------------------------------- backbone_grid


@pytest.fixture(scope="module")
def grid():
    return backbone_grid()


def test_backbone_grid_rows_and_columns(grid):
    assert list(grid.index) == list(BACKBONES)
    assert list(grid.index) == [("ResNet-50", a) for a in ("none", "SE", "SE, no FC biases", "CBAM", "ECA",
                                                           "ECA, k = psi(C)", "CA")] + [
        ("MobileNetV2", a) for a in ("none", "SE", "CBAM", "ECA", "CA")]
    assert list(grid.columns) == ["params", "+ params", "GMACs", "complete GFLOPs", "paper params (M)",
                                  "paper GMACs", "source", "cite"]


def test_backbone_grid_parameters(grid):
    # torchvision's resnet50 and mobilenet_v2 have 25,557,032 and 3,504,872 parameters
    assert grid.loc[("ResNet-50", "none"), "params"] == 25_557_032
    assert grid.loc[("MobileNetV2", "none"), "params"] == 3_504_872
    widths = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3  # output width of the 16 bottlenecks
    se = sum(2 * c * (c // 16) + c // 16 + c for c in widths)
    assert grid.loc[("ResNet-50", "SE"), "+ params"] == se
    assert grid.loc[("ResNet-50", "CBAM"), "+ params"] == se + 16 * (2 * 7 * 7 + 2)  # + 7x7 conv, BN per block
    assert grid.loc[("ResNet-50", "SE, no FC biases"), "+ params"] == sum(2 * c * (c // 16) for c in widths)
    assert grid.loc[("ResNet-50", "ECA"), "+ params"] == 3 * 3 + 4 * 5 + 6 * 5 + 3 * 7  # official k = [3, 5, 5, 7]
    assert grid.loc[("ResNet-50", "ECA, k = psi(C)"), "+ params"] == 3 * 5 + 4 * 5 + 6 * 5 + 3 * 7
    for (network, attention), row in grid.iterrows():
        plain = grid.loc[(network, "none"), "params"]
        assert row["+ params"] == row["params"] - plain


@pytest.mark.parametrize("key", [("ResNet-50", "none"), ("ResNet-50", "CBAM"), ("MobileNetV2", "CA")])
def test_backbone_grid_macs_equal_torch_flop_counter(grid, key):
    with torch.device("meta"):
        model = BACKBONES[key]().eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, 224, 224))
    assert grid.loc[key, "GMACs"] == round(counter.get_total_flops() / 2e9, 3)
    assert grid.loc[key, "complete GFLOPs"] > 2 * grid.loc[key, "GMACs"]  # BN, activations, gates on top


def test_backbone_grid_paper_figures(grid):
    assert grid.loc[("ResNet-50", "none"), ["paper params (M)", "paper GMACs"]].tolist() == [25.56, 3.858]
    assert grid.loc[("MobileNetV2", "SE"), ["paper params (M)", "paper GMACs", "cite"]].tolist() == [
        3.89, 0.3, "hou2021coordinate"]
    assert math.isnan(grid.loc[("ResNet-50", "CA"), "paper params (M)"])
    assert grid.loc[("ResNet-50", "CA"), "source"] == ""
    assert set(PAPER) < set(BACKBONES)
    # every quoted parameter count is within 2% of ours, except ECA's (see the chapter) and
    # MobileNetV2 + SE / CBAM (another position and reduction in the CA paper)
    for key, (params, _, _, _) in PAPER.items():
        close = abs(grid.loc[key, "params"] / 1e6 - params) / params < 0.02
        assert close == (key not in {("ResNet-50", "ECA"), ("MobileNetV2", "SE"), ("MobileNetV2", "CBAM")}), key


def test_backbone_grid_builders_give_the_official_configurations():
    with torch.device("meta"):
        eca, ca = BACKBONES["ResNet-50", "ECA"](), BACKBONES["MobileNetV2", "CA"]()
        assert [getattr(eca, f"layer{i}")[0].attention.kernel_size for i in range(1, 5)] == [3, 5, 5, 7]
        assert sum(p.numel() for p in ca.parameters()) == sum(p.numel() for p in mobilenet_v2("ca").parameters())
        assert sum(p.numel() for p in BACKBONES["ResNet-50", "SE"]().parameters()) == sum(
            p.numel() for p in resnet50("se").parameters())


@pytest.mark.parametrize("size, error, message", [
    (16, ValueError, "size must be an int >= 32, got 16"),
    (224.0, TypeError, "size must be an int >= 32, got 224.0"),
])
def test_backbone_grid_rejects_bad_size(size, error, message):
    with pytest.raises(error) as info:
        backbone_grid(size)
    assert message in str(info.value)
