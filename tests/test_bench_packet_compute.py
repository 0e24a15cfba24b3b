"""``benchmarks/bench_packet_compute.py``: arguments checked, and the rows it times are one block product."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_packet_compute.py"


@pytest.fixture(scope="module")
def bench():
    saved = dict(os.environ)  # the script sets BLAS thread counts for its own process
    try:
        spec = importlib.util.spec_from_file_location("bench_packet_compute", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


def test_n_must_be_a_multiple_of_three(bench, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--n", "100"])
    assert exit_info.value.code == 2
    assert "--n must be a positive multiple of 3, got 100" in capsys.readouterr().err


def test_small_run_prints_both_ratios(bench, capsys):
    assert bench.main(["--n", "30", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "blocks 10 x 30 by 30 x 10" in out
    assert "uncoded packet:" in out and "packet mixing 3 B blocks:" in out
