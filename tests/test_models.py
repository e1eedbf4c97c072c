"""Backbones (ResNet, MobileNetV2), the per-stage options, attach() and the size table.

Expected parameter counts are the official/reference code's (issue 4, torchvision, He et al.), or
formulas written out here; counting happens on the meta device, so no weights are allocated.
"""
import re

import pytest
import torch
from torch import nn

from attn_src import CBAM, ECA, SE, CoordAttention
from attn_src.models import (
    InvertedResidual,
    attach,
    cifar_resnet20,
    conv_matmul_flops,
    count_parameters,
    mobilenet_v2,
    output_channels,
    per_stage_options,
    resnet18,
    resnet34,
    resnet50,
)
from attn_src.models.resnet import BasicBlock, Bottleneck, CifarResNet, ResNet

RESNET50_WIDTHS = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3  # expanded width of each bottleneck


def meta_params(build, *args, **kwargs):
    with torch.device("meta"):
        return count_parameters(build(*args, **kwargs))


# -- the counts of the issue ------------------------------------------------------------------

@pytest.mark.parametrize("build, kwargs, expected", [
    (resnet50, {}, 25_557_032),
    (resnet50, {"attention": "se"}, 28_088_024),
    (resnet50, {"attention": "se", "bias": False}, 28_071_976),
    (resnet50, {"attention": "cbam"}, 28_089_624),
    (resnet50, {"attention": "eca", "kernel_size": [3, 5, 5, 7]}, 25_557_112),
    (mobilenet_v2, {}, 3_504_872),
    (mobilenet_v2, {"attention": "ca"}, 3_950_648),
    (resnet18, {}, 11_689_512),      # torchvision
    (resnet34, {}, 21_797_672),      # torchvision
    (cifar_resnet20, {}, 269_722),   # He et al. 2016, Table 6: 0.27M (option A shortcuts)
])
def test_parameter_counts_match_the_reference_code(build, kwargs, expected):
    assert meta_params(build, **kwargs) == expected


