"""The cost instruments: attn_src.stat (torchstat, mended), count_ops (every aten op), closed forms, benchmark."""
from __future__ import annotations

import io
import contextlib
import statistics
import time

import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from attn_src import CBAM, ECA, SE, CoordAttention, benchmark, benchmark_many, count_ops, opcount, stat, torchstat_report
from attn_src.cbam import ChannelAttention, SpatialAttention
from attn_src.opcount import Cost, closed_form
from attn_src.timing import Timing

REQUIRED_COLUMNS = ["params", "MAdd", "Flops", "MemRead(B)", "MemWrite(B)", "MemR+W(B)"]


def quiet(fn, *args, **kwargs):
    """Call fn and return (result, everything it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


# ---------------------------------------------------------------- stat (torchstat)


def test_stat_returns_a_table_with_a_total_row_and_prints_nothing():
    df, printed = quiet(stat, CoordAttention(64).eval(), input_size=[64, 16, 16])
    assert printed == ""
    assert isinstance(df, pd.DataFrame)
    assert df.index[-1] == "total"
    assert set(REQUIRED_COLUMNS) <= set(df.columns)
    leaves = df.drop(index="total")
    assert list(leaves.index) == ["transform", "norm", "act", "to_gate_h", "to_gate_w"]
    for column in REQUIRED_COLUMNS:
        assert df.loc["total", column] == leaves[column].sum(), column
    assert (df["MemR+W(B)"] == df["MemRead(B)"] + df["MemWrite(B)"]).all()
    assert df.attrs["unsupported"] == ["Hardswish"]


def test_stat_runs_on_numpy_without_np_long(monkeypatch):
    """torchstat's hook asks for ``np.long``, which numpy 1.24-1.26 lack; stat lends it for the call only."""
    expected = stat(SE(32), [32, 8, 8])
    if "long" in vars(torchstat_report.np):  # numpy >= 2
        monkeypatch.delattr(torchstat_report.np, "long")
    pd.testing.assert_frame_equal(stat(SE(32), [32, 8, 8]), expected)
    assert "long" not in vars(torchstat_report.np)


def test_stat_keeps_torchstat_formulas_for_a_conv():
    # torchstat's MAdd per output: k*k*C_in multiplies and k*k*C_in - 1 (+1 with a bias) adds;
    # its Flops: k*k*C_in*C_out*H'*W' (+ C_out*H'*W' for the bias), batch 1.
    conv = nn.Conv2d(3, 8, 3, padding=1)
    df = stat(conv, [3, 10, 12])
    outputs = 8 * 10 * 12
    assert df.loc["Conv2d", "MAdd"] == outputs * (27 + 27)
    assert df.loc["Conv2d", "Flops"] == outputs * 27 + outputs
    assert df.loc["Conv2d", "params"] == 8 * 27 + 8
    assert df.loc["Conv2d", "MemRead(B)"] == 4 * (3 * 10 * 12 + 8 * 27 + 8)
    assert df.loc["Conv2d", "MemWrite(B)"] == 4 * outputs
    assert df.loc["Conv2d", "output shape"] == "8 x 10 x 12"


def test_stat_shows_torchstat_blind_spots():
    eca = stat(ECA(64), [64, 8, 8])  # a Conv1d and functional code only
    assert eca.loc["total", "MAdd"] == 0 and eca.loc["total", "Flops"] == 0
    assert eca.attrs["unsupported"] == ["Conv1d"]
    from attn_src.blog import BlogCBAM

    blog = stat(BlogCBAM(64, reduction=16).eval(), [64, 8, 8])
    assert blog.loc["channel_gate.squeeze", "calls"] == 2  # the shared MLP runs twice, torchstat reports one call
    assert blog.loc["channel_gate.squeeze", "MAdd"] == 4 * (2 * 64 - 1)
    cbam = stat(CBAM(64).eval(), [64, 8, 8])  # the same in attn_src's CBAM (Eq. 2 as written)
    assert cbam.loc["channel.mlp.0", "calls"] == 2
    assert cbam.loc["channel.mlp.0", "MAdd"] == 4 * (2 * 64 - 1)
    # The fast CBAM runs it once on both descriptors stacked (2 rows): torchstat's Linear MAdd
    # formula counts one row, its Flops formula both
    from attn_src.fast import FastCBAM

    cbam = stat(FastCBAM(64).eval(), [64, 8, 8])
    assert cbam.loc["channel.mlp.0", "calls"] == 1
    assert cbam.loc["channel.mlp.0", "MAdd"] == 4 * (2 * 64 - 1)
    assert cbam.loc["channel.mlp.0", "Flops"] == 2 * 64 * 4


