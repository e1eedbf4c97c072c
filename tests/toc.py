"""The one reader of ``_toc.yml`` for scripts and tests: which pages and notebooks the book has."""
from __future__ import annotations

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _walk(entries):
    for entry in entries or []:
        if "file" in entry:
            yield entry["file"]
        yield from _walk(entry.get("sections"))
        for part in entry.get("parts", []):
            yield from _walk(part.get("chapters"))


def toc_files() -> list[str]:
    """Every ``file`` of ``_toc.yml`` (root first), as written there (no suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *_walk(toc.get("chapters")), *(
        f for part in toc.get("parts", []) for f in _walk(part.get("chapters")))]


def resolve(entry: str) -> pathlib.Path:
    """The file behind a toc entry: ``.ipynb`` or ``.md``."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{entry}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"_toc.yml lists {entry!r}, but neither {entry}.ipynb nor {entry}.md exists")


def toc_notebooks() -> list[pathlib.Path]:
    """The notebooks of the book, in reading order."""
    return [p for p in map(resolve, toc_files()) if p.suffix == ".ipynb"]
