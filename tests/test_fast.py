"""The fast path (attn_src.fast): each fast module computes what its plain module computes.

Outputs and every gradient (input and parameters), eval and train mode, with and without autograd,
float32 / float64 / bfloat16, and with blocks of several sizes; plus the switches that choose the
fast path (``fast=True``, :func:`attn_src.fast.convert`) and what stays plain.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

import attn_src.fast.ops as ops
from attn_src import CBAM, ECA, SE, ChannelAttention, CoordAttention, SpatialAttention, attach
from attn_src.fast import (FAST_TWINS, FastCBAM, FastChannelAttention, FastCoordAttention, FastECA, FastSE,
                           FastSpatialAttention, convert)
from attn_src.models import make_attention, resnet18

PAIRS = {"SE": (SE, FastSE), "ECA": (ECA, FastECA), "CBAM": (CBAM, FastCBAM), "CA": (CoordAttention, FastCoordAttention)}
# (2, 16, 3, 4): a 7x7-like small map (CA pools by one product); (3, 32, 12, 10): H + W > 20 (two
# means); 32 channels: the channel maximum runs in two stages.
SHAPES = [(2, 16, 3, 4), (3, 32, 12, 10), (5, 8, 6, 7)]
# Per dtype: tolerance on outputs and gradients (bfloat16 keeps 8 bits: the fast sums round differently).
TOLERANCE = {torch.float64: 1e-10, torch.float32: 2e-5, torch.bfloat16: 5e-2}
# bfloat16 gradients of parameters, by norm: a parameter's gradient is a sum over the whole batch, in
# 8 bits, and the channel maximum has ties, whose gradient amax shares and max with indices gives to one.
BF16_GRADIENT = 0.15


def pair(name: str, channels: int, dtype: torch.dtype, training: bool, **options) -> tuple[nn.Module, nn.Module]:
    plain_cls, fast_cls = PAIRS[name]
    torch.manual_seed(0)
    plain = plain_cls(channels, **options).to(dtype)
    fast = fast_cls(channels, **options).to(dtype)
    fast.load_state_dict(plain.state_dict())
    return plain.train(training), fast.train(training)


def assert_same(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype, what: str, tol: float | None = None) -> None:
    tol = TOLERANCE[dtype] if tol is None else tol
    if dtype == torch.bfloat16:  # compared as a whole, by norm
        a, b = a.detach().double(), b.detach().double()
        assert (a - b).norm() <= tol * max(a.norm(), 1.0), f"{what}: relative error {(a - b).norm() / a.norm():.3g}"
        return
    scale = max(1.0, a.detach().abs().max().item())
    torch.testing.assert_close(b, a, rtol=tol, atol=tol * scale, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("name", PAIRS)
def test_same_constructor_parameters_and_state_dict(name):
    plain_cls, fast_cls = PAIRS[name]
    assert issubclass(fast_cls, plain_cls) and FAST_TWINS[plain_cls] is fast_cls
    torch.manual_seed(1)
    plain = plain_cls(32)
    torch.manual_seed(1)
    fast = fast_cls(32)
    assert list(plain.state_dict()) == list(fast.state_dict())  # official weights load one to one
    for (key, a), b in zip(plain.state_dict().items(), fast.state_dict().values()):
        assert torch.equal(a, b), key  # the same seed initialises the same parameters
    assert repr(plain) == repr(fast).replace("Fast", "")  # the same arguments


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", PAIRS)
def test_fast_equals_plain_forward_and_backward(name, shape, training, dtype):
    plain, fast = pair(name, shape[1], dtype, training, **({"reduction": 4} if name != "ECA" else {}))
    torch.manual_seed(2)
    x = torch.randn(shape, dtype=dtype)
    with torch.no_grad():
        assert_same(plain(x), fast(x), dtype, "output without autograd")
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = plain(x1), fast(x2)
    assert_same(y1, y2, dtype, "output with autograd")
    weight = torch.randn(shape, dtype=dtype)
    (y1 * weight).sum().backward()
    (y2 * weight).sum().backward()
    assert_same(x1.grad, x2.grad, dtype, "gradient for x")
    for (key, p1), p2 in zip(plain.named_parameters(), fast.parameters()):
        assert_same(p1.grad, p2.grad, dtype, f"gradient for {key}", BF16_GRADIENT if dtype == torch.bfloat16 else None)
    for (key, b1), b2 in zip(plain.named_buffers(), fast.buffers()):  # BatchNorm's running statistics
        assert_same(b1, b2, dtype, f"buffer {key}")


@pytest.mark.parametrize("images", [1, 2, 3, 7])
@pytest.mark.parametrize("name", ["CBAM", "CA"])
def test_fast_equals_plain_with_blocks_of_any_size(name, images, monkeypatch):
    """Without autograd, the fast CA and CBAM take the batch a block of images at a time."""
    shape = (7, 16, 11, 12)  # H + W > 20: CA takes its means by blocks too
    monkeypatch.setattr(ops, "BLOCK_BYTES", images * 16 * 11 * 12 * 4)
    assert len(ops.batch_blocks(torch.zeros(shape))) == -(-7 // images)
    for training in (False, True):  # train mode: CBAM's spatial BatchNorm needs the whole batch
        plain, fast = pair(name, 16, torch.float32, training)
        x = torch.randn(shape)
        with torch.no_grad():
            assert_same(plain(x), fast(x), torch.float32, f"{images} images a block, training={training}")


def test_blocks_are_a_cpu_rule():
    """Off the CPU the batch is taken whole (no block could stay in a GPU's cache between kernels)."""
    x = torch.zeros(8, 4, 5, 5, device="meta")
    with torch.no_grad(), ops.block_bytes(1):
        assert ops._blocks(x) == []
        assert len(ops._blocks(torch.zeros(8, 4, 5, 5))) == 8


def test_fast_modules_keep_the_plain_argument_checks():
    with pytest.raises(ValueError, match="reduction"):
        FastSE(8, reduction=16)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        FastCBAM(64, kernel_size=4)
    with pytest.raises(ValueError, match="expected 16 channels, got 8"):
        FastCoordAttention(16)(torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match="expected 16 channels, got 8"):
        FastECA(16)(torch.randn(1, 8, 4, 4))


def test_convert_turns_every_plain_module_into_its_twin_in_place():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 16, 3), SE(16, 4), CBAM(16, 4), ECA(16), CoordAttention(16))
    x = torch.randn(2, 3, 9, 9)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    expected = model.eval()(x)
    assert convert(model) is model
    kinds = [type(m) for m in model.modules()]
    for cls in (FastSE, FastCBAM, FastChannelAttention, FastSpatialAttention, FastECA, FastCoordAttention):
        assert cls in kinds
    assert not {SE, CBAM, ChannelAttention, SpatialAttention, ECA, CoordAttention} & set(kinds)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        convert("resnet")


