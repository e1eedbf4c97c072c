"""The backbones chapter's checker: the notebook's stub gets NOT YET naming it, each mistake its exact message.

(More of its behaviour is tested in tests/test_models.py.)"""
from __future__ import annotations

from attn_src.checks.backbones import check_last_bn_names
from attn_src.models import BasicBlock, Bottleneck


def last_bn_names(model):
    last = {BasicBlock: "bn2", Bottleneck: "bn3"}
    return [f"{name}.{last[type(block)]}" for name, block in model.named_modules() if type(block) in last]


def test_the_notebooks_stub_is_not_yet_and_named(capsys):
    def stub(model):  # the exercise-stub cell of book/05_backbones.ipynb
        raise NotImplementedError("last_bn_names: return the names of the last BatchNorm of every residual branch")

    assert check_last_bn_names(stub) == False  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == (
        "NOT YET: the last BatchNorm of every residual branch: your code raised NotImplementedError (last_bn_names: "
        "return the names of the last BatchNorm of every residual branch). Fill in the exercise, then run this cell "
        "again.\n")


def test_a_right_answer_passes_with_one_line(capsys):
    assert check_last_bn_names(last_bn_names) == True  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == "PASSED: the last BatchNorm of every residual branch (5 checks)\n"


def test_the_wrong_order_is_named(capsys):
    assert check_last_bn_names(lambda model: last_bn_names(model)[::-1]) == False  # noqa: E712 (a Verdict)
    assert capsys.readouterr().out == (
        "FAILED: the last BatchNorm of every residual branch\n  while checking: names in resnet18\n"
        "  for resnet18 the names are right but not in model order: ['layer4.1.bn2', 'layer4.0.bn2', "
        "'layer3.1.bn2', 'layer3.0.bn2'] ...\n")


def test_the_shortcuts_batchnorm_is_named(capsys):
    def with_shortcut(model):
        return last_bn_names(model) + [name for name, _ in model.named_modules() if name.endswith("downsample.1")]

    assert check_last_bn_names(with_shortcut) == False  # noqa: E712 (a Verdict)
    out = capsys.readouterr().out
    assert out.startswith("FAILED: the last BatchNorm of every residual branch\n  while checking: names in resnet18\n"
                          "  for resnet18 you chose ['layer2.0.downsample.1', 'layer3.0.downsample.1']: that "
                          "BatchNorm is on the shortcut; attention there would gate the identity path.")