def test_stat_runs_the_blog_posts_calls_silently():
    from attn_src.blog import BlogCA, BlogCBAM, BlogECA, BlogSE

    expected_unsupported = {
        BlogSE: ["AdaptiveAvgPool2d", "Sigmoid"],
        BlogCBAM: ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Sigmoid"],
        BlogECA: ["AdaptiveAvgPool2d", "Conv1d", "Sigmoid"],
        BlogCA: ["Sigmoid"],
    }
    for cls, unsupported in expected_unsupported.items():
        model = cls(320)
        df, printed = quiet(stat, model, input_size=[320, 32, 32])  # the blog post's call
        assert printed == "", cls.__name__
        assert df.attrs["unsupported"] == unsupported, cls.__name__
        assert df.loc["total", "params"] == sum(p.numel() for p in model.parameters()), cls.__name__


def test_stat_leaves_model_classes_and_random_state_untouched():
    model = SE(32)
    keys = list(model.state_dict())
    torch.manual_seed(0)
    stat(model, [32, 4, 4])
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3)), "stat consumed the global random stream"
    assert list(model.state_dict()) == keys, "stat added torchstat's buffers to the caller's model"
    assert "__call__" not in nn.Linear.__dict__, "torchstat's patched __call__ was left on nn.Linear"
    _, printed = quiet(model, torch.randn(2, 32, 4, 4))
    assert printed == ""
    assert model.training, "stat switched the caller's model to eval mode"


def test_importing_attn_src_leaves_pandas_display_options_alone():
    import subprocess
    import sys

    code = ("import pandas as pd; keys = ['display.width', 'display.max_rows', 'display.max_columns']; "
            "before = [pd.get_option(k) for k in keys]; import attn_src; "
            "print([pd.get_option(k) for k in keys] == before)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True", "importing torchstat changed pandas' display options"


def test_stat_query_granularity_groups_leaves_without_changing_totals():
    from attn_src.models.small import TinyCNN

    model = TinyCNN("se")
    fine, coarse = stat(model, [1, 16, 16]), stat(model, [1, 16, 16], query_granularity=2)
    assert len(coarse) < len(fine)
    for column in REQUIRED_COLUMNS:
        assert coarse.loc["total", column] == fine.loc["total", column], column


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("not a model", [3, 8, 8]), TypeError, "model must be a torch.nn.Module, got str"),
        ((nn.ReLU(), [3, 8]), ValueError, "input_size must be a list or tuple of 3 ints"),
        ((nn.ReLU(), [3, 0, 8]), ValueError, "input_size[1] must be an int >= 1, got 0"),
        ((nn.ReLU(), (3, 8, 8.5)), ValueError, "input_size[2] must be an int >= 1, got 8.5"),
        ((nn.ReLU(), [3, 8, 8], 0), ValueError, "query_granularity must be an int >= 1, got 0"),
        ((nn.ReLU(), [3, 8, 8], "1"), TypeError, "query_granularity must be an int >= 1, got '1'"),
        ((nn.Linear(8, 2), [3, 5, 8]), ValueError,
         "torchstat cannot measure this model with input_size=[3, 5, 8]: one of its per-layer formulas rejected"),
    ],
)
def test_stat_rejects_bad_arguments(args, error, message):
    with pytest.raises(error) as info:
        stat(*args)
    assert message in str(info.value)


# ---------------------------------------------------------------- count_ops vs closed forms


def as_cost(r) -> Cost:
    return Cost(r.flops, r.macs, r.bytes_read, r.bytes_written)


