"""Write the Colab edition of the book: the same notebooks, with MyST markup turned into plain Markdown.

    bash scripts/run.sh python scripts/colab_edition.py                   # every notebook in _toc.yml -> colab/
    bash scripts/run.sh python scripts/colab_edition.py book/01_se.ipynb  # just these

Google Colab renders Markdown and LaTeX math but not MyST, so the book's notebooks show
``{cite:p}`...` `` and ```` ```{exercise} ```` there as raw text. The Colab edition,
``colab/book/NN_name.ipynb``, is what the book's rocket button (Colab and Binder) opens:
``_config.yml``'s ``repository.path_to_book`` is ``colab``. It is committed, and
``tests/test_colab_edition.py`` fails when it differs from what this script writes from the
stored book notebooks. ``scripts/execute_notebooks.py`` regenerates it for every notebook it
executes.

What changes (markdown cells only; every code cell the edition keeps is the book's, source,
outputs and metadata):

- ``{cite:p}`hu2018squeeze,woo2018cbam` `` -> "(Hu et al., 2018; Woo et al., 2018)", ``{cite:t}`` ->
  "Hu et al. (2018)" (from ``book/references.bib``; "A and B" for two authors, "A et al." for
  three or more); the last markdown cell gets a list of the works the chapter cites.
- ``{doc}``, ``{ref}``, ``{numref}``, ``{term}`` and relative Markdown links -> links into the
  published book (``https://OWNER.github.io/REPO/``, from ``repository.url``); ``{doc}`` without
  text shows the target's title, ``{ref}`` to a section its heading, to an exercise "Exercise N".
  Figures and exercises carry the book's numbers (Sphinx numbers both through the whole book, in
  ``_toc.yml`` order), and every figure cell is followed by a markdown cell with its caption
  ("**Fig. N.** ..."), which Colab would not show otherwise.
- ``{glue:text}`name:.2f` `` -> the value the notebook's stored outputs hold for ``name``,
  formatted as myst-nb formats it.
- ``(label)=`` target lines are removed.
- ```` ```{exercise} Title ```` -> a heading "#### Exercise N: Title" and its text.
- Solutions: everything from ```` ```{solution-start} ```` to ```` ```{solution-end} ```` (the
  solution's markdown cells *and* its code cells, the code as fenced ``python`` blocks followed
  by the text of their stored outputs) becomes ONE markdown cell inside
  ``<details><summary>Solution to Exercise N</summary> ... </details>``, closed until the reader
  opens it. The solution's code cells are dropped as cells. That is safe: they are exactly the
  cells the student edition (scripts/student_edition.py) removes, and tests/test_student_edition.py
  runs every student notebook to its end; the ``exercise-stub`` and ``exercise-check`` cells stay,
  so in Colab the checker prints ``NOT YET`` until the reader fills the stub in (or pastes the
  solution). A plain ```` ```{solution} ```` block becomes the same ``<details>``.
- Admonitions (``{note}``, ``{tip}``, ...) become block quotes. Any other role or directive is an
  error naming the notebook and the cell, so nothing MyST reaches Colab unconverted.

The output is deterministic (the same book gives byte-identical files; new cells get ids derived
from the book's) and written with nbformat.
"""
from __future__ import annotations

import argparse
import ast
import codecs
import pathlib
import posixpath
import re
import sys
import urllib.parse
from typing import NamedTuple

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
import nbformat
import yaml
from docutils.nodes import make_id
from pybtex.database import parse_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.toc import resolve, toc_files  # noqa: E402  (the one reader of _toc.yml)

OUT = ROOT / "colab"
BIB = ROOT / "book" / "references.bib"

# A directive's opening line: ```{name} argument  or  :::{name} argument
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[A-Za-z][\w:-]*)\}[ \t]*(?P<arg>.*)$")
# A plain code fence: ```python
CODE_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?![`~{])")
TARGET = re.compile(r"^[ \t]*\(([^()\s]+)\)=[ \t]*$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
START = re.compile(r"^[ \t]*(`{3,}|:{3,})\{solution-start\}", re.MULTILINE)
END = re.compile(r"^[ \t]*(`{3,}|:{3,})\{solution-end\}", re.MULTILINE)
# Inline: a role, a code span (left as it is), or a Markdown link (made absolute).
INLINE = re.compile(
    r"\{(?P<role>[A-Za-z][\w:+-]*)\}`(?P<content>[^`]+)`"
    r"|(?P<code>(?P<ticks>`+)(?!`)[\s\S]*?(?<!`)(?P=ticks)(?!`))"
    r"|(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^()\s]+)(?P<title>[ \t]+\"[^\"]*\")?\)")
