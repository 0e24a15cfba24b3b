"""Figures 13-15 and 1 from run CSVs."""

from __future__ import annotations

import csv
import math

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("torch")

from uepmm.experiments.training_figures import (  # noqa: E402
    FIG15_ITERATIONS,
    SCHEME_COLOURS,
    TRAINING_FIGURES,
    fig13_table,
    fig15_table,
    final_accuracy_table,
    training_tables,
)
from uepmm.nn.runs import CSV_COLUMNS, write_run_csv  # noqa: E402


def _run(directory, dataset, scheme, partition, deadline, seed, accuracy, steps=2000, every=100, per_epoch=937):
    rows = []
    for it in range(0, steps + 1, every):
        rows.append({
            "dataset": dataset, "scheme": scheme, "partition": partition, "deadline": deadline, "seed": seed,
            "iteration": it, "epoch": it / per_epoch, "test_accuracy": accuracy(it), "test_loss": 1.0,
            "train_loss": 1.0, "recovered": 0.5, "coded_loss": math.nan,
        })
    name = f"{dataset}_{scheme}_{partition}_T{deadline:g}_s{seed}.csv"
    write_run_csv(directory / name, rows)


@pytest.fixture
def runs(tmp_path):
    _run(tmp_path, "mnist", "centralized", "-", math.inf, 0, lambda it: 0.9)
    for scheme, level in (("uncoded", 0.5), ("now", 0.6), ("ew", 0.7), ("repetition", 0.4)):
        for partition, shift in (("rxc", 0.0), ("cxr", 0.05)):
            for deadline in (0.25, 1.0):
                for seed in (0, 1):
                    _run(tmp_path, "mnist", scheme, partition, deadline, seed,
                         lambda it, v=level + shift + deadline / 10 + seed / 100: v + it / 1e5)
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")  # not a run: ignored
    return tmp_path


def test_fig13_and_fig14_tables(runs, tmp_path):
    table = fig13_table(runs)
    assert {r["partition"] for r in table} == {"rxc"}
    assert {r["deadline"] for r in table} == {0.25, 1.0}
    row = next(r for r in table if r["scheme"] == "ew" and r["deadline"] == 1.0 and r["iteration"] == 1000)
    assert row["test_accuracy"] == pytest.approx(0.7 + 0.1 + 0.005 + 0.01)  # mean over the two seeds
    assert row["seeds"] == 2
    assert any(r["scheme"] == "centralized" and r["test_accuracy"] == 0.9 for r in table)
    for name in ("fig13", "fig14"):
        path = TRAINING_FIGURES[name](runs, tmp_path / "figs")
        assert path.suffix == ".png" and path.stat().st_size > 20_000
        with (tmp_path / "figs" / f"{name}.csv").open() as handle:
            assert len(list(csv.DictReader(handle))) == len(table)


def test_fig15_accuracy_at_fixed_iterations(runs, tmp_path):
    table = fig15_table(runs)
    assert {r["iteration"] for r in table} == set(FIG15_ITERATIONS)
    row = next(r for r in table if r["scheme"] == "now" and r["partition"] == "cxr" and r["deadline"] == 0.25
               and r["iteration"] == 1500)
    # evaluations at 1400 and 1500 (window (1350, 1500]), both seeds
    expected = 0.6 + 0.05 + 0.025 + 0.005 + (1400 + 1500) / 2 / 1e5
    assert row["test_accuracy"] == pytest.approx(expected)
    assert row["evaluations"] == 2
    path = TRAINING_FIGURES["fig15"](runs, tmp_path / "figs")
    assert path.name == "fig15.png" and path.exists()


def test_fig1_from_cifar_runs(tmp_path):
    for scheme in ("centralized", "uncoded", "now", "ew", "repetition"):
        partition, deadline = ("-", math.inf) if scheme == "centralized" else ("rxc", 1.0)
        _run(tmp_path, "cifar10", scheme, partition, deadline, 0, lambda it: 0.5 + it / 1e6, steps=120 * 781,
             every=781, per_epoch=781)
    path = TRAINING_FIGURES["fig1"](tmp_path, tmp_path / "out")
    with (tmp_path / "out" / "fig1.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert min(float(r["epoch"]) for r in rows) == 30.0 and max(float(r["epoch"]) for r in rows) == 120.0
    assert {r["scheme"] for r in rows} == set(SCHEME_COLOURS)
    assert path.exists()


def test_missing_runs_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no complete mnist run CSVs"):
        fig13_table(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TRAINING_FIGURES["fig13"](tmp_path / "nope", tmp_path)


def test_training_tables(runs, tmp_path):
    final = final_accuracy_table(runs)
    row = next(r for r in final if r["scheme"] == "ew" and r["partition"] == "cxr" and r["deadline"] == 1.0)
    # last evaluation (2000), mean over seeds 0 and 1
    assert row["iteration"] == 2000 and row["seeds"] == 2
    assert row["test_accuracy"] == pytest.approx(0.7 + 0.05 + 0.1 + 0.005 + 0.02)
    assert row["recovered"] == pytest.approx(0.5)
    central = next(r for r in final if r["scheme"] == "centralized")
    assert central["test_accuracy"] == 0.9 and central["seeds"] == 1

    paths = training_tables(runs, tmp_path / "tables")
    with paths["final"].open() as handle:
        assert len(list(csv.DictReader(handle))) == len(final) == 1 + 4 * 2 * 2
    with paths["fig15"].open() as handle:
        assert len(list(csv.DictReader(handle))) == len(fig15_table(runs))
    text = paths["markdown"].read_text()
    assert "centralized: **0.900**; mean over 2 seeds per cell" in text
    assert "| partition | scheme | T=0.25 | T=1 |" in text
    assert "| c×r | EW-UEP | **0.800** (50%) | **0.875** (50%) |" in text  # the best of each column in bold
    assert "| r×c | repetition | 0.450 (50%) | 0.525 (50%) |" in text
    assert "iteration 1000 / 1500; centralized 0.900 / 0.900:" in text
    # Fig. 15, r×c uncoded, T = 0.25, iteration 1000: the evaluation at 1000 (window (900, 1000]), two seeds
    assert "| r×c | uncoded | 0.540 / " in text


def test_csvs_with_the_old_seconds_column_are_read(runs, tmp_path):
    """Run CSVs of older versions end with a wall-time column; tables and figures still read them."""
    old = runs / "mnist_ew_rxc_T1_s0.csv"
    lines = old.read_text().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    old.write_text("\n".join([lines[0] + ",seconds"] + [f"{line},{i * 0.5}" for i, line in enumerate(lines[1:])])
                   + "\n")
    row = next(r for r in final_accuracy_table(runs) if r["scheme"] == "ew" and r["partition"] == "rxc"
               and r["deadline"] == 1.0)
    assert row["test_accuracy"] == pytest.approx(0.7 + 0.1 + 0.005 + 0.02)
    assert TRAINING_FIGURES["fig13"](runs, tmp_path / "figs").exists()
