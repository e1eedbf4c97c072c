"""The Colab edition (scripts/colab_edition.py): plain Markdown that Colab renders, and never out of date.

The committed ``colab/book/NN_name.ipynb`` must be exactly what the script writes from the stored
book notebooks; no MyST role or directive may be left in a markdown cell; every code cell is the
book's, except the solutions' code cells, which move (as fenced code) into the solution's
``<details>``. Those are exactly the cells the student edition removes, whose notebooks
tests/test_student_edition.py runs to their end, so no later cell needs them.
"""
from __future__ import annotations

import importlib.util
import re

import nbformat
import pytest

from tests.toc import ROOT, toc_notebooks

_spec = importlib.util.spec_from_file_location("colab_edition", ROOT / "scripts" / "colab_edition.py")
colab_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_edition)
_spec = importlib.util.spec_from_file_location("student_edition", ROOT / "scripts" / "student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)

COMMAND = "bash scripts/run.sh python scripts/colab_edition.py"
# What Colab would show as raw text: a role, a directive (backticks or colons), a target, an option.
MYST = {
    "a role": re.compile(r"\{[\w:+-]+\}`"),
    "a directive": re.compile(r"```\{|:::\{"),
    "a label target": re.compile(r"^\s*\([^()\s]+\)=\s*$", re.MULTILINE),
    "a directive option": re.compile(r"^:(label|class|nonumber):", re.MULTILINE),
}
BIB = """
@inproceedings{one2018, title = {One {CNN}}, author = {Alpha, Ann}, booktitle = {Proc. One}, year = {2018}}
@article{two2019, title = {Two}, author = {Beta, Bob and van Gamma, Cy}, journal = {J. Two}, year = {2019},
         doi = {10.1/two}}
@misc{three2020, title = {Three}, author = {Delta, Di and Eps, Ed and Zeta, Zo}, year = {2020},
      howpublished = {\\url{https://example.org/three}}}
"""


def myst_left(source: str) -> list[str]:
    """The kinds of MyST markup left in a markdown text."""
    return [kind for kind, pattern in MYST.items() if pattern.search(source)]


def _md(source: str):
    return nbformat.v4.new_markdown_cell(source)


def _code(source: str, output: str | None = None, **metadata):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.update(metadata)
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        cell.execution_count = 3
    return cell


def _glue(name: str, value: str):
    """The output myst_nb.glue(name, value, display=False) stores."""
    cell = nbformat.v4.new_code_cell(f"glue({name!r}, x, display=False)")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": value},
        metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})]
    return cell


@pytest.fixture
def book(tmp_path):
    """A small book: an intro page and one chapter, with the small bibliography above."""
    bib = tmp_path / "references.bib"
    bib.write_text(BIB)
    return colab_edition.Book({"book/intro": "# The Intro\n\nText.", "book/02_other": _notebook(
        _md("# The Other Chapter\n\n(sec-x)=\n## A Section\n"))}, bib_path=bib)


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    for index, cell in enumerate(nb.cells):
        cell.id = f"c{index}"
    return nb


def _convert(book, *cells):
    return colab_edition.colab_notebook(_notebook(*cells), "book/01_demo", book, name="book/01_demo.ipynb")


SITE = "https://attn-cnn-book.github.io/attention-in-cnns/"


# ---------------------------------------------------------------- conversions


@pytest.mark.parametrize("role, expected", [
    ("{cite:p}`one2018`", "(Alpha, 2018)"),
    ("{cite:t}`one2018`", "Alpha (2018)"),
    ("{cite:t}`two2019`", "Beta and van Gamma (2019)"),
    ("{cite:p}`three2020`", "(Delta et al., 2020)"),
    ("{cite:p}`one2018,three2020`", "(Alpha, 2018; Delta et al., 2020)"),
    ("{cite:t}`one2018, two2019`", "Alpha (2018), Beta and van Gamma (2019)"),
])
def test_citations_read_author_and_year(book, role, expected):
    nb = _convert(book, _md(f"# Demo\n\nAs {role} showed."))
    assert nb.cells[0].source.split("\n\n")[1] == f"As {expected} showed."