def assert_matches_closed_form(module: nn.Module, shape: tuple[int, ...]) -> None:
    counted = count_ops(module, torch.randn(shape))
    expected = closed_form(module, shape)
    got = as_cost(counted)
    if got != expected:
        diffs = ", ".join(f"{f}: counted {g:,} vs closed form {e:,}"
                          for f, g, e in zip(Cost._fields, got, expected) if g != e)
        raise AssertionError(
            f"{type(module).__name__} on {shape}: {diffs}. If its forward changed (other aten ops), "
            f"update its closed form in attn_src/opcount.py. Ops now:\n{counted.by_op().to_string()}")


SHAPES = [(2, 32, 9, 11), (1, 32, 7, 7), (3, 32, 1, 5), (1, 32, 16, 4), (2, 32, 12, 10), (1, 32, 3, 24)]
MODULES = {
    "SE": lambda: SE(32),
    "SE-nobias-r4": lambda: SE(32, reduction=4, bias=False),
    "ECA": lambda: ECA(32),
    "ECA-k7": lambda: ECA(32, kernel_size=7),
    "ChannelAttention": lambda: ChannelAttention(32),
    "SpatialAttention": lambda: SpatialAttention(),
    "CBAM": lambda: CBAM(32),
    "CBAM-blog": lambda: CBAM(32, reduction=8, bias=False, norm=False, max_first=False),
    "CBAM-k3": lambda: CBAM(32, kernel_size=3),
    "CoordAttention": lambda: CoordAttention(32),
    "CoordAttention-blog": lambda: CoordAttention(32, reduction=16, min_hidden=0, activation="relu", bias=False),
    "Conv2d": lambda: nn.Conv2d(32, 16, 3, padding=1),
    "Conv2d-strided-grouped": lambda: nn.Conv2d(32, 8, (3, 1), stride=2, padding=(1, 0), groups=4, bias=False),
    "Conv2d-same": lambda: nn.Conv2d(32, 4, 3, padding="same", dilation=2),
}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", list(MODULES))
def test_count_ops_equals_closed_form(name, shape):
    assert_matches_closed_form(MODULES[name]().eval(), shape)


@pytest.mark.parametrize("name", ["SE", "CBAM", "ECA", "CA"])
def test_closed_forms_count_the_plain_modules_only(name):
    """Counting is defined on the papers' equations: a fast module (another order of work) has no closed form."""
    from attn_src.fast import FAST_TWINS
    from attn_src.registry import MODULES as PLAIN

    fast = FAST_TWINS[PLAIN[name]](32).eval()
    with pytest.raises(TypeError, match=f"closed_form has no formula for {type(fast).__name__}"):
        closed_form(fast, (1, 32, 7, 7))


def test_an_out_argument_is_written_not_read():
    """``torch.mul(a, b, out=c)`` reads a and b and writes c, like ``a * b``; in place on ``a`` too."""
    class Mul(nn.Module):
        def forward(self, a, b):
            c = torch.empty_like(a)
            torch.mul(a, b, out=c)
            return torch.mul(c, b, out=c)

    a, b = torch.randn(4, 6), torch.randn(4, 1)
    r = count_ops(Mul(), (a, b))
    assert r.by_op().index.tolist() == ["aten.empty_like.default", "aten.mul.out"]
    assert r.bytes_read == 2 * (24 + 4) * 4 and r.bytes_written == 2 * 24 * 4
    assert r.flops == 2 * 24


@pytest.mark.skipif(not hasattr(torch.Tag, "reduction"), reason="this torch has no Tag.reduction to compare with")
def test_reductions_listed_for_torch_without_the_tag_are_the_tagged_ones():
    listed = opcount._overloads(opcount._REDUCTION_NAMES)
    assert len(listed) == len(opcount._REDUCTION_NAMES)  # every name is an op of this torch
    assert all(torch.Tag.reduction in op.tags for op in listed)
    aten = torch.ops.aten
    tagged = set()
    for name in ("sum", "mean", "amax", "amin", "max", "min", "var", "std", "prod", "any", "all"):
        for overload in getattr(aten, name).overloads():
            op = getattr(getattr(aten, name), overload)
            writes = any(a.alias_info is not None and a.alias_info.is_write for a in op._schema.arguments)
            if torch.Tag.reduction in op.tags and not writes:  # out= variants aside
                tagged.add(f"{name}.{overload}")
    assert tagged <= set(opcount._REDUCTION_NAMES)