EXPLICIT = re.compile(r"^(?P<text>[\s\S]*?)\s*<(?P<target>[^<>]+)>$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error",
               "seealso", "admonition"}


class ConversionError(ValueError):
    """The notebook uses markup the Colab edition cannot convert (named with notebook and cell)."""


# ---------------------------------------------------------------- the whole book: what links need


class Target(NamedTuple):
    page: str             # "book/02_cbam"
    kind: str             # "section", "figure" or "exercise"
    text: str             # the section's heading, the figure's caption, the exercise's title
    number: int | None = None


def _split_directive_lines(lines: list[str], start: int) -> tuple[dict, list[str], int]:
    """Options and body of the directive opened at ``lines[start]``; and the index after its close."""
    fence = DIRECTIVE.match(lines[start]).group("fence")
    body, i = [], start + 1
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            break
        body.append(lines[i])
        i += 1
    options, k = {}, 0
    if body and body[0].strip() == "---":  # a YAML block of options
        close = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
        if close is not None:
            options = yaml.safe_load("\n".join(body[1:close])) or {}
            k = close + 1
    while k < len(body) and OPTION.match(body[k]):
        match = OPTION.match(body[k])
        options[match.group("key")] = match.group("value").strip()
        k += 1
    return options, body[k:], i + 1


class Book:
    """What converting one chapter needs to know about the whole book: titles, labels, numbers, works."""

    def __init__(self, pages: dict[str, object], bib_path: pathlib.Path = BIB,
                 repository_url: str | None = None, branch: str | None = None):
        """``pages``: page name ("book/01_se") -> its notebook, or the text of a Markdown page, in book order."""
        config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
        self.repository_url = (repository_url or config["url"]).rstrip("/")
        self.branch = branch or config.get("branch", "main")
        owner, repo = urllib.parse.urlsplit(self.repository_url).path.strip("/").split("/")[:2]
        self.site_url = f"https://{owner.lower()}.github.io/{repo}/"
        self.bib = parse_file(str(bib_path)).entries
        self.pages: dict[str, str] = {}       # page -> title
        self.targets: dict[str, Target] = {}  # label -> where it is
        self.figures = 0
        self.exercises = 0
        for page, content in pages.items():
            self.add_page(page, content)

    @classmethod
    def load(cls) -> "Book":
        """The book of ``_toc.yml``, as stored."""
        pages = {}
        for entry in toc_files():
            path = resolve(entry)
            pages[entry] = nbformat.read(path, as_version=4) if path.suffix == ".ipynb" else path.read_text()
        return cls(pages)

    def add_page(self, page: str, content) -> None:
        """Index one page: its title, section labels, numbered figures and exercises (Sphinx's order)."""
        if page in self.pages:
            return
        if isinstance(content, str):
            blocks = [("markdown", content, {})]
        else:
            blocks = [(cell.cell_type, cell.source, cell.get("metadata", {})) for cell in content.cells]
        title = None
        for kind, source, metadata in blocks:
            if kind == "code":
                figure = metadata.get("mystnb", {}).get("figure", {})
                if figure.get("caption"):
                    self.figures += 1
                    if figure.get("name"):
                        self.targets[figure["name"]] = Target(page, "figure", figure["caption"], self.figures)
                continue
            if kind != "markdown":
                continue
            lines = source.splitlines()
            pending, i = None, 0
            while i < len(lines):
                line = lines[i]
                target, heading, directive = TARGET.match(line), HEADING.match(line), DIRECTIVE.match(line)
                if target:
                    pending = target.group(1)
                elif heading:
                    if title is None and len(heading.group(1)) == 1:
                        title = heading.group(2)
                    if pending:
                        self.targets[pending] = Target(page, "section", heading.group(2))
                        pending = None
                elif CODE_FENCE.match(line):  # a code block: nothing in it is markup
                    fence = CODE_FENCE.match(line).group("fence")
                    i += 1
                    while i < len(lines) and not (lines[i].strip() and set(lines[i].strip()) == {fence[0]}
                                                  and len(lines[i].strip()) >= len(fence)):
                        i += 1
                elif directive:
                    options, _, after = _split_directive_lines(lines, i)
                    name, arg = directive.group("name"), directive.group("arg").strip()
                    if name == "exercise":
                        number = None
                        if "nonumber" not in options:
                            self.exercises += 1
                            number = self.exercises
                        if options.get("label"):
                            self.targets[options["label"]] = Target(page, "exercise", arg, number)
                    elif name == "figure" and options.get("name"):
                        self.figures += 1
                        self.targets[options["name"]] = Target(page, "figure", "", self.figures)
                    i = after
                    continue
                elif line.strip() and pending:  # a target before a paragraph: no heading to show
                    self.targets[pending] = Target(page, "section", "")
                    pending = None
                i += 1
        self.pages[page] = title or page.rsplit("/", 1)[-1]

    def url(self, page: str, anchor: str = "") -> str:
        return f"{self.site_url}{page}.html" + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------- citations