def test_the_last_markdown_cell_lists_the_works_cited(book):
    nb = _convert(book, _md("# Demo\n\n{cite:p}`two2019,three2020` and {cite:t}`one2018`"), _md("## References"))
    assert nb.cells[-1].source == (
        "## References\n\n**Works cited in this chapter**\n\n"
        "- Ann Alpha (2018). One CNN. *Proc. One*.\n"
        "- Bob Beta and Cy van Gamma (2019). Two. *J. Two*. <https://doi.org/10.1/two>\n"
        "- Di Delta, Ed Eps and Zo Zeta (2020). Three. <https://example.org/three>")
    # a notebook that ends with a code cell gets a markdown cell of its own
    nb = _convert(book, _md("{cite:p}`one2018`"), _code("pass"))
    assert nb.cells[-1].cell_type == "markdown" and nb.cells[-1].source.startswith("**Works cited")


def test_an_unknown_citation_key_is_named_with_the_notebook(book):
    with pytest.raises(colab_edition.ConversionError, match=r"^book/01_demo\.ipynb: cell 1: unknown citation key "
                                                            r"'nobody2000'"):
        _convert(book, _md("# Demo"), _md("{cite:p}`one2018,nobody2000`"))


def test_doc_ref_numref_and_links_point_into_the_published_book(book):
    nb = _convert(book, _md("# Demo\n\n(sec-here)=\n## Here\n\nSee {doc}`02_other`, {doc}`that chapter <02_other>`, "
                            "{ref}`sec-x`, {ref}`there <sec-x>`, {numref}`fig-demo`, {doc}`intro` and "
                            "[the intro](intro) or [a file](../README.md)."),
                  _code("plot()", **{"mystnb": {"figure": {"name": "fig-demo", "caption": "A {cite:t}`one2018` plot."}}}))
    text = nb.cells[0].source
    assert "(sec-here)=" not in text and "## Here" in text
    assert text.endswith(
        f"See [The Other Chapter]({SITE}book/02_other.html), [that chapter]({SITE}book/02_other.html), "
        f"[A Section]({SITE}book/02_other.html#sec-x), [there]({SITE}book/02_other.html#sec-x), "
        f"[Fig. 1]({SITE}book/01_demo.html#fig-demo), [The Intro]({SITE}book/intro.html) and "
        f"[the intro]({SITE}book/intro.html) or "
        "[a file](https://github.com/attn-cnn-book/attention-in-cnns/blob/main/README.md).")
    # the figure cell stays as it is, and its caption follows it (Colab does not show mystnb captions)
    assert nb.cells[1].cell_type == "code" and nb.cells[2].source.startswith("**Fig. 1.** A Alpha (2018) plot.\n\n")


def test_code_spans_and_fenced_code_keep_their_markup(book):
    source = "Cite with `` {cite:t}`key` ``.\n\n```python\nx = '{doc}`a`'\n```"
    assert _convert(book, _md(source)).cells[0].source == source


def test_a_glued_value_is_pasted_and_formatted(book):
    nb = _convert(book, _glue("speedup", "1.23456"), _md("It was {glue:text}`speedup:.2f` times, "
                                                        "{glue:text}`speedup` exactly."))
    assert nb.cells[1].source == "It was 1.23 times, 1.23456 exactly."
    with pytest.raises(colab_edition.ConversionError, match=r"book/01_demo\.ipynb: cell 0: no stored glue value 'gone'"):
        _convert(book, _md("{glue:text}`gone:.1f`"))


def test_an_exercise_with_a_markdown_and_code_solution_becomes_one_closed_details(book):
    nb = _convert(
        book,
        _md("```{exercise} Count the *weights*\n:label: ex-demo\n\nHow many? {cite:p}`one2018`\n```"),
        _code("class Stub: ...", tags=["exercise-stub"]),
        _md("```{solution-start} ex-demo\n:class: dropdown\n```"),
        _md("Two of them:"),
        _code("print(2)", output="2\n"),
        _md("So two.\n```{solution-end}\n```\n\nAfter the solution."),
        _code("check(Stub)", tags=["exercise-check"]),
        _md("````{exercise}\n:label: ex-why\nWhy?\n````\n\n:::{solution} ex-why\nBecause.\n:::"),
    )
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "markdown", "code", "markdown"]
    assert nb.cells[0].source == "#### Exercise 1: Count the *weights*\n\nHow many? (Alpha, 2018)"
    assert nb.cells[2].source == (
        "<details>\n<summary>Solution to Exercise 1</summary>\n\nTwo of them:\n\n```python\nprint(2)\n```\n\n"
        "Output:\n\n```text\n2\n```\n\nSo two.\n\n</details>\n\nAfter the solution.")
    assert nb.cells[2].id == "c2"  # the merged cell keeps the id of the cell that opened the solution
    assert nb.cells[4].source.startswith(
        "#### Exercise 2\n\nWhy?\n\n<details>\n<summary>Solution to Exercise 2</summary>\n\nBecause.\n\n</details>")


