"""The package as Colab's set-up cell builds it: a wheel from the repository, with today's setuptools."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile

from tests.toc import ROOT


def test_the_package_builds_with_the_newest_setuptools_without_a_warning(tmp_path):
    """pip builds in an isolated environment with the newest setuptools, as ``%pip install git+...`` does.
    A deprecation there (the license as a TOML table, say) becomes an error on the date it names.
    Built from a copy, since setuptools writes build/ beside the sources."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "attn_src", source / "attn_src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-v",
                          "-w", str(tmp_path), str(source)], capture_output=True, text=True)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    warnings = [line.strip() for line in log.splitlines() if re.search(r"\w+Warning\b|deprecat", line)]
    assert warnings == [], "\n".join(warnings)
    (wheel,) = tmp_path.glob("attn_src-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
    assert "attn_src/fast/modules.py" in names and "attn_src/checks/se.py" in names


def test_importing_attn_src_loads_no_tool_and_prints_nothing():
    """On Colab a CUDA build of torch without a CUDA toolkit warns from torch.utils.benchmark's import:
    ``import attn_src`` must load neither it nor pandas nor torchstat (they load when a tool is used)."""
    code = ("import sys, attn_src; "
            "print(sorted(m for m in ('pandas', 'torchstat', 'torch.utils.benchmark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert (out.stdout.strip(), out.stderr) == ("[]", "")
    code = ("import sys, torch, attn_src; attn_src.benchmark(attn_src.SE(16), torch.randn(2, 16, 4, 4), repeats=1, "
            "min_run_time=0.001); print('torch.utils.benchmark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert (out.stdout.strip(), out.stderr) == ("False", "")


def test_glue_hands_the_value_to_myst_nb_and_does_nothing_without_it(monkeypatch):
    import types

    import pytest

    from attn_src import glue

    seen = []
    monkeypatch.setitem(sys.modules, "myst_nb", types.SimpleNamespace(glue=lambda *args, **kwargs: seen.append((args, kwargs))))
    glue("se-acc", 0.5)
    assert seen == [(("se-acc", 0.5), {"display": False})]  # the cell shows nothing more
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as on Colab: import myst_nb fails
    assert glue("se-acc", 0.5) is None
    with pytest.raises(TypeError, match="name must be a non-empty str, got 3"):
        glue(3, 0.5)


def test_keep_freed_memory_says_what_it_did():
    from attn_src import keep_freed_memory

    assert keep_freed_memory() in {"malloc keeps freed blocks up to 32 MB",
                                   "default malloc (mallopt not available on this system)",
                                   "default malloc (mallopt refused the settings)"}
