"""``benchmarks/bench_dask_straggler.py``: the oracle's formula, the targets, and the CSV of ``--quick``.

The oracle is ``T(ε) = k(ε) / R`` (the script's docstring); ``k(ε)`` is checked on energies
whose answer is known by hand.  The end-to-end run (``--quick``: n = 600, one repeat, three
schemes, one of two processes slowed 10×, about 10 s) checks the CSV's columns, its rows and
its ratios, never a wall-clock value: the only timing relation asserted is between oracle rows,
which are the same measured ``R`` divided into different block counts.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_dask_straggler.py"


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_dask_straggler")


# Sec. VI's block products, relative: variances (10, 1, 0.1) of A's row blocks times B's column blocks
SEC6_LIKE = np.outer([10.0, 1.0, 0.1], [10.0, 1.0, 0.1]).ravel()  # sum 123.21


@pytest.mark.parametrize("eps, k", [
    (0.5, 1),     # after 100: 23.21/123.21 = 0.188
    (0.1, 3),     # after 100, 10, 10: 3.21/123.21 = 0.026; after two: 13.21/123.21 = 0.107 > 0.1
    (1e-2, 5),    # after five: 1.21/123.21 = 0.0098; after four: 2.21/123.21 = 0.018
    (1e-4, 8),    # after eight: 0.01/123.21 = 8.1e-5; after seven: 0.11/123.21 = 8.9e-4
    (0.0, 9),     # exact: every block
])
def test_blocks_needed_heaviest_first(bench, eps, k):
    shuffled = np.random.default_rng(0).permutation(SEC6_LIKE)  # the order given does not matter
    assert bench.blocks_needed(shuffled, eps) == k
    assert bench.oracle_seconds(shuffled, eps, rate=4.0) == k / 4.0


def test_blocks_needed_equal_energies(bench):
    # nine equal blocks: 1/9 = 0.111 is left after eight, so 1e-1 needs all nine and 0.2 needs eight
    assert bench.blocks_needed(np.ones(9), 0.1) == 9
    assert bench.blocks_needed(np.ones(9), 0.2) == 8
    with pytest.raises(ValueError, match="rate must be a positive"):
        bench.oracle_seconds(np.ones(9), 0.1, rate=0.0)


def test_parse_targets(bench):
    assert bench.parse_targets("exact, 1e-2,0.1,1E-4,1e-2") == [
        ("1e-1", 0.1), ("1e-2", 0.01), ("1e-4", 1e-4), ("exact", 0.0)]
    assert bench.parse_targets("0.25") == [("0.25", 0.25)]
    for bad, message in (("1", "strictly between 0 and 1"), ("-1e-2", "strictly between"),
                         ("tiny", "not a number or 'exact'")):
        with pytest.raises(ValueError, match=message):
            bench.parse_targets(bad)


def test_matrices(bench):
    A, B = bench.make_matrices("sec6", 300, seed=0)
    assert A.shape == B.shape == (300, 300)
    energies = bench.block_energies(A @ B)
    assert math.isclose(energies.sum(), float(np.sum((A @ B) ** 2)), rel_tol=1e-12)
    assert int(np.argmax(energies)) == 0 and int(np.argmin(energies)) == 8  # high x high, low x low
    with pytest.raises(ValueError, match="multiple of 3"):
        bench.make_matrices("gaussian", 301, seed=0)


def test_execution_flag_on_this_backend(bench):
    from uepmm.backends.dask import DaskBackend

    assert bench.execution_options("pinned-legacy")[0] == {}
    if "execution" in bench.inspect.signature(DaskBackend).parameters:
        assert bench.execution_options(None) == ({"execution": "pull"}, "execution: pull")
        assert bench.execution_options("pinned")[0] == {"execution": "pinned"}
    else:  # today's backend: omitted falls back to its placement, asked for explicitly is refused
        options, note = bench.execution_options(None)
        assert options == {} and note.startswith("execution: pinned")
        with pytest.raises(SystemExit, match="--execution pinned-legacy"):
            bench.execution_options("pull")


def test_quick_csv(bench, tmp_path):
    out = tmp_path / "quick.csv"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--processes", "2", "--threads", "6", "--target", "1e-1,1e-2",
         "--csv", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == bench.COLUMNS
        rows = list(reader)
    schemes = ["dask.array", "uncoded", "mds", "now", "oracle"]
    assert [(r["scheme"], r["target"]) for r in rows] == [(s, t) for s in schemes for t in ("1e-1", "1e-2")]
    for r in rows:
        assert (r["inputs"], r["matrices"], r["n"], r["slowed"]) == ("numpy", "sec6", "600", "10")
        low, median, high = float(r["seconds_min"]), float(r["seconds_median"]), float(r["seconds_max"])
        assert 0 < low <= median <= high < math.inf, r
        for ratio in ("ratio_to_dask_array", "ratio_to_oracle"):
            assert 0 < float(r[ratio]) < math.inf, r
        if r["scheme"] == "dask.array":
            assert float(r["ratio_to_dask_array"]) == 1.0
        if r["scheme"] == "oracle":
            assert float(r["ratio_to_oracle"]) == 1.0
    # oracle: the same R for both targets, so the seconds are in the ratio of the block counts
    # (each seconds value rounded to 1e-4: |t2 k1 - t1 k2| <= 5e-5 (k1 + k2))
    A, B = bench.make_matrices("sec6", 600, seed=0)
    energies = bench.block_energies(A @ B)
    k1, k2 = bench.blocks_needed(energies, 0.1), bench.blocks_needed(energies, 0.01)
    assert (k1, k2) == (3, 5)
    t1, t2 = (float(r["seconds_median"]) for r in rows if r["scheme"] == "oracle")
    assert abs(t2 * k1 - t1 * k2) <= 5e-5 * (k1 + k2)
