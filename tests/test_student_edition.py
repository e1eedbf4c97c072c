"""The student edition (scripts/student_edition.py): what it removes and keeps, and that it runs.

Each chapter's student notebook runs once, in a fresh kernel, in a folder of its own outside
the repository (as on a student's machine). It must run to its end: every cell tagged
``exercise-check`` prints ``NOT YET`` (the checker met the stub's NotImplementedError) and
nothing else raises. A failure names the cell and the error.
"""
from __future__ import annotations

import importlib.util
import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.toc import ROOT, toc_notebooks

_spec = importlib.util.spec_from_file_location("student_edition", ROOT / "scripts" / "student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)

STUB = '''class Gate:
    def __call__(self, x):
        raise NotImplementedError("compute the gate")'''
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours of IPython's tracebacks
CHECK = '''from attn_src.checks import run_checks
run_checks("the gate", [("gate of 0", lambda: Gate()(0))])'''


def _cell(kind: str, source: str, tags: tuple[str, ...] = (), output: str | None = None):
    cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        cell.execution_count = 7
        cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00"}
    return cell


def _chapter() -> nbformat.NotebookNode:
    """A small chapter with one implementation exercise and one conceptual exercise."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("md", "# A chapter"),
        _cell("code", "x = 1\nprint(x)", output="1\n"),
        _cell("md", "```{exercise} Write the gate\n:label: ex-gate\nReturn the sigmoid.\n```"),
        _cell("code", STUB, tags=("exercise-stub",)),
        _cell("md", "```{solution-start} ex-gate\n:class: dropdown\n```"),
        _cell("code", "class Gate:\n    def __call__(self, x):\n        return 0.5", output=""),
        _cell("md", "Why 0.5: the sigmoid of 0."),
        _cell("md", "```{solution-end}\n```"),
        _cell("code", CHECK, tags=("exercise-check",), output="PASSED: the gate (1 checks)\n"),
        _cell("md", "````{exercise} Why a sigmoid?\n:label: ex-why\nExplain.\n````\n\n"
                    "````{solution} ex-why\n:class: dropdown\n```python\nprint('answer')\n```\nBecause.\n````\n"),
        _cell("md", ":::{solution} ex-why\nonly an answer\n:::"),
        _cell("code", "print(x + 1)", output="2\n"),
    ]
    return nb


# ---------------------------------------------------------------- the transformation


def test_solutions_are_removed_and_everything_else_is_kept_in_order():
    book = _chapter()
    student = student_edition.student_notebook(book)
    # cells 4-7 are the gated solution; cell 10 holds only a plain solution; cell 9 keeps its exercise
    expected = [book.cells[i].source for i in (0, 1, 2, 3, 8)] + \
               ["````{exercise} Why a sigmoid?\n:label: ex-why\nExplain.\n````", book.cells[11].source]
    assert [c.source for c in student.cells] == expected
    assert [c.metadata.get("tags", []) for c in student.cells if c.cell_type == "code"] == \
           [[], ["exercise-stub"], ["exercise-check"], []]


def test_outputs_and_execution_counts_are_cleared_and_the_book_is_untouched():
    book = _chapter()
    student = student_edition.student_notebook(book)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert "execution" not in cell.metadata
    assert book.cells[1].outputs[0].text == "1\n" and len(book.cells) == 12  # a copy was changed


@pytest.mark.parametrize("cells, message", [
    ([_cell("md", "```{solution-end}\n```")], "cell 0 closes a solution (solution-end) that no solution-start opened"),
    ([_cell("md", "```{solution-start} ex-a\n```"), _cell("code", "pass")],
     "the solution opened at cell 0 is never closed (no solution-end)"),
    ([_cell("md", "```{solution-start} ex-a\n```"), _cell("md", ":::{solution-start} ex-b\n:::")],
     "cell 1 opens a solution inside the solution opened at cell 0"),
    ([_cell("md", "```{solution-start} ex-a\n```"), _cell("code", STUB, tags=("exercise-stub",)),
      _cell("md", "```{solution-end}\n```")],
     "cell 1 is tagged ['exercise-stub'] but lies inside the solution opened at cell 0"),
])
def test_a_broken_exercise_convention_is_named(cells, message):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    with pytest.raises(student_edition.ConventionError) as err:
        student_edition.student_notebook(nb, name="book/99_x.ipynb")
    assert str(err.value).startswith(f"book/99_x.ipynb: {message}")


def test_the_command_writes_one_student_notebook_per_chapter(tmp_path):
    book_dir = tmp_path / "book"
    book_dir.mkdir()
    nbformat.write(_chapter(), book_dir / "01_demo.ipynb")
    out = tmp_path / "student"
    assert student_edition.main([str(book_dir / "01_demo.ipynb"), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01_demo.ipynb"]
    written = nbformat.read(out / "01_demo.ipynb", as_version=4)
    assert [c.source for c in written.cells] == [c.source for c in student_edition.student_notebook(_chapter()).cells]


# ---------------------------------------------------------------- running student notebooks


def run_student_notebook(path: pathlib.Path) -> list[str]:
    """Run ``path`` in a fresh kernel in its own folder; return what each exercise-check cell printed.

    Raises AssertionError naming the cell when any cell raises.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        failing = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                        and any(o.output_type == "error" for o in c.get("outputs", []))), "?")
        raise AssertionError(f"{path.name}: cell {failing} raised, which no exercise stub explains:\n"
                             f"{ANSI.sub('', str(err))[-3000:]}") from None
    return ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
            for c in nb.cells if "exercise-check" in c.get("metadata", {}).get("tags", [])]


def test_the_runner_sees_not_yet_from_a_stub(tmp_path):
    nbformat.write(student_edition.student_notebook(_chapter()), tmp_path / "demo.ipynb")
    printed = run_student_notebook(tmp_path / "demo.ipynb")
    assert printed == ["NOT YET: the gate: your code raised NotImplementedError (compute the gate). "
                       "Fill in the exercise, then run this cell again.\n"]


def test_the_runner_fails_when_a_later_cell_needs_the_solution(tmp_path):
    nb = _chapter()
    nb.cells.append(_cell("code", "print(Gate()(0) + 1)"))  # depends on the removed solution
    nbformat.write(student_edition.student_notebook(nb), tmp_path / "demo.ipynb")
    with pytest.raises(AssertionError, match=r"(?s)demo.ipynb: cell 7 raised.*NotImplementedError: compute the gate"):
        run_student_notebook(tmp_path / "demo.ipynb")


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    student_edition.write_student_edition(toc_notebooks(), out)
    return out


class _StudentNotebook:
    """One chapter's student notebook, in a class of its own: pytest-xdist's ``--dist loadscope`` then
    hands each chapter to whichever worker is free (they are the suite's longest tests)."""

    notebook: pathlib.Path

    def test_stops_only_at_exercise_stubs(self, student_dir):
        path = student_dir / self.notebook.name
        text = path.read_text()
        assert "{solution-start}" not in text and "{solution}" not in text, f"{path.name} still holds a solution"
        for printed in run_student_notebook(path):
            assert printed.startswith("NOT YET:"), \
                f"{path.name}: an exercise-check cell printed {printed!r}, not NOT YET (does its stub raise NotImplementedError?)"


for _notebook in toc_notebooks():
    _name = f"TestStudent_{_notebook.stem}"
    globals()[_name] = type(_name, (_StudentNotebook,), {"notebook": _notebook})