def _latex(text: str) -> str:
    """BibTeX field -> Markdown text: \\url, \\texttt, accents and braces."""
    text = re.sub(r"\\url\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\texttt\{([^{}]*)\}", lambda m: "`" + m.group(1).replace("\\_", "_") + "`", text)
    text = re.sub(r"\\(?:emph|textit)\{([^{}]*)\}", r"*\1*", text)
    text = re.sub(r"\\textbf\{([^{}]*)\}", r"**\1**", text)
    parts = re.split(r"(`[^`]*`)", text)  # leave code spans alone
    parts = [p if p.startswith("`") else codecs.decode(p, "ulatex").replace("{", "").replace("}", "")
             for p in parts]
    return " ".join("".join(parts).split())


def _last(person) -> str:
    return _latex(" ".join(person.prelast_names + person.last_names))


def _full(person) -> str:
    return _latex(" ".join(person.first_names + person.middle_names + person.prelast_names + person.last_names))


def _authors_short(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if not people:
        return _latex(entry.fields.get("title", "Anonymous"))
    if len(people) == 1:
        return _last(people[0])
    if len(people) == 2:
        return f"{_last(people[0])} and {_last(people[1])}"
    return f"{_last(people[0])} et al."


def _url(entry) -> str | None:
    if "url" in entry.fields:
        return entry.fields["url"]
    if "doi" in entry.fields:
        return "https://doi.org/" + entry.fields["doi"]
    match = re.search(r"\\url\{([^{}]*)\}", entry.fields.get("howpublished", ""))
    return match.group(1) if match else None


def reference(entry) -> str:
    """One work of the chapter's list: authors (year). Title. Venue. Link."""
    people = entry.persons.get("author") or []
    names = [_full(p) for p in people]
    authors = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else ""
    year = entry.fields.get("year", "n.d.")
    parts = [f"{authors} ({year}).", f"{_latex(entry.fields.get('title', ''))}."]
    venue = entry.fields.get("booktitle") or entry.fields.get("journal") or entry.fields.get("publisher")
    if venue:
        details = f"*{_latex(venue)}*"
        if entry.fields.get("volume"):
            details += f", {entry.fields['volume']}"
            if entry.fields.get("number"):
                details += f"({entry.fields['number']})"
        if entry.fields.get("pages"):
            details += ", " + _latex(entry.fields["pages"])
        parts.append(f"{details}.")
    url = _url(entry)
    howpublished = entry.fields.get("howpublished", "")
    if howpublished and not re.fullmatch(r"\s*\\url\{[^{}]*\}\s*", howpublished):
        parts.append(_latex(howpublished) + ".")
    if entry.fields.get("note"):
        parts.append(_latex(entry.fields["note"]).rstrip(".") + ".")
    if url:
        parts.append(f"<{url}>")
    return " ".join(parts)


# ---------------------------------------------------------------- one chapter


def format_glue(text: str, fmt_spec: str) -> str:
    """A glued text/plain value, formatted as myst-nb's ``{glue:text}`` does (myst_nb.core.variables.format_plain_text)."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in "bcdoxX":
        value = int(value)
    elif type_char in "eEfFgGn%":
        value = float(value)
    return format(value, fmt_spec)


def glue_values(nb) -> dict[str, str]:
    """name -> text/plain of every value the notebook's stored outputs glued (myst_nb.glue)."""
    values = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            data = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in output.get("data", {}).items()}
            if "text/plain" in data:
                values[meta["name"]] = "".join(data["text/plain"]) if isinstance(data["text/plain"], list) \
                    else data["text/plain"]
    return values


def _fence_for(text: str, char: str = "`") -> str:
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", text)), default=0)
    return char * max(3, longest + 1)


