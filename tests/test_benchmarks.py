"""The benchmark script runs and prints its table (a smoke test: its numbers are never asserted)."""
from __future__ import annotations

import pytest
import torch

from tests.benchmark_scripts import load


@pytest.fixture(scope="module")
def bench():
    return load("bench_modules")


TABLES = {
    "forward (eval, no grad)": ["counted", "counted fast", "fwd plain", "fwd fast", "fwd blog", "fwd timm",
                                "fwd plain x timm", "fwd fast x timm", "fwd fast x blog"],
    "forward + backward (train)": ["f+b plain", "f+b fast", "f+b blog", "f+b timm", "f+b plain x timm",
                                   "f+b fast x timm", "f+b fast x blog", "peak MB plain", "peak MB fast",
                                   "peak MB blog", "peak MB timm"],
}


def test_benchmark_prints_both_tables_with_a_row_per_module_and_every_column(bench, capsys):
    assert bench.main(["--shape", "2", "16", "6", "5", "--threads", "1", "--min-run-time", "0.001",
                       "--default-malloc"]) == 0
    out = capsys.readouterr().out
    assert "1 thread(s), float32, default malloc, fast CA and CBAM take the batch whole" in out
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
    """--block-bytes sets the fast modules' block (restored afterwards); the run uses it."""
    import attn_src.fast.ops as ops

    seen = []
    real = ops.batch_blocks
    monkeypatch.setattr(ops, "batch_blocks", lambda x: seen.append(ops.BLOCK_BYTES) or real(x))
    assert bench.main(["--shape", "2", "16", "6", "5", "--threads", "1", "--min-run-time", "0.001",
                       "--default-malloc", "--block-bytes", "960"]) == 0
    assert "blocks of 960 bytes" in capsys.readouterr().out
    assert seen and set(seen) == {960}
    assert ops.BLOCK_BYTES is None


@pytest.mark.parametrize("shape, pooling_rows", [((2, 16, 6, 5), False), ((2, 16, 12, 10), True)])
def test_passes_prints_each_pass_their_sum_and_both_orders(capsys, shape, pooling_rows):
    """passes.py: a row per full-size pass of the fast CA and CBAM, their sum, the fast module whole and
    in blocks, and the plain module.
    The two means inside ``coordinate_pool`` get rows of their own where it takes means (H + W > 20)."""
    passes = load("passes")
    assert passes.main(["--shape", *map(str, shape), "--threads", "1", "--min-run-time", "0.001",
                        "--default-malloc"]) == 0
    out = capsys.readouterr().out
    assert f"1 thread(s), float32, default malloc, input {'x'.join(map(str, shape))}" in out
    sections = out.split("\n\n")[1:]
    assert [s.split()[0] for s in sections] == ["CA", "CBAM"]
    x = torch.zeros(shape)
    for section, name, listed in zip(sections, ["CoordAttention", "CBAM"],
                                     [passes.ca_passes(x), passes.cbam_passes(x)]):
        rows = {line[:-8].strip(): float(line[-6:]) for line in section.splitlines()[1:]}
        parts = {label for label in rows if label.startswith("of which")}
        assert bool(parts) == (pooling_rows and name == "CoordAttention")
        assert list(rows)[:len(listed)] == list(listed)
        assert rows["sum of the passes"] == pytest.approx(sum(rows[label] for label in listed), abs=0.005 * len(listed))
        assert list(rows)[-3:] == [f"Fast{name}, whole batch", f"Fast{name}, blocks of {4 * 2**20} bytes",
                                   f"{name} (plain)"]
        assert all(0 < v < float("inf") for v in rows.values())

