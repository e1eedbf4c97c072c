"""Write the student edition of the book: solutions removed, outputs cleared, exercise stubs kept.

    bash scripts/run.sh python scripts/student_edition.py              # every notebook in _toc.yml -> student/
    bash scripts/run.sh python scripts/student_edition.py book/01_se.ipynb --out /tmp/class

Following CONTRIBUTING.md's exercise convention, every cell from a markdown cell that opens a
```` ```{solution-start} ```` directive through the cell that holds its
```` ```{solution-end} ```` is removed, and so is every plain ```` ```{solution} ```` block
inside a markdown cell (a conceptual exercise's answer); the ``exercise-stub`` cells (the learner's skeleton,
whose unfinished parts raise NotImplementedError) and the ``exercise-check`` cells stay, so
each checker prints ``NOT YET: ...`` until the learner fills the stub in. Every output and
execution count is cleared. ``student/`` is git-ignored; hand its notebooks to the class
(they start with the same Colab set-up cell as the book).
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.toc import toc_notebooks  # noqa: E402  (the one reader of _toc.yml)

# A MyST directive opening line, with backticks or colons: ```{solution-start} ex-se-conv
START = re.compile(r"^\s*(`{3,}|:{3,})\{solution-start\}", re.MULTILINE)
END = re.compile(r"^\s*(`{3,}|:{3,})\{solution-end\}", re.MULTILINE)
# A plain (non-gated) solution directive inside one markdown cell: the block is cut out.
PLAIN = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}")


def _strip_plain_solutions(source: str) -> str:
    """Remove every ```{solution} ... ``` block (up to its closing fence) from a markdown cell."""
    lines, kept, fence = source.splitlines(keepends=True), [], None
    for line in lines:
        if fence is None:
            match = PLAIN.match(line)
            if match:
                fence = match.group(1)
                continue
            kept.append(line)
        elif line.strip() and set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
            fence = None
    return "".join(kept).strip("\n") if len(kept) < len(lines) else source


class ConventionError(ValueError):
    """The notebook breaks CONTRIBUTING.md's exercise convention."""


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without solutions or outputs; ``name`` only labels errors."""
    nb = nbformat.from_dict(nb)  # a deep copy: the book's notebook is left as it is
    kept, opened_at = [], None
    for index, cell in enumerate(nb.cells):
        is_md = cell.cell_type == "markdown"
        starts = is_md and bool(START.search(cell.source))
        ends = is_md and bool(END.search(cell.source))
        if opened_at is None:
            if ends and not starts:
                raise ConventionError(f"{name}: cell {index} closes a solution (solution-end) that no "
                                      "solution-start opened")
            if starts:
                opened_at = index
        elif starts:
            raise ConventionError(f"{name}: cell {index} opens a solution inside the solution opened at "
                                  f"cell {opened_at}; close it with solution-end first")
        if opened_at is None:
            if is_md:
                cell.source = _strip_plain_solutions(cell.source)
            if cell.source.strip() or not is_md:
                kept.append(cell)
            continue
        if "exercise-stub" in _tags(cell) or "exercise-check" in _tags(cell):
            raise ConventionError(f"{name}: cell {index} is tagged {_tags(cell)} but lies inside the solution "
                                  f"opened at cell {opened_at}; stubs come before solution-start, checks after "
                                  "solution-end")
        if ends:
            opened_at = None
    if opened_at is not None:
        raise ConventionError(f"{name}: the solution opened at cell {opened_at} is never closed (no solution-end)")
    for cell in kept:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
    nb.cells = kept
    return nb


def write_student_edition(notebooks: list[pathlib.Path], out: pathlib.Path) -> list[pathlib.Path]:
    """Write the student version of each notebook into ``out`` (same file names); return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        target = out / path.name
        nbformat.write(student_notebook(nb, name=str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)),
                       target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every notebook in _toc.yml")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "student", help="default: student/")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or toc_notebooks()
    try:
        written = write_student_edition(paths, args.out.resolve())
    except ConventionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