def _outputs_markdown(cell) -> str:
    """The stored outputs of a solution's code cell, as Markdown (text in a fence, images inline)."""
    texts, pieces = [], []
    for output in cell.get("outputs", []):
        if output.get("metadata", {}).get("scrapbook"):
            continue
        if output.output_type == "stream":
            texts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "image/png" in data:
                pieces.append(f'<img alt="output" src="data:image/png;base64,{"".join(data["image/png"]).strip()}">')
            elif "text/plain" in data:
                texts.append(data["text/plain"].rstrip("\n") + "\n")
        elif output.output_type == "error":
            texts.append(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", []))) + "\n")
    if texts:
        text = "".join(texts).rstrip("\n")
        fence = _fence_for(text)
        pieces.insert(0, f"Output:\n\n{fence}text\n{text}\n{fence}")
    return "\n\n".join(pieces)


class Chapter:
    """Converts the markdown of one notebook; collects the works it cites."""

    def __init__(self, nb, page: str, book: Book, name: str):
        self.nb, self.page, self.book, self.name = nb, page, book, name
        self.glue = glue_values(nb)
        self.cited: list[str] = []
        self.cell = 0

    def error(self, message: str) -> ConversionError:
        return ConversionError(f"{self.name}: cell {self.cell}: {message}")

    # -- inline

    def _work(self, key: str):
        if key not in self.book.bib:
            raise self.error(f"unknown citation key {key!r} (not in {BIB.relative_to(ROOT)})")
        if key not in self.cited:
            self.cited.append(key)
        return self.book.bib[key]

    def _doc_page(self, target: str) -> str:
        target = target.removesuffix(".ipynb").removesuffix(".md")
        page = posixpath.normpath(target.lstrip("/") if target.startswith("/")
                                  else posixpath.join(posixpath.dirname(self.page), target))
        if page not in self.book.pages:
            raise self.error(f"{{doc}} names {target!r}, which is not a page of the book")
        return page

    def _label(self, label: str) -> Target:
        if label not in self.book.targets:
            raise self.error(f"unknown label {label!r} (no section target, figure name or exercise label)")
        return self.book.targets[label]

    def role(self, role: str, content: str) -> str:
        explicit = EXPLICIT.match(content)
        text, target = (explicit.group("text"), explicit.group("target")) if explicit else (None, content.strip())
        if role in ("cite", "cite:p", "cite:ps"):
            keys = [k.strip() for k in content.split(",") if k.strip()]
            return "(" + "; ".join(f"{_authors_short(w)}, {w.fields.get('year', 'n.d.')}"
                                   for w in map(self._work, keys)) + ")"
        if role in ("cite:t", "cite:ts"):
            keys = [k.strip() for k in content.split(",") if k.strip()]
            return ", ".join(f"{_authors_short(w)} ({w.fields.get('year', 'n.d.')})" for w in map(self._work, keys))
        if role == "doc":
            page = self._doc_page(target)
            return f"[{text or self.book.pages[page]}]({self.book.url(page)})"
        if role in ("ref", "numref"):
            where = self._label(target)
            if role == "numref" or not text:
                default = {"figure": "Fig. {number}", "exercise": "Exercise {number}"}.get(where.kind)
                if role == "ref" and where.kind == "section":
                    default = where.text
                if text:
                    default = text.replace("%s", "{number}")
                if default is None:
                    default = where.text or target
                text = default.format(number=where.number if where.number is not None else "",
                                      name=where.text).strip()
            return f"[{text}]({self.book.url(where.page, target)})"
        if role == "term":
            term = target
            return f"[{text or term}]({self.book.url('book/glossary', 'term-' + make_id(term))})"
        if role in ("glue", "glue:text"):
            key, _, fmt = target.rpartition(":") if ":" in target else (target, "", "")
            if "::" in key:
                raise self.error(f"{{{role}}}`{content}` glues from another notebook, which the Colab edition cannot")
            if key not in self.glue:
                raise self.error(f"no stored glue value {key!r}: execute the notebook first "
                                 "(scripts/execute_notebooks.py), so its outputs hold it")
            return format_glue(self.glue[key], fmt)
        if role == "math":
            return f"${content}$"
        raise self.error(f"the role {{{role}}} has no Colab form; add one to scripts/colab_edition.py")

    def link(self, bang: str, text: str, target: str, title: str | None) -> str:
        if SCHEME.match(target) or target.startswith("#"):
            return None
        path, _, anchor = target.partition("#")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self.page), path))
        page = joined.removesuffix(".ipynb").removesuffix(".md")
        if page in self.book.pages:
            url = self.book.url(page, anchor)
        elif (ROOT / joined).exists():
            owner_repo = urllib.parse.urlsplit(self.book.repository_url).path.strip("/")
            url = (f"https://raw.githubusercontent.com/{owner_repo}/{self.book.branch}/{joined}" if bang
                   else f"{self.book.repository_url}/blob/{self.book.branch}/{joined}") + (f"#{anchor}" if anchor else "")
        else:
            raise self.error(f"the link ({target}) names neither a page of the book nor a file of the repository")
        return f"{bang}[{text}]({url}{title or ''})"

    def inline(self, text: str) -> str:
        def replace(match):
            if match.group("role"):
                return self.role(match.group("role"), match.group("content"))
            if match.group("code"):
                return match.group("code")
            converted = self.link(match.group("bang"), match.group("text"), match.group("target"),
                                  match.group("title"))
            return match.group(0) if converted is None else converted
        return INLINE.sub(replace, text)

    # -- blocks

    def markdown(self, source: str) -> str:
        """A markdown text (no gated solution markers) as plain Markdown."""
        lines, out, chunk, i = source.splitlines(), [], [], 0

        def flush():
            if chunk:
                out.append(self.inline("\n".join(chunk)))
                chunk.clear()

        while i < len(lines):
            line = lines[i]
            directive, code = DIRECTIVE.match(line), CODE_FENCE.match(line)
            if TARGET.match(line):
                i += 1
                continue
            if directive:
                flush()
                options, body, i = _split_directive_lines(lines, i)
                out.append(self.directive(directive.group("name"), directive.group("arg").strip(), options,
                                          "\n".join(body).strip("\n")))
                continue
            if code:
                flush()
                fence, block = code.group("fence"), [line]
                i += 1
                while i < len(lines):
                    block.append(lines[i])
                    stripped = lines[i].strip()
                    i += 1
                    if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                        break
                out.append("\n".join(block))
                continue
            chunk.append(line)
            i += 1
        flush()
        text = "\n".join(out)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")

    def details(self, label: str | None, body: str) -> str:
        summary = "Solution"
        if label:
            where = self._label(label)
            if where.kind == "exercise" and where.number is not None:
                summary = f"Solution to Exercise {where.number}"
        return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"

    def directive(self, name: str, arg: str, options: dict, body: str) -> str:
        if name == "exercise":
            label = options.get("label")
            number = self.book.targets[label].number if label in self.book.targets else None
            heading = "#### Exercise" + (f" {number}" if number is not None else "") + (f": {self.inline(arg)}" if arg else "")
            return f"{heading}\n\n{self.markdown(body)}"
        if name == "solution":
            return self.details(arg or None, self.markdown(body))
        if name in ADMONITIONS:
            title = self.inline(arg) if arg else name.capitalize()
            quoted = "\n".join(f"> {line}" if line else ">" for line in self.markdown(body).splitlines())
            return f"> **{title}**\n>\n{quoted}"
        if name in ("solution-start", "solution-end"):
            raise self.error(f"{{{name}}} must open its own markdown cell's solution (see CONTRIBUTING.md)")
        raise self.error(f"the directive {{{name}}} has no Colab form; add one to scripts/colab_edition.py")

    def references(self) -> str:
        if not self.cited:
            return ""
        works = sorted(self.cited, key=lambda k: (_authors_short(self.book.bib[k]).lower(),
                                                  self.book.bib[k].fields.get("year", ""), k))
        return "**Works cited in this chapter**\n\n" + "\n".join(f"- {reference(self.book.bib[k])}" for k in works)