def test_unknown_markup_is_an_error_not_raw_text(book):
    with pytest.raises(colab_edition.ConversionError, match=r"cell 0: the role \{eq\} has no Colab form"):
        _convert(book, _md("{eq}`eq-1`"))
    with pytest.raises(colab_edition.ConversionError, match=r"cell 0: the directive \{figure\} has no Colab form"):
        _convert(book, _md("```{figure} a.png\n```"))
    with pytest.raises(colab_edition.ConversionError, match=r"cell 0: this solution-start is never closed"):
        _convert(book, _md("```{solution-start} ex-a\n```"), _code("pass"))


def test_the_command_is_deterministic(tmp_path, book):
    nb = _notebook(_md("# Demo\n\n{cite:p}`one2018`"), _code("print(1)", output="1\n"))
    nbformat.write(nb, tmp_path / "01_demo.ipynb")
    colab_edition.write_colab_edition([tmp_path / "01_demo.ipynb"], tmp_path / "a", book)
    colab_edition.write_colab_edition([tmp_path / "01_demo.ipynb"], tmp_path / "b", book)
    first, second = (tmp_path / d / "book" / "01_demo.ipynb" for d in "ab")
    assert first.read_bytes() == second.read_bytes()
    nbformat.validate(nbformat.read(first, as_version=4))


# ---------------------------------------------------------------- the committed edition


@pytest.fixture(scope="module")
def the_book():
    return colab_edition.Book.load()


@pytest.mark.parametrize("notebook", toc_notebooks(), ids=lambda p: p.stem)
def test_the_committed_colab_edition_is_up_to_date(the_book, notebook, tmp_path):
    page = notebook.relative_to(ROOT).with_suffix("").as_posix()
    committed = ROOT / "colab" / f"{page}.ipynb"
    assert committed.is_file(), f"{committed.relative_to(ROOT)} is missing: run `{COMMAND}`"
    (fresh,) = colab_edition.write_colab_edition([notebook], tmp_path, the_book)
    assert committed.read_bytes() == fresh.read_bytes(), \
        f"{committed.relative_to(ROOT)} differs from what {notebook.relative_to(ROOT)} gives: run `{COMMAND}`"


@pytest.mark.parametrize("notebook", toc_notebooks(), ids=lambda p: p.stem)
def test_colab_notebook_has_no_myst_and_the_books_code_cells(notebook):
    page = notebook.relative_to(ROOT).with_suffix("").as_posix()
    colab = nbformat.read(ROOT / "colab" / f"{page}.ipynb", as_version=4)
    nbformat.validate(colab)
    for index, cell in enumerate(colab.cells):
        if cell.cell_type == "markdown":
            assert not myst_left(cell.source), f"colab/{page}.ipynb: cell {index} still holds {myst_left(cell.source)}"
    book = nbformat.read(notebook, as_version=4)
    by_id = {c.id: c for c in book.cells if c.cell_type == "code"}
    kept = [c for c in colab.cells if c.cell_type == "code"]
    for cell in kept:  # source, outputs and metadata as in the book
        assert cell == by_id[cell.id], f"colab/{page}.ipynb: code cell {cell.id} differs from the book's"
    # the dropped ones are exactly the solutions' code cells, which the student edition drops too
    student = student_edition.student_notebook(book)
    assert [c.source for c in kept] == [c.source for c in student.cells if c.cell_type == "code"]


def test_the_myst_finder_finds_what_colab_would_show_raw():
    assert myst_left("{cite:p}`a` ```{exercise} T\n:label: ex-a\n(sec)=\n:::{note}") == list(MYST)
    assert myst_left("plain $x_{i}$, `code`, ```python") == []
