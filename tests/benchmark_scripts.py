"""Import a script of ``benchmarks/`` (not a package) by its file name, for the tests."""
from __future__ import annotations

import importlib.util
import pathlib
from types import ModuleType

FOLDER = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str) -> ModuleType:
    """The module in ``benchmarks/<name>.py``, executed afresh."""
    spec = importlib.util.spec_from_file_location(name, FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
