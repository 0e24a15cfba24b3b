"""``benchmarks/bench_packet_compute.py``: its arguments are checked, and a small run prints both timings."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_packet_compute")


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
