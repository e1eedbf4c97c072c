"""The benchmark script runs and prints its table (a smoke test: its numbers are never asserted)."""
from __future__ import annotations

import pytest

from tests.benchmark_scripts import load


@pytest.fixture(scope="module")
def bench():
    return load("bench_modules")


TABLES = {
    "forward (eval, no grad)": ["counted", "fwd ms", "fwd copies", "fwd blog", "fwd x blog", "fwd timm", "fwd x timm"],
    "forward + backward (train)": ["f+b copies", "f+b blog", "f+b x blog", "f+b timm", "f+b x timm",
                                   "peak MB", "peak MB blog", "peak MB timm"],
}


def test_benchmark_prints_both_tables_with_a_row_per_module_and_every_column(bench, capsys):
    assert bench.main(["--shape", "2", "16", "6", "5", "--threads", "1", "--min-run-time", "0.001",
                       "--default-malloc"]) == 0
    out = capsys.readouterr().out
    assert f"1 thread(s), float32, default malloc, blocks of {4 * 2**20} bytes" in out
    lines = out.splitlines()
    for title, columns in TABLES.items():
        start = lines.index(title)
        header = lines[start + 1]
        # pandas right-aligns each column name over its values: find every name, in order
        positions = [header.index(f" {column} ") if f" {column} " in header else header.index(f" {column}")
                     for column in columns]
        assert positions == sorted(positions), header
        assert lines[start + 2].split() == ["module", "shape"]
        table = lines[start + 3:start + 3 + len(bench.REFERENCES)]
        assert [line.split()[:2] for line in table] == [[m, "2x16x6x5"] for m in bench.REFERENCES]
        # every number is a positive, finite measurement, one per column
        values = [line.split()[2:] for line in table]
        assert all(len(v) == len(columns) for v in values)
        assert all(0 < float(v) < float("inf") for row in values for v in row)


def test_the_timm_check_script_finds_what_it_uses_in_the_benchmark():
    """``against_timm.py`` runs only beside timm (another torch); this keeps its imports working here."""
    script = load("against_timm")
    assert callable(script.main) and callable(script.timm_module)


def test_benchmark_takes_the_block_size_it_is_given(bench, capsys, monkeypatch):
    """--block-bytes sets attn_src's block (restored afterwards); the run uses it."""
    import attn_src._ops as ops

    seen = []
    real = ops.batch_blocks
    monkeypatch.setattr(ops, "batch_blocks", lambda x: seen.append(ops.BLOCK_BYTES) or real(x))
    assert bench.main(["--shape", "2", "16", "6", "5", "--threads", "1", "--min-run-time", "0.001",
                       "--default-malloc", "--block-bytes", "960"]) == 0
    assert "blocks of 960 bytes" in capsys.readouterr().out
    assert seen and set(seen) == {960}
    assert ops.BLOCK_BYTES == 4 * 2**20
