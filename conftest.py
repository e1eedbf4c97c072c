"""Suite-wide guard: running the tests (notebooks included) must not write into the repository."""
from __future__ import annotations

import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent


def _untracked() -> set[str]:
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {line[3:] for line in out.splitlines() if line.startswith("??")}


def pytest_sessionstart(session):
    session.config._untracked_before = _untracked()


def pytest_sessionfinish(session, exitstatus):
    new = sorted(_untracked() - getattr(session.config, "_untracked_before", set()))
    if new:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"FAILED: the test run wrote files into the repository: {new}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
