"""How ``uepmm compare`` shows its rows: the wide table, the best UEP row, the plot's exact floor."""

import math
import re

import numpy as np
import pytest

from uepmm.experiments.compare import (
    EXACT_FLOOR,
    TIE,
    compare_schemes,
    format_wide_table,
    plot_compare,
    plot_series,
    winners,
)
from uepmm.spec import JobSpec


def row(scheme, deadline, loss, uep=0):
    return {"scheme": scheme, "deadline": deadline, "mean_loss": loss, "uep": uep, "cost": "work", "trials": 10}


#: three schemes at three deadlines: "fast" wins t = 1, "safe" and "fast" tie (within TIE) at 2, all exact at inf
ROWS = [row("safe", 1.0, 0.5), row("safe", 2.0, 0.0), row("safe", math.inf, 0.0),
        row("fast", 1.0, 0.0123), row("fast", 2.0, TIE / 2), row("fast", math.inf, 0.0),
        row("uepx", 1.0, 0.0246, uep=1), row("uepx", 2.0, 1e-3, uep=1), row("uepx", math.inf, 3e-31, uep=1)]


def test_wide_table_marks_the_least_loss_of_each_deadline_and_every_tie():
    lines = format_wide_table(ROWS).splitlines()
    assert [line.split() for line in lines[:4]] == [
        ["scheme", "t=1", "t=2", "t=inf"],
        ["safe", "5.00e-1", "0*", "0*"],
        ["fast", "1.23e-2*", "5.00e-16*", "0*"],
        ["uepx", "2.46e-2", "1.00e-3", "3.00e-31*"],  # within TIE of exact: marked
    ]
    assert set(lines[4]) == {"-"} and len(lines[4]) == len(lines[0])
    # best UEP row over the best other row: 0.0246 / 0.0123 = 2; at t = 2 the other is exact (inf)
    assert lines[5].split() == ["UEP/other", "2", "inf", "both", "0"]
    assert lines[6] == ("* least mean loss at that deadline (every scheme within 1e-15 of it marked); cost=work, "
                        "trials=10")
    assert lines[7] == "UEP/other: the best UEP row's loss (uepx) over the best other row's; below 1: UEP wins"
    assert lines[8:] == ["  best UEP: uepx at t = 1, 2", "  best other: fast at t = 1; safe at t = 2"]
    # the columns line up: every cell is right-aligned under its header, a mark or a space last
    ends = [m.end() for m in re.finditer(r"\S+", lines[0])][1:]
    for line in lines[1:4]:
        line = line.ljust(len(lines[0]))  # the table's lines end without trailing spaces
        assert all(line[e - 1] in "* " and line[e - 2] != " " for e in ends), line


def test_wide_table_without_uep_rows_has_no_ratio_line_and_keeps_the_given_deadline_order():
    text = format_wide_table([r for r in ROWS if not r["uep"]], deadlines=[math.inf, 1.0])
    lines = text.splitlines()
    assert lines[0].split() == ["scheme", "t=inf", "t=1"]
    assert lines[2].split() == ["fast", "0*", "1.23e-2*"]
    assert len(lines) == 4 and "UEP/other" not in text
    assert format_wide_table([]) == ""


def test_wide_table_on_a_small_run_marks_its_winner():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((9, 27)), rng.standard_normal((27, 9))
    rows, _ = compare_schemes(A, B, JobSpec(partition="cxr", blocks=9, workers=18), deadlines=[1.0, math.inf],
                              trials=10, seed=1, schemes=["uncoded", "mds", "ew"])
    at1 = {r["scheme"]: r["mean_loss"] for r in rows if r["deadline"] == 1.0}
    winner = min(at1, key=at1.get)
    assert sorted(at1.values())[1] > at1[winner] + TIE  # one winner at t = 1 on this case
    lines = format_wide_table(rows).splitlines()
    cells = {line.split()[0]: line.split()[1:] for line in lines[1:4]}
    assert [name for name, c in cells.items() if c[0].endswith("*")] == [winner]
    # with every packet in, uncoded and MDS are exact (a tie, both marked); EW's random windows need not be
    assert cells["uncoded"][1] == cells["mds"][1] == "0*" and not cells["ew"][1].endswith("*")
    assert float(cells["ew"][0].rstrip("*")) == pytest.approx(at1["ew"], rel=5e-3)
    best = winners(rows)[0]
    assert best["best_uep"] == "ew" and best["best_other"] == min(("uncoded", "mds"), key=at1.get)


def test_winners_takes_the_uep_column_not_code_names():
    rows = [dict(r, code="now") for r in ROWS]  # every code called "now": only the uep column tells them apart
    best = {w["deadline"]: w for w in winners(rows)}
    assert best[1.0]["best_uep"] == "uepx" and best[1.0]["best_uep_loss"] == 0.0246
    assert best[1.0]["best_other"] == "fast" and best[1.0]["winner"] == "fast"
    assert best[2.0]["winner"] == "safe fast" and best[2.0]["runner_up"] == "uepx"
    assert "best_uep" not in winners([r for r in rows if not r["uep"]])[0]


def test_plot_series_puts_losses_below_the_exact_floor_on_it():
    rows = [row("a", t, loss) for t, loss in [(0.5, 0.3), (1.0, 2e-12), (2.0, 1e-31), (4.0, 0.0), (math.inf, 0.0)]]
    rows.append(row("b", 1.0, 1e-13))
    series = plot_series(rows)
    assert EXACT_FLOOR == 1e-12 and list(series) == ["a", "b"]
    t, y = series["a"]
    assert t.tolist() == [0.5, 1.0, 2.0, 4.0]  # the infinite deadline is not drawn
    assert y.tolist() == [0.3, 2e-12, 1e-12, 1e-12]
    assert series["b"][1].tolist() == [1e-12]
    assert plot_series(rows, floor=1e-20)["a"][1].tolist() == [0.3, 2e-12, 1e-20, 1e-20]


def test_plot_compare_draws_the_floor(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_compare(ROWS, str(tmp_path / "c.png"), "title")
    assert path == str(tmp_path / "c.png") and (tmp_path / "c.png").stat().st_size > 10_000
    assert plot_compare([row("a", math.inf, 0.0)], str(tmp_path / "none.png")) is None
