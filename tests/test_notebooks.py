"""Quality gates for the book's notebooks, beyond what strict nbval checks.

nbval re-runs every notebook and compares outputs, but it passes a notebook that was
never executed and cannot see machine paths, stderr noise or orphaned chapters.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

from tests.toc import ROOT, resolve, toc_files, toc_notebooks

BOOK = ROOT / "book"
ALL_NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts)

MACHINE_PATH = re.compile(r"(/root/|/tmp/|/work/|/home/|/Users/|[A-Z]:\\\\|site-packages|dist-packages|\.venv)")
MEMORY_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
PROGRESS_BAR = re.compile(r"(\d+%\|[^\n]*\|)|(it/s\])|(s/it\])")


def load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def output_text(output: dict) -> str:
    """Everything a reader sees from one output, as text (images excluded)."""
    parts = [output.get("text", "")]
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime.endswith("json"):
            parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else json.dumps(value))
    if output.get("output_type") == "error":
        parts.append(output.get("evalue", ""))
    return "".join("".join(p) if isinstance(p, list) else p for p in parts)


def test_every_toc_entry_exists():
    for entry in toc_files():
        resolve(entry)  # raises with the missing entry named


def test_every_notebook_is_in_the_toc():
    listed = set(toc_notebooks())
    orphans = [str(p.relative_to(ROOT)) for p in ALL_NOTEBOOKS if p not in listed]
    assert not orphans, f"notebooks under book/ missing from _toc.yml: {orphans}"


NOTEBOOK_IDS = [str(p.relative_to(ROOT)) for p in ALL_NOTEBOOKS]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_executed_top_to_bottom_in_one_fresh_kernel(path):
    cells = code_cells(load(path))
    assert cells, f"{path.name} has no code cells"
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cell(s) never executed"
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ...: run scripts/execute_notebooks.py"
    )
    assert any(c["outputs"] for c in cells), f"{path.name} stores no outputs at all"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_stored_outputs_are_clean(path):
    nb = load(path)
    problems = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            where = f"cell {index}"
            if output["output_type"] == "error" and "raises-exception" not in tags:
                problems.append(f"{where}: stored error {output.get('ename')}: {output.get('evalue')}")
            if output["output_type"] == "stream" and output.get("name") == "stderr":
                problems.append(f"{where}: output on stderr: {''.join(output['text'])[:120]!r}")
            text = output_text(output)
            for pattern, what in [(MACHINE_PATH, "machine path"), (MEMORY_ADDRESS, "memory address"),
                                  (PROGRESS_BAR, "progress-bar text")]:
                match = pattern.search(text)
                if match:
                    problems.append(f"{where}: {what} in output: {match.group(0)!r}")
    if "widgets" in nb.get("metadata", {}):
        problems.append("widget state in the notebook's metadata")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_output_ignoring_is_only_for_timings(path):
    """A cell may skip nbval's comparison only if it measures time (its source says so)."""
    for index, cell in enumerate(load(path)["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if "nbval-ignore-output" in tags:
            source = "".join(cell["source"])
            assert re.search(r"benchmark|timeit|perf_counter|seconds|time\(|Timer|copies", source), (
                f"{path.name} cell {index} ignores its output but measures no time:\n{source[:300]}"
            )
        assert "nbval-skip" not in tags, f"{path.name} cell {index} is skipped by nbval"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_notebooks_write_nothing_into_the_repository(path):
    """Figures, checkpoints and data stay in memory or a temporary folder."""
    writes = re.compile(r"(savefig\(|torch\.save\(|\.to_csv\(|np\.save\(|open\([^)]*['\"][wa]b?['\"])")
    for index, cell in enumerate(code_cells(load(path))):
        source = "".join(cell["source"])
        if writes.search(source):
            assert "tempfile" in source or "BytesIO" in source, (
                f"{path.name} code cell {index} writes a file outside a temporary folder:\n{source[:300]}"
            )