@pytest.mark.parametrize("name", ["SE", "CBAM", "CoordAttention", "CBAM-blog", "CoordAttention-blog"])
def test_counts_without_the_reduction_tag_are_the_same(name, monkeypatch):
    """torch 2.2 has no Tag.reduction: count_ops then recognises reductions from its own list."""
    module, x = MODULES[name]().eval(), torch.randn(2, 32, 9, 11)
    tagged = as_cost(count_ops(module, x))
    monkeypatch.setattr(opcount, "_REDUCTION", opcount._overloads(opcount._REDUCTION_NAMES))
    assert as_cost(count_ops(module, x)) == tagged


@pytest.mark.parametrize("name", ["SE", "CBAM", "CoordAttention", "Conv2d"])
def test_counts_on_the_meta_device_equal_real_counts(name):
    real = MODULES[name]().eval()
    with torch.device("meta"):
        meta = MODULES[name]().eval()
        x_meta = torch.empty(2, 32, 9, 11)
    assert as_cost(count_ops(meta, x_meta)) == as_cost(count_ops(real, torch.randn(2, 32, 9, 11)))


@pytest.mark.parametrize("rows, fin, fout, bias", [(1, 8, 4, True), (5, 16, 3, False), (7, 1, 1, True)])
def test_linear_counts_by_hand(rows, fin, fout, bias):
    layer = nn.Linear(fin, fout, bias=bias)
    r = count_ops(layer, torch.randn(rows, fin))
    macs = rows * fin * fout
    assert r.macs == macs
    assert r.flops == 2 * macs + (rows * fout if bias else 0)
    assert r.bytes_read == 4 * (rows * fin + fin * fout + (fout if bias else 0))
    assert r.bytes_written == 4 * rows * fout
    assert as_cost(r) == closed_form(layer, (rows, fin))


def test_conv_counts_by_hand():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    r = count_ops(conv, torch.randn(2, 3, 10, 12))
    outputs = 2 * 8 * 10 * 12
    assert r.macs == outputs * 3 * 3 * 3
    assert r.flops == 2 * r.macs + outputs
    assert r.bytes_read == 4 * (2 * 3 * 10 * 12 + 8 * 3 * 3 * 3 + 8)
    assert r.bytes_written == 4 * outputs


def test_se_flops_by_hand_and_its_memory_floor():
    # SE, C = 64, r' = 4, with biases, P = N C H W: mean P, two linears, relu, sigmoid, scale P.
    n, c, h, w, hid = 2, 64, 8, 8, 4
    p = n * c * h * w
    r = count_ops(SE(64), torch.randn(n, c, h, w))
    assert r.flops == 2 * p + 4 * n * c * hid + n * hid + n * c + (n * hid + n * c)
    # The floor: read x to pool it, read x and write the output to scale it = 1.5 copies.
    assert r.bytes_read >= 2 * 4 * p and r.bytes_written >= 4 * p
    assert 1.5 <= r.copies < 1.6


def test_macs_agree_with_torch_flop_counter_when_there_is_nothing_else():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.Flatten(), nn.Linear(8 * 6 * 6, 5, bias=False))
    x = torch.randn(2, 3, 8, 8)
    with FlopCounterMode(display=False) as counter:
        model(x)
    r = count_ops(model, x)
    assert counter.get_total_flops() == 2 * r.macs == r.flops


def test_views_are_free_and_broadcast_operands_count_once():
    class Gate(nn.Module):
        def forward(self, x):
            g = x.mean(dim=(2, 3), keepdim=True).expand(-1, -1, 1, x.shape[3])
            return x.transpose(2, 3).transpose(2, 3) * g

    n, c, h, w = 2, 3, 4, 5
    r = count_ops(Gate(), torch.randn(n, c, h, w))
    ops = r.by_op()
    assert (ops.loc["aten.transpose.int", ["flops", "bytes_read", "bytes_written"]] == 0).all()
    assert ops.loc["aten.mul.Tensor", "bytes_read"] == 4 * (n * c * h * w + n * c)  # g: N*C distinct values
    assert ops.loc["aten.mean.dim", "flops"] == n * c * h * w


