"""``uepmm recommend``: the ranking of scheme="auto" on your matrices, with compare's measured loss beside it."""

import csv
import io
import json

import numpy as np
import pytest

from uepmm.cli import main
from uepmm.experiments.compare import fast_losses
from uepmm.recommend import rank_schemes


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(11)
    A = rng.standard_normal((12, 18)) * np.repeat([6.0, 1.0, 1.0, 0.5, 0.3, 0.3], 3)  # unequal inner blocks
    B = rng.standard_normal((18, 10))
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    return str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), A, B


def run(files, *extra):
    return main(["recommend", "--a", files[0], "--b", files[1], "--blocks", "6", "--workers", "12",
                 "--trials", "8", *extra])


def test_csv_ranking_is_rank_schemes_with_compare_beside_it(files, capsys):
    assert run(files, "--deadline", "0.5,2", "--check", "5", "--seed", "3", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    for t in (0.5, 2.0):
        mine = [r for r in rows if float(r["deadline"]) == t]
        choice = rank_schemes(files[2], files[3], partition="cxr", blocks=6, workers=12, deadline=t, trials=8,
                              cost="work")  # the CLI's default cost
        assert [r["scheme"] for r in mine] == [p.scheme.name for p in choice.ranking]
        assert [int(r["rank"]) for r in mine] == list(range(1, len(mine) + 1))
        predicted = [float(r["predicted_loss"]) for r in mine]
        assert predicted == pytest.approx([p.loss for p in choice.ranking], rel=1e-12, abs=0)
        for r, p in zip(mine, choice.ranking):
            measured = fast_losses(files[2], files[3], p.spec, [t], 5, 3)[0].mean()
            assert float(r["measured_loss"]) == pytest.approx(measured, rel=1e-12, abs=1e-15)


def test_prior_option_is_rank_schemes_prior(files, capsys):
    assert run(files, "--deadline", "1", "--prior", "diagonal", "--schemes", "mds,ew+,speculative",
               "--format", "json") == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    choice = rank_schemes(files[2], files[3], partition="cxr", blocks=6, workers=12, deadline=1.0, trials=8,
                          cost="work", prior="diagonal", schemes=["mds", "ew+", "speculative"])
    assert [r["scheme"] for r in rows] == [p.scheme.name for p in choice.ranking]
    assert [r["draws"] for r in rows] == [p.draws for p in choice.ranking]
    assert "prior diagonal" in captured.err


def test_json_without_check_has_no_measured_column(files, capsys):
    assert run(files, "--deadline", "1", "--cost", "equal", "--schemes", "mds,ew+,uncoded", "--format", "json") == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert sorted(r["scheme"] for r in rows) == ["ew+", "mds", "uncoded"]
    assert all("measured_loss" not in r for r in rows)
    assert "chose " + rows[0]["scheme"] in captured.err  # notes go to stderr for csv/json


@pytest.mark.parametrize("argv, message", [
    (["--deadline", "0"], "scheme='auto' needs a deadline > 0"),
    (["--workers", "1"], "give workers >= 2"),
    (["--schemes", "mds,fancy"], "unknown scheme 'fancy'"),
    (["--check", "-1"], "--check must be >= 0 trials"),
])
def test_bad_options_are_clear_errors(files, capsys, argv, message):
    assert run(files, *argv) == 2
    assert message in capsys.readouterr().err
