"""The Coordinate Attention exercise checkers: pass correct code, name each kind of mistake."""
from __future__ import annotations

import pytest
import torch

from attn_src import CoordAttention
from attn_src.checks.coord import SHAPES, check_coordinate_pooling, check_split


def pooling(x):
    return x.mean(dim=3, keepdim=True), x.mean(dim=2, keepdim=True)


def split_hw(f, h, w):
    f_h, f_w = torch.split(f, [h, w], dim=2)
    return f_h, f_w.permute(0, 1, 3, 2)


def verdict(capsys, check, fn):
    ok = check(fn)
    out = capsys.readouterr().out
    return ok, out


def test_correct_solutions_pass(capsys):
    assert verdict(capsys, check_coordinate_pooling, pooling) == (True, "PASSED: coordinate pooling (Eqs. 4-5) (3 checks)\n")
    assert verdict(capsys, check_split, split_hw) == (True, "PASSED: split into f^h and f^w (2 checks)\n")


def test_the_reference_agrees_with_coord_attention():
    """The checker's pooling + concatenation + split is the path CoordAttention.gates takes."""
    torch.manual_seed(0)
    ca = CoordAttention(8, reduction=2).eval()
    x = torch.randn(2, 8, 5, 7)
    z_h, z_w = pooling(x)
    f = ca.act(ca.norm(ca.transform(torch.cat([z_h, z_w.transpose(2, 3)], dim=2))))
    f_h, f_w = split_hw(f, 5, 7)
    g_h, g_w = ca.gates(x)
    torch.testing.assert_close(torch.sigmoid(ca.to_gate_h(f_h)), g_h)
    torch.testing.assert_close(torch.sigmoid(ca.to_gate_w(f_w)), g_w)


def test_shapes_include_non_square_and_square():
    assert any(h < w for _, _, h, w in SHAPES) and any(h > w for _, _, h, w in SHAPES)
    assert any(h == w for _, _, h, w in SHAPES)


def stub(*args):
    raise NotImplementedError("average over W for z_h and over H for z_w")


@pytest.mark.parametrize("check", [check_coordinate_pooling, check_split])
def test_a_stub_is_not_yet(capsys, check):
    ok, out = verdict(capsys, check, stub)
    assert not ok
    assert out.startswith("NOT YET: ") and "average over W for z_h and over H for z_w" in out


@pytest.mark.parametrize("check", [check_coordinate_pooling, check_split])
def test_not_a_function_is_a_type_error(check):
    with pytest.raises(TypeError, match=r"fn must be a function, got 42 \(int\)"):
        check(42)


POOLING_MISTAKES = {
    "axes swapped": (lambda x: (x.mean(2, keepdim=True), x.mean(3, keepdim=True)),
                     "for x of shape (2, 3, 5, 7), z_h has shape (2, 3, 1, 7), expected (2, 3, 5, 1): "
                     "you averaged over the wrong axis: z_h keeps the H axis (5), so average over the width (dim=3)"),
    "no keepdim": (lambda x: (x.mean(3), x.mean(2)),
                   "z_h has shape (2, 3, 5), expected (2, 3, 5, 1): keep the pooled dimension (keepdim=True)"),
    "sum": (lambda x: (x.sum(3, keepdim=True), x.sum(2, keepdim=True)),
            "for x of shape (2, 3, 5, 7), z_h has the wrong values: you summed; Eqs. 4-5 average: divide by the width W = 7"),
    "max": (lambda x: (x.amax(3, keepdim=True), x.amax(2, keepdim=True)),
            "z_h has the wrong values: you took the maximum; Eqs. 4-5 average"),
    "z_w summed": (lambda x: (x.mean(3, keepdim=True), x.sum(2, keepdim=True)),
                   "z_w has the wrong values: you summed; Eqs. 4-5 average: divide by the height H = 5"),
    # Shapes right on every input, values wrong: the checker says where they first differ.
    "off by a constant": (lambda x: (x.mean(3, keepdim=True), x.mean(2, keepdim=True) + 0.5),
                          "z_w for x of shape (2, 3, 5, 7) differs at position (0, 0, 0, 0)"),
    "one channel zeroed": (lambda x: (x.mean(3, keepdim=True).index_fill(1, torch.tensor([1]), 0.0), x.mean(2, keepdim=True)),
                           "z_h for x of shape (2, 3, 5, 7) differs at position (0, 1, 0, 0)"),
    "not a pair": (lambda x: x.mean(3, keepdim=True),
                   "coordinate_pooling(x) should return a tuple of two tensors, got Tensor"),
}