def test_factories_read_nothing_and_unsafe_views_move_nothing():
    class Batched(nn.Module):
        def forward(self, x):  # (1 x C) @ (N, C, L): matmul expands, runs bmm, then an _unsafe_view
            return torch.matmul(x.new_full((1, x.shape[1]), 0.5), x)

    n, c, length = 2, 3, 4
    r = count_ops(Batched(), torch.randn(n, c, length))
    ops = r.by_op()
    assert ops.loc["aten.new_full.default", "bytes_read"] == 0
    assert ops.loc["aten.new_full.default", "bytes_written"] == 4 * c
    assert ops.loc["aten._unsafe_view.default", ["bytes_read", "bytes_written"]].sum() == 0
    assert r.macs == n * c * length and r.uncounted == ()


def test_pooling_windows_and_max_indices():
    n, c = 1, 2
    model = nn.Sequential(nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(3), nn.AdaptiveMaxPool2d(1))
    r = count_ops(model, torch.randn(n, c, 8, 10))  # 8x10 -> 4x5 -> 3x3 -> 1x1
    by_module = r.by_module()
    assert by_module.loc["0", "flops"] == n * c * 4 * 5 * 4
    # adaptive 4->3 windows: [0,2),[1,3),[2,4) = 6 rows; 5->3: [0,2),[1,4),[3,5) = 7 columns
    assert by_module.loc["1", "flops"] == n * c * 6 * 7
    assert by_module.loc["2", "flops"] == n * c * 3 * 3
    # max_pool2d writes its indices (int64) next to the values
    assert by_module.loc["0", "bytes_written"] == n * c * 4 * 5 * (4 + 8)


def test_ops_without_a_rule_are_listed_not_dropped():
    class Sorts(nn.Module):
        def forward(self, x):
            return x.sort(dim=1).values

    r = count_ops(Sorts(), torch.randn(4, 6))
    assert r.uncounted == ("aten.sort.default",)
    assert r.flops == 0 and r.bytes_read == 4 * 24 and r.bytes_written == 4 * 24 + 8 * 24


def test_by_op_and_by_module_add_up_to_the_totals():
    model = CBAM(32).eval()
    r = count_ops(model, torch.randn(2, 32, 6, 6))
    for table in (r.by_op(), r.by_module()):
        assert table["flops"].sum() == r.flops
        assert table["macs"].sum() == r.macs
        assert table["bytes_read"].sum() == r.bytes_read
        assert table["bytes_written"].sum() == r.bytes_written
        assert table["calls"].sum() == len(r.calls())
    assert r.by_op().loc["aten.addmm.default", "calls"] == 4  # the shared MLP: 2 linears, once per descriptor
    assert r.by_module().loc["spatial.conv", "macs"] == 2 * 6 * 6 * 2 * 7 * 7
    assert list(r.by_op().columns) == ["calls", "rule", "flops", "macs", "bytes_read", "bytes_written"]
    assert "0x" not in repr(r)


def test_count_ops_accepts_several_inputs_and_leaves_no_hooks():
    class Add(nn.Module):
        def forward(self, a, b):
            return a + b

    model = Add()
    r = count_ops(model, (torch.ones(3), torch.ones(3)))
    assert r.flops == 3 and r.bytes_read == 4 * 3 * 2  # two tensors
    t = torch.ones(3)
    assert count_ops(model, (t, t)).bytes_read == 4 * 3  # one tensor passed twice is read once
    assert not model._forward_hooks and not model._forward_pre_hooks


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((lambda x: x, torch.ones(1)), TypeError, "model must be a torch.nn.Module, got function"),
        ((nn.ReLU(), [1.0]), TypeError, "x must be a torch.Tensor or a non-empty tuple of tensors, got list"),
        ((nn.ReLU(), ()), TypeError, "x must be a torch.Tensor or a non-empty tuple of tensors, got tuple"),
    ],
)
def test_count_ops_rejects_bad_arguments(args, error, message):
    with pytest.raises(error) as info:
        count_ops(*args)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "module, shape, error, message",
    [
        (nn.ReLU(), (1, 2), TypeError, "closed_form has no formula for ReLU"),
        (SE(8, reduction=2), (1, 4, 2, 2), ValueError, "shape has 4 channels, but the SE expects 8"),
        (SE(8, reduction=2), (1, 8, 2), ValueError, "shape must be (N, C, H, W) for SE, got (1, 8, 2)"),
        (nn.Linear(3, 2), (1, 4), ValueError, "shape must be (N, 3)"),
        (CoordAttention(8), (1, 8, 2, 2), ValueError, "has a BatchNorm in training mode; call module.eval() first"),
        (SE(8, reduction=2), (1, 8, 0, 2), ValueError, "shape must be a tuple of ints >= 1, got (1, 8, 0, 2)"),
    ],
)
def test_closed_form_rejects_bad_arguments(module, shape, error, message):
    with pytest.raises(error) as info:
        closed_form(module, shape)
    assert message in str(info.value)


