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


#: Tag of a cell whose output is a trained network's result (README, "What nbval does not compare").
TRAINED = "trained-result"
TRAINS = re.compile(r"\b(fit|compare)\(")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_output_ignoring_is_only_for_timings_and_trained_results(path):
    """A cell may skip nbval's comparison only if it measures time (its source says so) or shows what
    a network trained above it learned (tagged ``trained-result``): float32 training rounds
    differently on different CPUs, and a few epochs turn that into other accuracies."""
    trained_so_far = False
    for index, cell in enumerate(load(path)["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        trained_so_far = trained_so_far or bool(TRAINS.search(source))
        if TRAINED in tags:
            assert trained_so_far, f"{path.name} cell {index} is tagged {TRAINED} but nothing is trained up to it"
            assert "nbval-ignore-output" in tags, f"{path.name} cell {index} is tagged {TRAINED} only"
        elif "nbval-ignore-output" in tags:
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


FIGURE_NAME = re.compile(r"^fig-[a-z0-9]+(-[a-z0-9]+)+$")


def figure_problems(cell: dict) -> list[str]:
    """What keeps one code cell's images from reaching every reader (empty list: nothing).

    A screen reader reads an image's alt text; without one, myst-nb writes the image's hashed
    file name there. The caption and name make the output a numbered, linkable figure. myst-nb
    wraps *every* rich output of the cell in that figure, so a figure cell shows nothing else.
    """
    rich = [o for o in cell.get("outputs", []) if o["output_type"] in ("display_data", "execute_result")]
    images = [o for o in rich if any(m.startswith("image/") for m in o.get("data", {}))]
    options = cell.get("metadata", {}).get("mystnb", {})
    if not images:
        return ["figure metadata on a cell that shows no image"] if {"figure", "image"} & set(options) else []
    problems = []
    alt = options.get("image", {}).get("alt", "")
    if len(alt.split()) < 8 or re.search(r"\.(png|svg|jpe?g)\b|_images/", alt):
        problems.append(f"alt text must describe the image in words (8 or more), got {alt!r}")
    figure = options.get("figure", {})
    if not figure.get("caption", "").strip():
        problems.append("no figure caption (metadata mystnb.figure.caption)")
    if not FIGURE_NAME.match(figure.get("name", "")):
        problems.append(f"figure name must look like 'fig-chapter-what', got {figure.get('name')!r}")
    if len(rich) > len(images) or len(images) > 1:
        problems.append(f"{len(rich)} rich outputs: a figure cell shows exactly one image (tables go in a cell of their own)")
    return problems


def test_figure_problems_are_found():
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}, "metadata": {}}
    table = {"output_type": "execute_result", "data": {"text/html": "<table/>"}, "metadata": {}, "execution_count": 1}
    good = {"figure": {"name": "fig-se-block", "caption": "The SE block."},
            "image": {"alt": "Diagram of the SE block: squeeze, excite and scale, left to right."}}
    assert figure_problems({"outputs": [png], "metadata": {"mystnb": good}}) == []
    assert figure_problems({"outputs": [table], "metadata": {}}) == []
    assert figure_problems({"outputs": [table], "metadata": {"mystnb": {"scroll_outputs": True}}}) == []
    assert figure_problems({"outputs": [table], "metadata": {"mystnb": good}}) == [
        "figure metadata on a cell that shows no image"]
    (bare,) = figure_problems({"outputs": [png], "metadata": {"mystnb": {**good, "image": {}}}})
    assert bare.startswith("alt text must describe")
    (path,) = figure_problems({"outputs": [png], "metadata": {"mystnb": {**good, "image": {"alt": "../_images/ab12.png"}}}})
    assert "'../_images/ab12.png'" in path
    assert figure_problems({"outputs": [png], "metadata": {"mystnb": {"image": good["image"]}}}) == [
        "no figure caption (metadata mystnb.figure.caption)", "figure name must look like 'fig-chapter-what', got None"]
    (mixed,) = figure_problems({"outputs": [png, table], "metadata": {"mystnb": good}})
    assert mixed.startswith("2 rich outputs")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_every_figure_has_alt_text_and_a_caption(path):
    problems = [f"cell {i}: {p}" for i, cell in enumerate(load(path)["cells"]) if cell["cell_type"] == "code"
                for p in figure_problems(cell)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_figure_names_are_unique_across_the_book():
    names = [cell["metadata"]["mystnb"]["figure"].get("name") for path in ALL_NOTEBOOKS for cell in load(path)["cells"]
             if cell.get("metadata", {}).get("mystnb", {}).get("figure")]
    assert names, "no figure in the book"
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)