def test_se_extra_parameters_follow_the_formula():
    # per block: W1 (C/16 x C) + b1 (C/16) + W2 (C x C/16) + b2 (C)
    extra = sum(2 * c * (c // 16) + c // 16 + c for c in RESNET50_WIDTHS)
    assert meta_params(resnet50, "se") - meta_params(resnet50) == extra
    no_bias = sum(2 * c * (c // 16) for c in RESNET50_WIDTHS)
    assert meta_params(resnet50, "se", bias=False) - meta_params(resnet50) == no_bias


def test_cbam_adds_the_spatial_gate_to_se():
    # channel MLP = SE's; spatial: 7x7 conv over 2 maps (98) + BatchNorm(1) affine (2), in 16 blocks
    assert meta_params(resnet50, "cbam") - meta_params(resnet50, "se") == 16 * (2 * 7 * 7 + 2)


def test_eca_kernels_official_and_adaptive():
    base = meta_params(resnet50)
    assert meta_params(resnet50, "eca", kernel_size=[3, 5, 5, 7]) - base == 3 * 3 + 4 * 5 + 6 * 5 + 3 * 7 == 80
    # psi(C) on the expanded widths 256, 512, 1024, 2048 gives 5, 5, 5, 7
    assert meta_params(resnet50, "eca") - base == 3 * 5 + 4 * 5 + 6 * 5 + 3 * 7 == 86
    with torch.device("meta"):
        kernels = [m.kernel_size for m in resnet50("eca").modules() if isinstance(m, ECA)]
    assert kernels == [5] * 13 + [7] * 3


def test_mobilenet_ca_follows_the_formula():
    # CA on the hidden width of the 16 blocks with t = 6; m = max(8, C // 32)
    hidden = [96, 144, 144, 192, 192, 192, 384, 384, 384, 384, 576, 576, 576, 960, 960, 960]
    extra = 0
    for c in hidden:
        m = max(8, c // 32)
        extra += (c * m + m) + 2 * m + 2 * (m * c + c)
    assert meta_params(mobilenet_v2, "ca") - meta_params(mobilenet_v2) == extra


def test_stride_in_1x1_keeps_parameters_and_gives_the_papers_multiply_adds():
    with torch.device("meta"):
        v15, v1 = resnet50(), resnet50(stride_in_1x1=True)
    assert count_parameters(v1) == count_parameters(v15)
    # 3.858 GFLOPs (multiply-adds) is the figure CBAM's Table 4 quotes for ResNet-50
    assert round(conv_matmul_flops(v1) / 2e9, 3) == 3.858
    assert conv_matmul_flops(v15) > conv_matmul_flops(v1)


# -- layout and names -------------------------------------------------------------------------

def test_resnet50_has_torchvision_names_and_shapes():
    with torch.device("meta"):
        plain, eca = resnet50().state_dict(), resnet50("eca").state_dict()
    assert plain["conv1.weight"].shape == (64, 3, 7, 7)
    assert plain["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert plain["layer2.0.conv2.weight"].shape == (128, 128, 3, 3)
    assert plain["layer4.2.bn3.running_var"].shape == (2048,)
    assert plain["fc.weight"].shape == (1000, 2048)
    assert not any("attention" in k for k in plain)
    # attention adds its own keys and renames nothing
    assert set(plain) < set(eca)
    assert sorted(set(eca) - set(plain)) == sorted(f"layer{s}.{b}.attention.conv.weight"
                                                   for s, n in zip(range(1, 5), (3, 4, 6, 3)) for b in range(n))


def test_mobilenet_has_torchvision_names_and_shapes():
    with torch.device("meta"):
        sd = mobilenet_v2().state_dict()
    assert sd["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert sd["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)  # t = 1: depthwise first
    assert sd["features.1.conv.1.weight"].shape == (16, 32, 1, 1)
    assert sd["features.2.conv.0.0.weight"].shape == (96, 16, 1, 1)  # t = 6: expand first
    assert sd["features.2.conv.1.0.weight"].shape == (96, 1, 3, 3)
    assert sd["features.2.conv.2.weight"].shape == (24, 96, 1, 1)
    assert sd["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert sd["classifier.1.weight"].shape == (1000, 1280)


# -- positions --------------------------------------------------------------------------------

class Recorder(nn.Module):
    """An 'attention' that doubles its input and remembers what it saw."""

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.seen = None

    def forward(self, x):
        self.seen = x.detach().clone()
        return 2 * x


@pytest.mark.parametrize("block", [
    lambda: Bottleneck(64, 16, 1, None, Recorder),
    lambda: BasicBlock(16, 16, 1, None, Recorder),
])
def test_resnet_attention_sits_after_the_last_bn_before_the_addition(block):
    torch.manual_seed(0)
    blk = block().eval()
    last_bn = blk.bn3 if isinstance(blk, Bottleneck) else blk.bn2
    seen = {}
    last_bn.register_forward_hook(lambda m, i, o: seen.update(bn=o.detach().clone()))
    x = torch.randn(2, 64 if isinstance(blk, Bottleneck) else 16, 8, 8)
    out = blk(x)
    assert torch.equal(blk.attention.seen, seen["bn"])
    assert torch.allclose(out, torch.relu(2 * seen["bn"] + x))  # identity shortcut, not gated


def test_mobilenet_positions():
    with torch.device("meta"):
        hidden, output = mobilenet_v2(Recorder, position="hidden"), mobilenet_v2(Recorder, position="output")
        default_ca = mobilenet_v2("ca")
    blocks = [m for m in hidden.modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17
    # hidden: after the depthwise ConvBNReLU, on the expanded width, only where t != 1
    assert [type(m).__name__ for m in blocks[1].conv] == ["ConvBNReLU", "ConvBNReLU", "Recorder", "Conv2d", "BatchNorm2d"]
    assert not any(isinstance(m, Recorder) for m in blocks[0].conv)
    assert [m.channels for m in hidden.modules() if isinstance(m, Recorder)][:3] == [96, 144, 144]
    # output: after the projection's BN, in all 17 blocks, on the output width
    rec = [m for m in output.modules() if isinstance(m, Recorder)]
    assert len(rec) == 17 and rec[0].channels == 16 and rec[-1].channels == 320
    assert all(isinstance(b.conv[-1], Recorder) and isinstance(b.conv[-2], nn.BatchNorm2d)
               for b in output.modules() if isinstance(b, InvertedResidual))
    # "ca" defaults to the hidden position
    cas = [n for n, m in default_ca.named_modules() if isinstance(m, CoordAttention)]
    assert len(cas) == 16 and cas[0] == "features.2.conv.2"


def test_mobilenet_hidden_attention_sees_the_depthwise_output():
    torch.manual_seed(0)
    blk = InvertedResidual(16, 16, 1, 6, Recorder, "hidden").eval()
    seen = {}
    blk.conv[1].register_forward_hook(lambda m, i, o: seen.update(dw=o.detach().clone()))
    x = torch.randn(1, 16, 8, 8)
    out = blk(x)
    assert torch.equal(blk.conv[2].seen, seen["dw"])
    assert torch.allclose(out, x + blk.conv[4](blk.conv[3](2 * seen["dw"])))


# -- shapes -----------------------------------------------------------------------------------

@torch.no_grad()
def test_output_shapes_at_224():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 224, 224)
    assert resnet50("cbam").eval()(x).shape == (1, 1000)
    assert mobilenet_v2("ca").eval()(x).shape == (1, 1000)


@torch.no_grad()
@pytest.mark.parametrize("build, attention", [
    (resnet18, "se"), (resnet18, "ca"), (resnet50, "eca"), (mobilenet_v2, "ca"), (mobilenet_v2, "eca"),
])
def test_output_shapes_at_32(build, attention):
    torch.manual_seed(0)
    assert build(attention, num_classes=7).eval()(torch.randn(2, 3, 32, 32)).shape == (2, 7)


@torch.no_grad()
@pytest.mark.parametrize("attention", [None, "se", "cbam", "eca", "ca"])
def test_cifar_resnet20(attention):
    torch.manual_seed(0)
    net = cifar_resnet20(attention, reduction=4) if attention in ("se", "cbam") else cifar_resnet20(attention)
    assert net.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert cifar_resnet20(in_channels=1, num_classes=10)(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_per_stage_options():
    assert per_stage_options({"kernel_size": [3, 5], "gamma": 2}, 2) == [
        {"kernel_size": 3, "gamma": 2}, {"kernel_size": 5, "gamma": 2}]
    with torch.device("meta"):
        net = mobilenet_v2("eca", kernel_size=[1, 1, 1, 1, 1, 3, 3])  # ECA's official MobileNetV2
    assert [m.kernel_size for m in net.modules() if isinstance(m, ECA)] == [1] * 13 + [3] * 4
    with torch.device("meta"):
        net = cifar_resnet20("se", reduction=[2, 4, 8])
    assert [m.reduce.out_features for m in net.modules() if isinstance(m, SE)] == [8] * 3 + [8] * 3 + [8] * 3


# -- attach -----------------------------------------------------------------------------------

def test_attach_by_names_wraps_exactly_those_modules():
    with torch.device("meta"):
        net = resnet50()
    names = attach(net, "se", where=["layer1.0.bn3", "layer3.5.bn3", "layer2.1.conv2"])
    assert names == ["layer1.0.bn3", "layer2.1.conv2", "layer3.5.bn3"]  # model order
    ses = {n: m for n, m in net.named_modules() if isinstance(m, SE)}
    assert sorted(ses) == ["layer1.0.bn3.1", "layer2.1.conv2.1", "layer3.5.bn3.1"]
    assert [ses[n].channels for n in sorted(ses)] == [256, 128, 1024]
    assert isinstance(net.layer1[0].bn3[0], nn.BatchNorm2d)


def test_attach_by_predicate_reproduces_the_built_in_network():
    with torch.device("meta"):
        net = resnet50()
    names = attach(net, "se", where=lambda name, m: name.endswith(".bn3"))
    assert len(names) == 16
    assert count_parameters(net) == 28_088_024
    with torch.device("meta"):
        mbv2 = mobilenet_v2()
    expanded_dw = [f"features.{i}.conv.1" for i in range(2, 18)]  # depthwise ConvBNReLU of the t = 6 blocks
    attach(mbv2, "ca", where=expanded_dw)
    assert count_parameters(mbv2) == 3_950_648


def test_attach_by_type_and_equivalence_with_the_built_in_network():
    torch.manual_seed(0)
    built = cifar_resnet20("cbam", reduction=4).eval()
    net = cifar_resnet20()
    names = attach(net, "cbam", where=lambda name, m: re.fullmatch(r"layer\d\.\d\.bn2", name) is not None, reduction=4)
    assert len(names) == 9
    net.load_state_dict(dict(zip(net.state_dict(), built.state_dict().values())))  # same order, other names
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(net.eval()(x), built(x), atol=1e-6)
    small = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1))
    assert attach(small, "eca", where=nn.Conv2d) == ["0", "2"]
    assert [small[0][1].channels, small[2][1].channels] == [8, 4]


def test_attach_nested_choices_and_callables():
    net = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8)))
    assert attach(net, lambda c: CBAM(c, reduction=2), where=["0", "0.1"]) == ["0", "0.1"]
    assert isinstance(net[0][1], CBAM) and isinstance(net[0][0][1][1], CBAM)
    assert net(torch.randn(1, 3, 5, 5)).shape == (1, 8, 5, 5)


def test_output_channels():
    assert output_channels(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.ReLU6())) == 8
    assert output_channels(nn.Linear(4, 9)) == 9
    with pytest.raises(ValueError, match="cannot tell how many channels ReLU outputs"):
        output_channels(nn.ReLU())


# -- errors -----------------------------------------------------------------------------------

def test_bad_attention_arguments():
    with pytest.raises(ValueError, match=r"attention must be None, one of 'se', 'cbam', 'eca', 'ca'.*got 'sse'"):
        resnet18("sse")
    with pytest.raises(TypeError, match=r"attention must be None, a name .* got 3 \(int\)"):
        mobilenet_v2(3)
    with pytest.raises(ValueError, match=r"options \['reduction'\] were given, but attention=None"):
        resnet18(reduction=8)
    with pytest.raises(ValueError, match=r"options \['reduction'\] were given, but attention=None"):
        mobilenet_v2(reduction=8)
    with pytest.raises(ValueError, match=r"option kernel_size=\[3, 5, 7\] gives 3 values, but the network has 4 stages"):
        resnet50("eca", kernel_size=[3, 5, 7])
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        resnet50("eca", kernel_size=4)
    with pytest.raises(ValueError, match="position must be one of 'hidden', 'output', got 'before'"):
        mobilenet_v2("ca", position="before")


def test_bad_network_arguments():
    with pytest.raises(ValueError, match="depth must be 6n \\+ 2 .* got 21"):
        CifarResNet(21)
    with pytest.raises(ValueError, match=r"layers must be a list of 4 block counts .* got \(2, 2\)"):
        ResNet(BasicBlock, (2, 2))
    with pytest.raises(TypeError, match="block must be BasicBlock or Bottleneck"):
        ResNet(nn.Conv2d, (2, 2, 2, 2))
    with pytest.raises(ValueError, match="stride_in_1x1=True needs block=Bottleneck"):
        resnet18(stride_in_1x1=True)
    with pytest.raises(TypeError, match="num_classes must be an int >= 1, got '10'"):
        resnet50(num_classes="10")
    with pytest.raises(ValueError, match="width_mult must be a real number > 0, got -1"):
        mobilenet_v2(width_mult=-1)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        mobilenet_v2(dropout=1.5)
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        count_parameters("resnet")


def test_bad_attach_arguments():
    net = nn.Sequential(nn.Conv2d(3, 8, 1), nn.ReLU())
    with pytest.raises(TypeError, match="model must be an nn.Module, got list"):
        attach([net], "se", where=["0"])
    with pytest.raises(ValueError, match="got None, which attaches nothing"):
        attach(net, None, where=["0"])
    with pytest.raises(ValueError, match=r"where names modules the model does not have: \['conv1'\]"):
        attach(net, "se", where=["conv1"])
    with pytest.raises(TypeError, match=r"where must be a list of module names, not a single string; got '0'"):
        attach(net, "se", where="0")
    with pytest.raises(TypeError, match=r"where must list module names \(str\), got 0 \(int\)"):
        attach(net, "se", where=[0])
    with pytest.raises(TypeError, match="where must be a predicate .* got 3.5 \\(float\\)"):
        attach(net, "se", where=3.5)
    with pytest.raises(ValueError, match="selected no submodule of Sequential"):
        attach(net, "se", where=nn.Linear)
    with pytest.raises(ValueError, match="cannot tell how many channels ReLU outputs"):
        attach(net, "se", where=["1"])
    with pytest.raises(ValueError, match="attention must be None, one of"):
        attach(net, "xyz", where=["0"])
    assert isinstance(net[0], nn.Conv2d)  # failed calls changed nothing


def test_checker_for_the_exercise(capsys):
    from attn_src.checks.backbones import check_last_bn_names

    def right(model):
        last = {BasicBlock: "bn2", Bottleneck: "bn3"}
        return [f"{n}.{last[type(m)]}" for n, m in model.named_modules() if type(m) in last]

    def bn2_everywhere(model):
        return [n for n, m in model.named_modules() if n.endswith(".bn2")]

    def with_shortcut(model):
        return right(model) + [n for n, m in model.named_modules() if n.endswith("downsample.1")]

    def stub(model):
        raise NotImplementedError("todo")

    assert check_last_bn_names(right) == True  # noqa: E712 (a Verdict)
    assert "PASSED: the last BatchNorm of every residual branch (5 checks)" in capsys.readouterr().out
    assert check_last_bn_names(bn2_everywhere) == False  # noqa: E712 (a Verdict)
    out = capsys.readouterr().out
    assert "FAILED" in out and "for resnet50: missing ['layer1.0.bn3'" in out and "a Bottleneck's is bn3" in out
    assert check_last_bn_names(with_shortcut) == False  # noqa: E712 (a Verdict)
    assert "that BatchNorm is on the shortcut" in capsys.readouterr().out
    assert check_last_bn_names(stub) == False  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out.startswith("NOT YET")
    with pytest.raises(TypeError, match="fn must be a function model -> list of module names, got int"):
        check_last_bn_names(3)


def test_bad_block_and_helper_arguments():
    from attn_src.models.mobilenet import make_divisible

    with pytest.raises(ValueError, match="stride must be 1 or 2, got 3"):
        Bottleneck(64, 16, stride=3)
    with pytest.raises(TypeError, match="planes must be an int >= 1, got 16.0"):
        BasicBlock(16, 16.0)
    with pytest.raises(TypeError, match="expand_ratio must be an int >= 1, got 6.5"):
        InvertedResidual(16, 24, 1, 6.5)
    with pytest.raises(ValueError, match="stride must be 1 or 2, got 0"):
        InvertedResidual(16, 24, 0, 6)
    with pytest.raises(TypeError, match="options must be a dict"):
        per_stage_options([("kernel_size", 3)], 4)
    with pytest.raises(ValueError, match="num_stages must be an int >= 1, got 0"):
        per_stage_options({}, 0)
    with pytest.raises(TypeError, match="module must be an nn.Module, got str"):
        output_channels("conv")
    assert [make_divisible(v) for v in (32, 24 * 0.75, 1280 * 1.4)] == [32, 24, 1792]
    with pytest.raises(ValueError, match="value must be a real number > 0, got 0"):
        make_divisible(0)
