"""Every bad argument is rejected with a message that names it, its value and what is allowed."""
from __future__ import annotations

import re

import pytest
import torch

from attn_src import CBAM, ECA, SE, ChannelAttention, CoordAttention, SpatialAttention, eca_kernel_size
from attn_src.models import TinyCNN, make_attention

CONSTRUCTION = [
    # (factory, exception, message fragment)
    (lambda: SE(0), ValueError, "channels must be an int >= 1, got 0"),
    (lambda: SE(-3), ValueError, "channels must be an int >= 1, got -3"),
    (lambda: SE(64.0), TypeError, "channels must be an int >= 1, got 64.0 (float)"),
    (lambda: SE("64"), TypeError, "channels must be an int >= 1, got '64' (str)"),
    (lambda: SE(True), TypeError, "channels must be an int >= 1, got True (bool)"),
    (lambda: SE(64, reduction=0), ValueError, "reduction must be an int >= 1, got 0"),
    (lambda: SE(64, reduction=2.5), TypeError, "reduction must be an int >= 1, got 2.5 (float)"),
    (lambda: SE(8, reduction=16), ValueError,
     "reduction=16 gives a hidden width of channels // reduction = 8 // 16 = 0 for channels=8; "
     "allowed: 1 <= reduction <= 8"),
    (lambda: SE(64, bias=1), TypeError, "bias must be True or False, got 1 (int)"),
    (lambda: ChannelAttention(4, reduction=8), ValueError, "4 // 8 = 0 for channels=4; allowed: 1 <= reduction <= 4"),
    (lambda: CBAM(16, reduction=32), ValueError, "16 // 32 = 0"),
    (lambda: CBAM(64, kernel_size=4), ValueError,
     "kernel_size must be a positive odd int (an even kernel has no centred 'same' padding), got 4"),
    (lambda: SpatialAttention(kernel_size=0), ValueError, "kernel_size must be an int >= 1, got 0"),
    (lambda: SpatialAttention(kernel_size=-7), ValueError, "kernel_size must be an int >= 1, got -7"),
    (lambda: SpatialAttention(kernel_size=7.0), TypeError, "kernel_size must be an int >= 1, got 7.0 (float)"),
    (lambda: SpatialAttention(norm="yes"), TypeError, "norm must be True or False, got 'yes' (str)"),
    (lambda: SpatialAttention(max_first=None), TypeError, "max_first must be True or False, got None (NoneType)"),
    (lambda: ECA(64, kernel_size=2), ValueError, "kernel_size must be a positive odd int"),
    (lambda: ECA(64, gamma=0), ValueError, "gamma must be a real number > 0, got 0"),
    (lambda: ECA(64, gamma=-2), ValueError, "gamma must be a real number > 0, got -2"),
    (lambda: ECA(64, gamma="2"), TypeError, "gamma must be a real number > 0, got '2' (str)"),
    (lambda: ECA(64, b=float("nan")), ValueError, "b must be a finite real number, got nan"),
    (lambda: ECA(0), ValueError, "channels must be an int >= 1, got 0"),
    (lambda: eca_kernel_size(0), ValueError, "channels must be an int >= 1, got 0"),
    (lambda: eca_kernel_size(64, gamma=0.0), ValueError, "gamma must be a real number > 0, got 0.0"),
    (lambda: CoordAttention(0), ValueError, "channels must be an int >= 1, got 0"),
    (lambda: CoordAttention(64, activation="gelu"), ValueError,
     "activation must be one of 'hswish', 'relu', got 'gelu'"),
    (lambda: CoordAttention(64, min_hidden=-1), ValueError, "min_hidden must be an int >= 0, got -1"),
    (lambda: CoordAttention(16, reduction=32, min_hidden=0), ValueError,
     "reduction=32 gives a hidden width of channels // reduction = 16 // 32 = 0 for channels=16"),
    (lambda: CoordAttention(64, reduction=0), ValueError, "reduction must be an int >= 1, got 0"),
    (lambda: make_attention("bam", 64), ValueError,
     "attention must be None, one of 'se', 'cbam', 'eca', 'ca', or a callable; got 'bam'"),
    (lambda: make_attention(3, 64), TypeError, "attention must be None, a name (se, cbam, eca, ca) or a callable"),
    (lambda: make_attention(lambda c: 3, 64), TypeError, "attention(64) must return an nn.Module, got int"),
    (lambda: make_attention(None, 64, reduction=4), ValueError, "attention=None builds no module"),
    (lambda: TinyCNN(widths=(16, 32)), ValueError, "widths must be a tuple of 3 ints, got (16, 32)"),
    (lambda: TinyCNN(num_classes=0), ValueError, "num_classes must be an int >= 1, got 0"),
]


@pytest.mark.parametrize("factory,exc,message", CONSTRUCTION, ids=[m[:40] for _, _, m in CONSTRUCTION])
def test_construction_errors(factory, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        factory()


MODULES = [SE(64), CBAM(64), ChannelAttention(64), ECA(64), CoordAttention(64)]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: type(m).__name__)
def test_wrong_channel_count_is_named(module):
    with pytest.raises(ValueError, match=re.escape("expected 64 channels, got 32 (input shape (2, 32, 8, 8))")):
        module(torch.randn(2, 32, 8, 8))


@pytest.mark.parametrize("module", [*MODULES, SpatialAttention()], ids=lambda m: type(m).__name__)
def test_non_4d_input_is_rejected(module):
    with pytest.raises(ValueError, match=re.escape("input must be a 4-D tensor (N, C, H, W), got shape (64, 8, 8)")):
        module(torch.randn(64, 8, 8))
    with pytest.raises(TypeError, match=re.escape("input must be a torch.Tensor of shape (N, C, H, W), got list")):
        module([[1.0]])


@pytest.mark.parametrize("seed, message", [(1.0, "seed must be an int, got 1.0 (float)"),
                                           (True, "seed must be an int, got True (bool)"),
                                           ("0", "seed must be an int, got '0' (str)")])
def test_every_generated_task_rejects_a_seed_that_is_not_an_int(seed, message):
    from attn_src.cbam_task import cue_task
    from attn_src.eca_task import marked_band_task
    from attn_src.position_task import alignment_task
    from attn_src.se_task import same_colour_task

    for task in (alignment_task, same_colour_task, marked_band_task, cue_task):
        with pytest.raises(TypeError, match=re.escape(message)):
            task(n_train=4, n_test=4, seed=seed)


def test_generated_tasks_draw_train_and_test_from_seed_and_seed_plus_one():
    from attn_src.data import Split, train_test

    seen = []
    train, test = train_test(lambda n, s: seen.append((n, s)) or Split(torch.zeros(n, 1, 2, 2), torch.zeros(n)), 3, 2, 7)
    assert seen == [(3, 7), (2, 8)] and (len(train), len(test)) == (3, 2)
    with pytest.raises(ValueError, match="n_test must be an int >= 1, got 0"):
        train_test(lambda n, s: None, 3, 0, 7)