def _marker_split(source: str, pattern: re.Pattern) -> tuple[str, str, str] | None:
    """(text before, the directive's argument, text after) for the first ``pattern`` directive, or None."""
    match = pattern.search(source)
    if not match:
        return None
    lines = source[match.start():].splitlines()
    options, body, after = _split_directive_lines(lines, 0)
    arg = DIRECTIVE.match(lines[0]).group("arg").strip()
    return source[:match.start()], arg, "\n".join(lines[after:])


def _markdown_cell(source: str, cell_id: str, metadata: dict):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id[:64]
    cell.metadata = nbformat.from_dict(dict(metadata))
    return cell


def colab_notebook(nb, page: str, book: Book | None = None, name: str | None = None):
    """Return the Colab edition of ``nb`` (the page ``page``, e.g. "book/01_se"); ``nb`` is left as it is."""
    book = book or Book.load()
    book.add_page(page, nb)
    nb = nbformat.from_dict(nb)  # a deep copy
    chapter = Chapter(nb, page, book, name or f"{page}.ipynb")
    cells, buffer, solution = [], None, None  # buffer: [id, metadata, texts]; solution: [label, parts, opened at]

    def add(text: str, cell) -> None:
        nonlocal buffer
        if buffer is None:
            buffer = [cell.get("id", f"cell-{chapter.cell}"), cell.get("metadata", {}), []]
        if text.strip():
            buffer[2].append(text.strip("\n"))

    def flush() -> None:
        nonlocal buffer
        if buffer is not None and buffer[2]:
            cells.append(_markdown_cell("\n\n".join(buffer[2]), buffer[0], buffer[1]))
        buffer = None

    for index, cell in enumerate(nb.cells):
        chapter.cell = index
        if cell.cell_type == "code":
            if solution is not None:
                code = cell.source.strip("\n")
                fence = _fence_for(code)
                solution[1].append(f"{fence}python\n{code}\n{fence}")
                if _outputs_markdown(cell):
                    solution[1].append(_outputs_markdown(cell))
                if {"exercise-stub", "exercise-check"} & set(cell.get("metadata", {}).get("tags", [])):
                    raise chapter.error("an exercise-stub or exercise-check cell lies inside a solution")
                continue
            flush()
            cells.append(cell)
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if figure.get("caption"):
                number = book.targets[figure["name"]].number if figure.get("name") in book.targets else None
                caption = chapter.inline(figure["caption"])
                cells.append(_markdown_cell(f"**Fig. {number}.** {caption}" if number else f"*{caption}*",
                                            f"{cell.get('id', index)}-caption", {}))
            continue
        if cell.cell_type != "markdown":
            flush()
            cells.append(cell)
            continue
        if solution is None:
            flush()
        text = cell.source
        while True:
            if solution is None:
                split = _marker_split(text, START)
                end_first = END.search(text)
                if end_first and (split is None or end_first.start() < START.search(text).start()):
                    raise chapter.error("solution-end without a solution-start before it")
                if split is None:
                    add(chapter.markdown(text), cell)
                    break
                before, label, text = split
                add(chapter.markdown(before), cell)
                solution = [label or None, [], index]
            else:
                split = _marker_split(text, END)
                start_first = START.search(text)
                if start_first and (split is None or start_first.start() < END.search(text).start()):
                    raise chapter.error(f"a solution-start inside the solution opened at cell {solution[2]}")
                if split is None:
                    solution[1].append(chapter.markdown(text))
                    break
                before, _, text = split
                solution[1].append(chapter.markdown(before))
                add(chapter.details(solution[0], "\n\n".join(p for p in solution[1] if p.strip())), cell)
                solution = None
    if solution is not None:
        chapter.cell = solution[2]
        raise chapter.error("this solution-start is never closed (no solution-end)")
    flush()
    works = chapter.references()
    if works:
        if cells and cells[-1].cell_type == "markdown":
            cells[-1].source = cells[-1].source.rstrip("\n") + "\n\n" + works
        else:
            cells.append(_markdown_cell(works, "colab-references", {}))
    nb.cells = cells
    return nb


def _page(path: pathlib.Path) -> str:
    """The page a notebook is ("book/01_se"); one outside the repository counts as in book/."""
    path = path.resolve()
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else pathlib.Path("book") / path.name
    return rel.with_suffix("").as_posix()


def write_colab_edition(notebooks: list[pathlib.Path], out: pathlib.Path = OUT,
                        book: Book | None = None) -> list[pathlib.Path]:
    """Write the Colab edition of each notebook under ``out`` (out/book/NN_name.ipynb); return the paths."""
    book = book or Book.load()
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        page = _page(path)
        target = out / f"{page}.ipynb"
        edition = colab_notebook(nb, page, book, name=f"{page}.ipynb")
        nbformat.validate(edition)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(edition, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every notebook in _toc.yml")
    parser.add_argument("--out", type=pathlib.Path, default=OUT, help="default: colab/")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or [resolve(e) for e in toc_files() if resolve(e).suffix == ".ipynb"]
    try:
        written = write_colab_edition(paths, args.out.resolve())
    except ConversionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
