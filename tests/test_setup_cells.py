"""Every chapter's Colab set-up cell: the exact text of CONTRIBUTING.md, pointing at _config.yml's repository.

The cell must install ``attn_src`` from ``repository.url`` at ``repository.branch`` on Colab
only, quote its version spec, never install torch, and do nothing anywhere else. Its
behaviour is checked by running it in a fresh IPython kernel whose ``%pip`` magic only
records what it was asked, once as on this machine and once with ``google.colab`` imported.
"""
from __future__ import annotations

import json
import re
import shlex
import textwrap

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from tests.toc import ROOT, toc_notebooks

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
SPEC = f"attn_src @ git+{CONFIG['url'].rstrip('/')}@{CONFIG['branch']}"
INSTALL = f'%pip install --quiet "{SPEC}"'


def contributing_setup_cell() -> str:
    """The set-up cell as CONTRIBUTING.md prints it: the first python block after 'setup cell'."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    match = re.search(r"\*\*setup cell\*\*.*?\n( *)```python\n(.*?)\n\1```", text, re.DOTALL)
    assert match, "CONTRIBUTING.md has no ```python block after **setup cell**"
    return textwrap.dedent(match.group(2))


SETUP = contributing_setup_cell()
NOTEBOOKS = toc_notebooks()


def install_lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if re.search(r"\bpip\s+install\b", line)]


def first_code_cell(path):
    nb = nbformat.read(path, as_version=4)
    return next(cell for cell in nb.cells if cell.cell_type == "code")


# ---------------------------------------------------------------- the text


def test_contributing_installs_from_the_configured_repository():
    assert install_lines(SETUP) == [INSTALL]


@pytest.mark.parametrize("source", [SETUP], ids=["CONTRIBUTING.md"])
def test_install_specs_are_quoted_and_never_torch(source):
    for line in install_lines(source):
        assert not re.search(r"\btorch", line), f"the set-up cell must leave Colab's torch alone: {line}"
        specs = [t for t in shlex.split(line.split("install", 1)[1], posix=False) if not t.startswith("-")]
        assert specs, line
        for spec in specs:
            assert spec[0] == spec[-1] and spec[0] in "\"'", f"unquoted version spec {spec} in: {line}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_setup_cell(notebook):
    cell = first_code_cell(notebook)
    assert cell.source == SETUP, (f"{notebook.name}: the first code cell must be exactly CONTRIBUTING.md's set-up "
                                  f"cell (installing {SPEC!r}), found:\n{cell.source}")
    assert "hide-cell" in cell.metadata.get("tags", []), f"{notebook.name}: tag the set-up cell hide-cell"
    assert cell.outputs == [], f"{notebook.name}: the set-up cell printed {cell.outputs} outside Colab"


# ---------------------------------------------------------------- the behaviour

RECORD_PIP = """
import importlib.metadata, json, sys, types
pip_calls = []
get_ipython().register_magic_function(lambda line: pip_calls.append(line), "line", "pip")
def installed():
    return sorted((d.metadata["Name"], d.version) for d in importlib.metadata.distributions())
before = installed()
"""
REPORT = "print(json.dumps({'pip': pip_calls, 'unchanged': installed() == before}))"


def run_setup_cell(source: str, tmp_path, on_colab: bool) -> tuple[dict, list]:
    """Run ``source`` in a fresh kernel; return (what %pip was asked and whether the environment
    is unchanged, the cell's own outputs)."""
    nb = nbformat.v4.new_notebook()
    pretend = "sys.modules['google.colab'] = types.ModuleType('google.colab')" if on_colab else "pass"
    nb.cells = [nbformat.v4.new_code_cell(RECORD_PIP + pretend), nbformat.v4.new_code_cell(source),
                nbformat.v4.new_code_cell(REPORT)]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return json.loads(nb.cells[2].outputs[0].text), nb.cells[1].outputs


def test_setup_cell_does_nothing_outside_colab(tmp_path):
    report, outputs = run_setup_cell(SETUP, tmp_path, on_colab=False)
    assert report == {"pip": [], "unchanged": True}
    assert outputs == []


def test_setup_cell_installs_attn_src_on_colab(tmp_path):
    """The same cell, with google.colab imported, asks %pip for exactly the configured spec."""
    report, _ = run_setup_cell(SETUP, tmp_path, on_colab=True)
    assert report["pip"] == [INSTALL.removeprefix("%pip ")]
