"""``benchmarks/dask_straggler_tables.py``: the Markdown tables of docs/comparison.md from a bench CSV."""

from __future__ import annotations

import pytest

HEADER = ("scheme,inputs,matrices,n,slowed,target,seconds_median,seconds_min,seconds_max,"
          "ratio_to_dask_array,ratio_to_oracle\n")
ROWS = """dask.array,numpy,sec6,2400,10,1e-2,2.0,1.5,2.5,1.0,10.0
dask.array,numpy,sec6,2400,10,exact,2.0,1.5,2.5,1.0,5.0
uncoded,numpy,sec6,2400,10,1e-2,1.0,0.9,1.2,0.5,5.0
uncoded,numpy,sec6,2400,10,exact,1.5,1.4,1.6,0.75,3.75
now,numpy,sec6,2400,10,1e-2,0.8,0.7,0.95,0.4,4.0
now,numpy,sec6,2400,10,exact,inf,inf,inf,inf,inf
oracle,numpy,sec6,2400,10,1e-2,0.2,0.2,0.2,0.1,1.0
oracle,numpy,sec6,2400,10,exact,0.4,0.4,0.4,0.2,1.0
"""


@pytest.fixture(scope="module")
def tables(load_benchmark):
    return load_benchmark("dask_straggler_tables")


def test_cells_best_rows_and_never(tables, tmp_path):
    path = tmp_path / "run.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    text = tables.table(str(path))
    assert "**sec6 2400², numpy inputs, one process slowed 10×**" in text
    assert "| scheme | loss ≤ 1e-2 | exact |" in text
    assert "| uncoded | 1.00 (0.90–1.20) ×0.50 | 1.50 (1.40–1.60) ×0.75 |" in text
    assert "| now | 0.80 (0.70–0.95) ×0.40 | never |" in text
    # the best uepmm row per target, never dask.array or the oracle; a row that never gets there is skipped
    assert "Best uepmm scheme per target: 1e-2: now ×0.40 dask.array, ×4.0 oracle; exact: uncoded ×0.75" in text


def test_no_one_slowed_and_empty(tables, tmp_path):
    path = tmp_path / "none.csv"
    path.write_text(HEADER + ROWS.replace(",10,", ",1,"), encoding="utf-8")
    assert "no process slowed" in tables.table(str(path))
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER, encoding="utf-8")
    assert tables.table(str(empty)) == f"{empty}: no rows\n"


def test_no_row_reaching_a_target_is_said(tables, tmp_path):
    path = tmp_path / "never.csv"
    path.write_text(HEADER + "dask.array,numpy,sec6,2400,10,1e-2,2.0,1.5,2.5,1.0,10.0\n"
                    "now,numpy,sec6,2400,10,1e-2,inf,inf,inf,inf,inf\n", encoding="utf-8")
    assert tables.table(str(path)).endswith("Best uepmm scheme per target: none reaches a target.\n")