def in_place(x):
    z = x.mean(3, keepdim=True), x.mean(2, keepdim=True)
    x.zero_()
    return z


def swapped_axes_square_only(x):
    """Wrong axis written so the shapes come out right: only a square input can reveal it by value."""
    return x.mean(2, keepdim=True).transpose(2, 3), x.mean(3, keepdim=True).transpose(2, 3)


@pytest.mark.parametrize("name", POOLING_MISTAKES)
def test_each_pooling_mistake_is_named(capsys, name):
    fn, message = POOLING_MISTAKES[name]
    ok, out = verdict(capsys, check_coordinate_pooling, fn)
    assert not ok and out.startswith("FAILED: coordinate pooling (Eqs. 4-5)")
    assert message in out


def test_pooling_in_place_is_named(capsys):
    ok, out = verdict(capsys, check_coordinate_pooling, in_place)
    assert not ok and "coordinate_pooling changed its input x in place" in out


def test_wrong_axis_is_named_even_when_shapes_match(capsys):
    def square_only(x):
        if x.shape[2] != x.shape[3]:
            return pooling(x)
        return swapped_axes_square_only(x)
    ok, out = verdict(capsys, check_coordinate_pooling, square_only)
    assert not ok
    assert "for x of shape (3, 2, 6, 6), z_h has the wrong values: you averaged over the wrong axis" in out


SPLIT_MISTAKES = {
    "f_w not transposed": (lambda f, h, w: tuple(torch.split(f, [h, w], dim=2)),
                           "f_w has shape (2, 3, 7, 1), expected (2, 3, 1, 7): transpose f^w back to a row"),
    "halves swapped": (lambda f, h, w: (f[:, :, h:], f[:, :, :h].transpose(2, 3)),
                       "f_h has shape (2, 3, 7, 1), expected (2, 3, 5, 1): the first H positions of dim 2 are f^h"),
    "split at W": (lambda f, h, w: (f[:, :, :w], f[:, :, w:].transpose(2, 3)),
                   "f_h has shape (2, 3, 7, 1), expected (2, 3, 5, 1)"),
    "reshape instead of transpose": (lambda f, h, w: (f[:, :, :h], f[:, :, h:].reshape(f.shape[0], f.shape[1], 1, w)),
                                     None),  # same values in the same order: correct, must pass
    "values shifted": (lambda f, h, w: (f[:, :, :h] * 2, f[:, :, h:].transpose(2, 3)),
                       "f_h for f of shape (2, 3, 12, 1) differs at position (0, 0, 0, 0)"),
}


@pytest.mark.parametrize("name", SPLIT_MISTAKES)
def test_each_split_mistake_is_named(capsys, name):
    fn, message = SPLIT_MISTAKES[name]
    ok, out = verdict(capsys, check_split, fn)
    if message is None:
        assert ok, out
    else:
        assert not ok and out.startswith("FAILED: split into f^h and f^w")
        assert message in out


def test_halves_swapped_on_a_square_map_is_named_by_value(capsys):
    def square_only(f, h, w):
        if h != w:
            return split_hw(f, h, w)
        return f[:, :, h:], f[:, :, :h].transpose(2, 3)
    ok, out = verdict(capsys, check_split, square_only)
    assert not ok
    assert "for f of shape (3, 5, 12, 1), f_h holds f^w's values" in out
