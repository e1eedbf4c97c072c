"""The benchmark script runs and prints its table (a smoke test: its numbers are never asserted)."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_modules.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_modules", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_prints_a_row_per_module_with_every_column(bench, capsys):
    assert bench.main(["--shape", "2", "16", "6", "5", "--threads", "1", "--min-run-time", "0.001",
                       "--default-malloc"]) == 0
    out = capsys.readouterr().out
    assert "1 thread(s), float32, default malloc" in out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("module"))
    for column in ("counted", "fwd copies", "ref copies", "fwd x", "f+b copies", "f+b x", "peak MB", "ref peak MB"):
        assert column in lines[start]
    table = lines[start + 1:start + 1 + len(bench.REFERENCES)]
    assert [line.split()[:2] for line in table] == [[m, "2x16x6x5"] for m in bench.REFERENCES]
    # every number is a positive, finite measurement
    assert all(0 < float(v) < float("inf") for line in table for v in line.split()[2:])

