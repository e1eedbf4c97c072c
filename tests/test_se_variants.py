"""SE positions in a residual block (SE paper, Fig. 5) and timm's bottleneck width."""
from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

from attn_src.models import TinyCNN
from attn_src.se_variants import SE_POSITIONS, SEResBlock, timm_hidden_width


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("position", SE_POSITIONS)
@pytest.mark.parametrize("shape", [(2, 16, 8, 8), (1, 32, 5, 3), (3, 8, 1, 1)], ids=str)
def test_the_block_keeps_the_shape(position, shape):
    torch.manual_seed(0)
    assert SEResBlock(shape[1], position, reduction=4)(torch.randn(shape)).shape == shape


@pytest.mark.parametrize("channels,reduction", [(16, 4), (64, 16), (24, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_counts(channels, reduction, bias):
    plain = 2 * 9 * channels**2 + 2 * 2 * channels  # two 3x3 convs without bias, two BatchNorms (weight, bias)
    hidden = channels // reduction
    se = 2 * channels * hidden + ((hidden + channels) if bias else 0)
    assert n_params(SEResBlock(channels, "none", reduction, bias)) == plain
    for position in ("standard", "pre", "post", "identity"):
        assert n_params(SEResBlock(channels, position, reduction, bias)) == plain + se, position


def set_constant_gate(block: SEResBlock, logit: float) -> None:
    """Make SE's gate sigmoid(logit) for every channel and input: zero weights, a constant bias."""
    with torch.no_grad():
        for p in block.se.parameters():
            p.zero_()
        block.se.expand.bias.fill_(logit)


@pytest.mark.parametrize("position", SE_POSITIONS[1:])
def test_a_gate_of_one_gives_the_plain_block(position):
    torch.manual_seed(0)
    block = SEResBlock(8, position, reduction=2).eval()
    plain = SEResBlock(8, "none").eval()
    plain.residual.load_state_dict(block.residual.state_dict())
    set_constant_gate(block, 40.0)  # sigmoid(40) == 1 in float32
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(block(x), plain(x))


def test_each_position_puts_the_gate_where_fig5_says():
    """With the gate fixed at sigmoid(0) = 1/2, every position's formula can be written out."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 5)
    outputs = {}
    for position in SE_POSITIONS[1:]:
        torch.manual_seed(1)  # the same residual weights for every position
        block = SEResBlock(8, position, reduction=2).eval()
        set_constant_gate(block, 0.0)
        outputs[position] = block(x)
        residual = block.residual
    expected = {
        "standard": torch.relu(0.5 * residual(x) + x),
        "pre": torch.relu(residual(0.5 * x) + x),
        "post": 0.5 * torch.relu(residual(x) + x),
        "identity": torch.relu(residual(x) + 0.5 * x),
    }
    for position, out in outputs.items():
        torch.testing.assert_close(out, expected[position], msg=position)
    assert not torch.allclose(outputs["standard"], outputs["identity"])


def test_the_blocks_plug_into_tinycnn():
    torch.manual_seed(0)
    model = TinyCNN(attention=partial(SEResBlock, position="pre", reduction=4))
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 10)
    assert sum(isinstance(m, SEResBlock) for m in model.modules()) == 3


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(channels=16, position="after"), ValueError,
     "position must be one of 'none', 'standard', 'pre', 'post', 'identity', got 'after'"),
    (dict(channels=16, position=None), ValueError,
     "position must be one of 'none', 'standard', 'pre', 'post', 'identity', got None"),
    (dict(channels=0), ValueError, "channels must be an int >= 1, got 0"),
    (dict(channels=16.0), TypeError, "channels must be an int >= 1, got 16.0 (float)"),
    (dict(channels=16, reduction=32), ValueError, "reduction=32 gives a hidden width of channels // reduction"),
    (dict(channels=16, bias=1), TypeError, "bias must be True or False, got 1 (int)"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error) as err:
        SEResBlock(**kwargs)
    assert message in str(err.value)


def test_the_wrong_channel_count_is_named():
    with pytest.raises(ValueError, match=r"expected 16 channels, got 8"):
        SEResBlock(16)(torch.randn(1, 8, 4, 4))


@pytest.mark.parametrize("channels,kwargs,expected", [
    (64, {}, 8),            # 64 / 16 = 4 -> rounded to a multiple of 8, at least 8
    (256, {}, 16),
    (2048, {}, 128),
    (24, {}, 8),            # 1.5 -> the floor of 8
    (200, {}, 16),          # 12.5 -> 16 (nearest multiple, halves up)
    (100, dict(rd_ratio=0.25), 24),  # 25 -> 24
    (64, dict(rd_divisor=1), 4),     # divisor 1: plain rounding, the paper's C / r
])
def test_timm_hidden_width(channels, kwargs, expected):
    assert timm_hidden_width(channels, **kwargs) == expected


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(channels=0), ValueError, "channels must be an int >= 1, got 0"),
    (dict(channels=64, rd_ratio=16), ValueError, "rd_ratio must be a real number in (0, 1], got 16"),
    (dict(channels=64, rd_ratio="1/16"), TypeError, "rd_ratio must be a real number in (0, 1], got '1/16' (str)"),
    (dict(channels=64, rd_divisor=0), ValueError, "rd_divisor must be an int >= 1, got 0"),
])
def test_timm_hidden_width_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as err:
        timm_hidden_width(**kwargs)
    assert str(err.value) == message