# ---------------------------------------------------------------- benchmark (properties, never speed)


@pytest.mark.parametrize("clock", ["wall", "cpu"])
@pytest.mark.parametrize("backward", [False, True])
def test_benchmark_reports_medians_and_their_ratio(backward, clock):
    module = SE(8, reduction=2)
    x = torch.randn(2, 8, 4, 4)
    t = benchmark(module, x, backward=backward, repeats=2, min_run_time=0.01, clock=clock)
    assert isinstance(t, Timing)
    assert t.median > 0 and t.copy_median > 0
    assert t.copies == t.median / t.copy_median
    assert t.backward is backward and t.shape == (2, 8, 4, 4) and t.clock == clock
    assert len(t.times) >= 2 and len(t.copy_times) >= 2
    assert all(p.grad is None for p in module.parameters()), "benchmark accumulated gradients into the module"
    assert ("forward+backward" if backward else "forward") in repr(t) and f"{clock} clock" in repr(t)
    assert "0x" not in repr(t)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (("SE", torch.ones(1)), {}, TypeError, "module must be a torch.nn.Module, got str"),
        ((nn.ReLU(), [1.0]), {}, TypeError, "x must be a torch.Tensor, got list"),
        ((nn.ReLU(), torch.ones(1)), {"backward": 1}, TypeError, "backward must be True or False, got 1"),
        ((nn.ReLU(), torch.ones(1)), {"repeats": 0}, ValueError, "repeats must be an int >= 1, got 0"),
        ((nn.ReLU(), torch.ones(1)), {"min_run_time": -1}, ValueError, "min_run_time must be a real number > 0"),
        ((nn.ReLU(), torch.ones(1)), {"num_threads": 0}, ValueError, "num_threads must be an int >= 1, got 0"),
        ((nn.ReLU(), torch.ones(1)), {"clock": "gpu"}, ValueError, "clock must be one of 'wall', 'cpu', got 'gpu'"),
        ((nn.ReLU(), torch.ones(1)), {"clock": "cpu", "num_threads": 2}, ValueError,
         "clock='cpu' measures the calling thread only: it needs num_threads=1"),
    ],
)
def test_benchmark_rejects_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error) as info:
        benchmark(*args, **kwargs)
    assert message in str(info.value)


class _Recorder(nn.Module):
    """Appends its name to ``calls`` on every forward, after sleeping ``seconds`` (one call per timed block)."""

    def __init__(self, name: str, calls: list[str], seconds: float = 0.0) -> None:
        super().__init__()
        self.name, self.calls, self.seconds = name, calls, seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        self.calls.append(self.name)
        return x


def _collapsed(calls: list[str]) -> list[str]:
    """``calls`` with runs of the same name counted once (a timed block calls its module several times)."""
    return [name for i, name in enumerate(calls) if i == 0 or calls[i - 1] != name]


def test_benchmark_many_takes_turns_starting_with_a_different_module_each_cycle():
    calls: list[str] = []
    modules = [_Recorder(name, calls, seconds=0.003) for name in "ABC"]
    timings = benchmark_many(modules, torch.ones(2), repeats=3, min_run_time=1e-6)
    warm_up = ["A", "B", "C"]
    cycles = ["A", "B", "C", "B", "C", "A", "C", "A", "B"]
    assert _collapsed(calls) == warm_up + cycles
    assert [len(t.times) for t in timings] == [3, 3, 3]