@pytest.mark.parametrize("name", ["se", "cbam", "eca", "ca"])
def test_fast_switch_in_backbones_attach_and_make_attention(name):
    plain_cls = {"se": SE, "cbam": CBAM, "eca": ECA, "ca": CoordAttention}[name]
    assert type(make_attention(name, 32)) is plain_cls
    assert type(make_attention(name, 32, fast=True)) is FAST_TWINS[plain_cls]
    net = resnet18(name, fast=True)
    assert {type(m) for m in net.modules()} & {FAST_TWINS[plain_cls]}
    assert list(net.state_dict()) == list(resnet18(name).state_dict())
    model = nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU())
    attach(model, name, where=["0"], fast=True)
    assert type(model[0][1]) is FAST_TWINS[plain_cls]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"attention": "se", "fast": 1}, TypeError, r"fast must be True or False, got 1 \(int\)"),
    ({"attention": None, "fast": True}, ValueError, r"options \['fast'\] were given, but attention=None builds no module"),
    ({"attention": lambda c: SE(c), "fast": True}, ValueError,
     r"options \['fast'\] cannot be passed to a callable attention"),
])
def test_fast_switch_rejects_what_it_cannot_do(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_attention(channels=32, **kwargs)


def test_record_gates_names_a_fast_cbam_it_cannot_read():
    from attn_src.probe import record_gates

    model = nn.Sequential(nn.Conv2d(3, 16, 3), FastCBAM(16, 4))
    with pytest.raises(ValueError, match="record_gates reads plain attention modules, but 1 is a FastCBAM"):
        record_gates(model, torch.randn(1, 3, 8, 8))


def test_plain_modules_import_no_speed_machinery():
    """``from attn_src import SE`` loads the plain modules only (the tools: tests/test_package.py)."""
    code = ("import sys; from attn_src import SE, CBAM, ECA, CoordAttention, attach; "
            "print(sorted(m for m in ('attn_src.fast', 'attn_src.fast.ops') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""


def test_plain_modules_call_no_speed_helper():
    """The plain modules' code names none of the fast path's operations and imports only torch and checks."""
    import ast
    import inspect

    import attn_src.cbam
    import attn_src.coord
    import attn_src.eca
    import attn_src.se

    helpers = {"mean_pool", "max_pool", "gated", "pooled", "rescale", "_tracked", "channel_mean", "coordinate_pool",
               "pooling_matrix", "block_bytes", "batch_blocks", "_disable_current_modes"}
    for module in (attn_src.se, attn_src.eca, attn_src.cbam, attn_src.coord):
        tree = ast.parse(inspect.getsource(module))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert not names & helpers, f"{module.__name__} calls {sorted(names & helpers)}"
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= {"__future__", "torch", "_validate", "torch.nn"}, f"{module.__name__} imports {imported}"


# The plain modules' forward path: every method a forward runs, the parts' included (argument checks aside).
FORWARD_PATHS = {
    "SE": [SE.squeeze, SE.excite, SE.gate, SE.forward],
    "ECA": [ECA.gate, ECA.forward],
    "CBAM": [ChannelAttention.gate, ChannelAttention.forward, SpatialAttention.gate, SpatialAttention.forward,
             CBAM.forward],
    "CA": [CoordAttention.gates, CoordAttention.forward],
}


@pytest.mark.parametrize("name", FORWARD_PATHS)
def test_each_plain_forward_path_is_at_most_40_lines_in_one_file(name):
    import inspect

    files = {inspect.getsourcefile(method) for method in FORWARD_PATHS[name]}
    assert len(files) == 1, files  # a learner never leaves the file
    lines = sum(len(inspect.getsource(method).splitlines()) for method in FORWARD_PATHS[name])
    assert lines <= 40, f"{name}'s forward path is {lines} lines"


def test_compiled_is_torch_compile_without_the_toolchain_warning():
    import logging

    from attn_src.fast import compiled

    torch._dynamo.reset()
    module = SE(16).eval()
    x = torch.randn(2, 16, 5, 5)
    fast = compiled(module)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), module(x))
    assert logging.getLogger("torch.utils.cpp_extension").level == logging.NOTSET  # restored
    with pytest.raises(TypeError, match="module must be an nn.Module, got function"):
        compiled(lambda x: x)
    torch._dynamo.reset()
