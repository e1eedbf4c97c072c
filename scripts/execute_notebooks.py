"""Execute notebooks in place, each in a fresh kernel, and print how long each took.

    python scripts/execute_notebooks.py                 # every notebook in _toc.yml
    python scripts/execute_notebooks.py book/01_se.ipynb  # just these

This is the one way stored outputs are produced, so they are always produced the
same way: top to bottom, in one fresh kernel started in the notebook's folder
(as nbval does), with execution counts 1, 2, 3, ... and no per-cell timing metadata.
Run it through ``bash scripts/run.sh python scripts/execute_notebooks.py`` to use the
project's environment. Afterwards it rewrites the Colab edition (colab/book/NN_name.ipynb,
scripts/colab_edition.py) of the notebooks it executed, so the two never drift apart.
"""
from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.toc import toc_notebooks  # noqa: E402  (the one reader of _toc.yml)

_spec = importlib.util.spec_from_file_location("colab_edition", ROOT / "scripts" / "colab_edition.py")
colab_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_edition)


def execute(path: pathlib.Path, timeout: int = 600) -> float:
    """Run ``path`` top to bottom in a fresh kernel, write it back, return seconds taken."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path, help="default: every notebook in _toc.yml")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or toc_notebooks()
    rows = []
    for path in paths:
        print(f"executing {path.relative_to(ROOT)} ...", flush=True)
        rows.append((path.relative_to(ROOT), execute(path)))
    print("\n| notebook | seconds |\n|---|---:|")
    for rel, seconds in rows:
        flag = "  <-- over the 60 s budget" if seconds > 60 else ""
        print(f"| `{rel}` | {seconds:.1f} |{flag}")
    try:
        written = colab_edition.write_colab_edition(paths)
    except colab_edition.ConversionError as err:
        print(f"\nerror: the Colab edition was not written: {err}", file=sys.stderr)
        return 1
    print("\nColab edition: " + ", ".join(f"`{p.relative_to(ROOT)}`" for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