def test_benchmark_many_gives_each_module_its_own_times_and_one_shared_copy():
    calls: list[str] = []
    slow, fast = _Recorder("slow", calls, seconds=0.004), _Recorder("fast", calls)
    for modules in ([slow, fast], (fast, slow)):
        timings = benchmark_many(modules, torch.ones(3, 4), repeats=2, min_run_time=1e-6)
        assert [t.median for t in timings] == [statistics.median(t.times) for t in timings]
        by_name = dict(zip([m.name for m in modules], timings))
        assert by_name["slow"].median > 0.004 > by_name["fast"].median
        assert timings[0].copy_times == timings[1].copy_times and len(timings[0].copy_times) == 2
        assert timings[0].copy_median == timings[1].copy_median == statistics.median(timings[0].copy_times)
        assert all(t.shape == (3, 4) and t.backward is False for t in timings)


def test_benchmark_many_runs_min_run_time_per_module():
    modules = [nn.Identity(), nn.Identity(), nn.Identity()]
    start = time.perf_counter()
    benchmark_many(modules, torch.ones(2), repeats=1, min_run_time=0.02)
    assert time.perf_counter() - start >= 3 * 0.02


def test_benchmark_many_of_one_module_is_benchmark():
    torch.manual_seed(0)
    module, x = SE(8, reduction=2), torch.randn(2, 8, 4, 4)
    [t] = benchmark_many([module], x, backward=True, repeats=2, min_run_time=0.01)
    assert t.backward is True and len(t.times) == len(t.copy_times) >= 2
    assert all(p.grad is None for p in module.parameters()), "benchmark_many accumulated gradients into the module"


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((nn.ReLU(), torch.ones(1)), {}, TypeError,
         "modules must be a non-empty list or tuple of torch.nn.Module, got ReLU()"),
        (([], torch.ones(1)), {}, TypeError, "modules must be a non-empty list or tuple of torch.nn.Module, got []"),
        (([nn.ReLU(), "SE"], torch.ones(1)), {}, TypeError, "modules[1] must be a torch.nn.Module, got str"),
        (([nn.ReLU()], [1.0]), {}, TypeError, "x must be a torch.Tensor, got list"),
        (([nn.ReLU()], torch.ones(1)), {"repeats": 0}, ValueError, "repeats must be an int >= 1, got 0"),
        (([nn.ReLU()], torch.ones(1)), {"clock": "gpu"}, ValueError, "clock must be one of 'wall', 'cpu', got 'gpu'"),
    ],
)
def test_benchmark_many_rejects_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error) as info:
        benchmark_many(*args, **kwargs)
    assert message in str(info.value)


# ---------------------------------------------------------------- the chapter's checker


def se_flops_right(n, c, h, w, reduction, bias):
    p, hid = n * c * h * w, c // reduction
    return 2 * p + 4 * n * c * hid + n * hid + n * c + ((n * hid + n * c) if bias else 0)


def test_check_se_flops_passes_a_right_answer(capsys):
    from attn_src.checks.costs import check_se_flops

    assert check_se_flops(se_flops_right) == True  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out.startswith("PASSED: SE FLOPs in closed form (6 checks)")


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda n, c, h, w, r, b: se_flops_right(n, c, h, w, r, b) - n * c * h * w, "one full-size pass is missing"),
        (lambda n, c, h, w, r, b: se_flops_right(n, c, h, w, r, b) - 2 * n * c * (c // r),
         "count 2 FLOPs per multiply-add"),
        (lambda n, c, h, w, r, b: se_flops_right(n, c, h, w, r, False), "bias adds of the two linear layers"),
        (lambda n, c, h, w, r, b: float(se_flops_right(n, c, h, w, r, b)), "should return an int, got"),
    ],
)
def test_check_se_flops_explains_a_wrong_answer(wrong, hint, capsys):
    from attn_src.checks.costs import check_se_flops

    assert check_se_flops(wrong) == False  # noqa: E712 (a Verdict)
    out = capsys.readouterr().out
    assert out.startswith("FAILED: SE FLOPs in closed form") and hint in out


def test_check_se_flops_says_not_yet_for_the_stub(capsys):
    from attn_src.checks.costs import check_se_flops

    def stub(n, c, h, w, reduction, bias):
        raise NotImplementedError("count the FLOPs")

    assert check_se_flops(stub) == False  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out.startswith("NOT YET: SE FLOPs in closed form")
    with pytest.raises(TypeError, match="fn must be a function"):
        check_se_flops(42)