# ---------------------------------------------------------------- numbers that stay true

# A measured number as prose types it: digits with a decimal point, or a percentage. (Integers are
# counts, sizes and seeds: what the code computes the same everywhere.)
PROSE_NUMBER = re.compile(r"(?<![\w.,])(\d+\.\d+|\d+(?=\s?%))(?![\w])")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
CODE_SPAN = re.compile(r"`[^`]*`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.DOTALL)


def prose_numbers(markdown: str) -> set[float]:
    """The numbers a markdown cell types, outside glue roles, code spans (``x.mean((2, 3))``) and
    math (``$\\sigma(0) = 0.5$``: a formula's numbers are what it computes, on every machine)."""
    text = MATH.sub(" ", CODE_SPAN.sub(" ", GLUE_ROLE.sub(" ", markdown)))
    return {float(m.group(1)) for m in PROSE_NUMBER.finditer(text)}


def output_numbers(cell: dict) -> set[float]:
    """The numbers a code cell's stored outputs show."""
    text = "".join(output_text(o) for o in cell.get("outputs", []))
    return {float(m.replace(",", "")) for m in re.findall(r"\d{1,3}(?:,\d{3})+|\d+\.\d+|\d+", text)}


def machine_numbers(cells: list[dict]) -> set[float]:
    """Numbers only ignored outputs (a timing, a trained accuracy) show: not also a compared output,
    which would make them what the code computes on every machine (a counted 1.50 copies, say)."""
    ignored, compared = set(), set()
    for cell in cells:
        if cell["cell_type"] == "code":
            tags = cell.get("metadata", {}).get("tags", [])
            (ignored if "nbval-ignore-output" in tags else compared).update(output_numbers(cell))
    return ignored - compared


def test_prose_numbers_are_found():
    assert prose_numbers("SE reaches 98.07 % (a gain of 1.5 points), 12,345 steps, 4 seeds, 7 %") == {98.07, 1.5, 7}
    assert prose_numbers("{glue:text}`acc:.2f` against `x.mean((2, 3))`, $\\sigma(0) = 0.5$ and 0.5x") == set()
    timing = {"cell_type": "code", "metadata": {"tags": ["nbval-ignore-output"]},
              "outputs": [{"output_type": "stream", "text": "acc 0.9733, 1.50 copies\n"}]}
    counted = {"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "text": "1.5 copies\n"}]}
    assert machine_numbers([timing, counted]) == {0.9733}


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_prose_types_no_number_from_a_timing_or_trained_result(path):
    """A number in the text that only a timing or a trained network printed would be false on the next
    machine: glue it from the cell (myst-nb ``glue``) or say it without the figure."""
    cells = load(path)["cells"]
    machine = machine_numbers(cells)
    found = [(index, sorted(prose_numbers("".join(cell["source"])) & machine))
             for index, cell in enumerate(cells) if cell["cell_type"] == "markdown"]
    found = [(index, numbers) for index, numbers in found if numbers]
    assert not found, f"{path.name}: markdown cells type numbers that ignored outputs printed: {found}"


# ---------------------------------------------------------------- exercises for a class

EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise\}\s*(?P<title>.*)$", re.MULTILINE)
LABEL = re.compile(r"\((?P<level>easy|medium|hard), (?P<minutes>\d+) min\)$")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_every_exercise_says_its_difficulty_and_minutes(path):
    titles = [m.group("title").strip() for cell in load(path)["cells"] if cell["cell_type"] == "markdown"
              for m in EXERCISE.finditer("".join(cell["source"]))]
    bad = [t for t in titles if not LABEL.search(t) or not 1 <= int(LABEL.search(t).group("minutes")) <= 90]
    assert not bad, f"{path.name}: exercise titles must end like '(medium, 20 min)': {bad}"
