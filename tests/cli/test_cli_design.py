"""Tests of ``uepmm design`` (src/uepmm/cli/design.py)."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from uepmm.cli import main
from uepmm.design import design_gamma
from uepmm.latency import Exponential

SEC6 = [
    "--k", "3,3,3", "--class-energy", "40,1,0.07", "--workers", "30",
    "--rate", "1", "--omega", "1", "--deadline", "0.5",
]


def test_csv_is_one_row_with_the_documented_columns(capsys):
    assert main(["design", "--code", "now", *SEC6, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["gamma_1", "gamma_2", "gamma_3", "expected_loss", "table3_loss", "mds_loss"]
    assert len(rows) == 2
    values = [float(v) for v in rows[1]]
    library = design_gamma("now", (3, 3, 3), (40, 1, 0.07), 30, Exponential(1.0), 0.5, omega=1.0)
    assert values[:3] == pytest.approx(library.gamma, abs=1e-9)
    assert sum(values[:3]) == pytest.approx(1.0, abs=1e-9)
    assert values[3] == pytest.approx(library.expected_loss, rel=1e-9)
    assert values[4] == pytest.approx(0.1301214912, rel=1e-9)
    assert values[5] == pytest.approx(library.mds_loss, rel=1e-9)


def test_csv_table3_is_nan_unless_three_classes(capsys):
    args = ["design", "--code", "ew", "--k", "2,2", "--class-energy", "4,1", "--workers", "8", "--deadline", "1",
            "--format", "csv"]
    assert main(args) == 0
    header, row = capsys.readouterr().out.strip().splitlines()
    assert header == "gamma_1,gamma_2,expected_loss,table3_loss,mds_loss"
    assert math.isnan(float(row.split(",")[3]))


def test_json_keys_and_values(capsys):
    assert main(["design", "--code", "ew", *SEC6[:-1], "0.5,1", "--deadline-weights", "3,1", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {
        "code", "gamma", "expected_loss", "table3_loss", "mds_loss", "objective", "mds_objective", "decoder",
        "partition", "deadlines", "weights", "k", "class_energy", "workers", "rate", "omega", "trials", "seed",
        "cost", "work",
    }
    assert payload["cost"] == "equal" and payload["work"] is None
    assert payload["code"] == "ew" and payload["objective"] == "theorem1" and payload["decoder"] == "zero"
    assert payload["deadlines"] == [0.5, 1.0] and payload["weights"] == [0.75, 0.25]
    assert len(payload["gamma"]) == 3 and payload["expected_loss"] <= payload["table3_loss"]


def test_json_without_table3_uses_null(capsys):
    argv = ["design", "--code", "now", "--k", "2,2", "--class-energy", "4,1", "--deadline", "1", "--format", "json"]
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["table3_loss"] is None
    assert payload["omega"] == pytest.approx(4 / 30)  # default Ω = K / W


def test_lmmse_and_cxr_options_reach_the_library(capsys):
    assert main(["design", "--code", "now", *SEC6, "--decoder", "lmmse", "--partition", "cxr", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["objective"] == "lmmse-exact" and payload["mds_objective"] == "monte-carlo-lmmse"
    assert payload["partition"] == "cxr"


def test_table_format(capsys):
    assert main(["design", "--code", "now", *SEC6]) == 0
    out = capsys.readouterr().out
    assert "gamma         (0.7044, 0.2956, 0.0000)" in out
    assert "Table III     0.130121" in out and "theorem1" in out


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--class-energy", "40,1"], "class_energy has 2 entries but k has 3 classes"),
        (["--class-energy", "40,0,1"], "class_energy entries must be finite and > 0"),
        (["--deadline", "-1"], "deadline must be finite and > 0"),
        (["--deadline", "0.5,1", "--deadline-weights", "1"], "weights has 1 entries but there are 2 deadlines"),
        (["--workers", "0"], "workers must be >= 1"),
        (["--rate", "0"], "rate must be > 0"),
        (["--trials", "0", "--decoder", "lmmse"], "trials must be >= 1"),
    ],
)
def test_bad_input_exits_2_with_a_message(capsys, extra, words):
    assert main(["design", "--code", "ew", *SEC6, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uepmm design: error: ")
    assert words in err


def test_argparse_rejects_unknown_choices(capsys):
    with pytest.raises(SystemExit) as info:
        main(["design", "--code", "mds", *SEC6])
    assert info.value.code == 2
    assert "invalid choice: 'mds'" in capsys.readouterr().err


def test_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "design" in capsys.readouterr().out


def test_windows_prints_the_chosen_structure_and_the_default(capsys):
    args = ["design", "--code", "ew", "--windows", "rectangles", "--grid", "2,2", "--energies", "100,100,1,1",
            "--encoding", "factor", "--cost", "work", "--workers", "8", "--omega", "0.5", "--deadline", "0.7",
            "--format", "json"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    import numpy as np

    from uepmm import JobSpec
    from uepmm.design.windows import describe, design_windows

    spec = JobSpec(code="ew", partition="rxc", blocks=(2, 2), workers=8, omega=0.5, deadline=0.7, cost="work",
                   encoding="factor", classes="rectangles-auto", gamma="auto", decoder="zero")
    energies = np.array([100.0, 100, 1, 1])
    library = design_windows(spec, np.sqrt(energies), energies)
    assert payload["chosen"]["structure"] == describe(library.rule)
    assert payload["chosen"]["gamma"] == pytest.approx(library.code.gamma, abs=1e-12)
    assert payload["chosen"]["expected_loss"] == pytest.approx(library.expected_loss, rel=1e-12)
    assert payload["default"]["structure"] == "1x1, 2x2"
    assert payload["chosen"]["expected_loss"] <= payload["default"]["expected_loss"]
    assert payload["candidates"] == 6  # every chain of the 2 x 2 grid


@pytest.mark.parametrize("extra, message", [
    (["--class-energy", "1"], "--windows needs --energies"),
    (["--energies", "1,1,1,1"], "--grid N,P"),
    (["--energies", "1,1,1", "--grid", "2,2"], "3 entries but --grid 2,2 has 4"),
    (["--energies", "1,0,1,1", "--grid", "2,2"], "finite and > 0"),
])
def test_windows_bad_input(capsys, extra, message):
    assert main(["design", "--code", "ew", "--windows", "rectangles", "--deadline", "1", *extra]) != 0
    assert message in capsys.readouterr().err


def test_class_energy_is_required_without_windows(capsys):
    assert main(["design", "--code", "now", "--deadline", "1"]) != 0
    assert "--class-energy is required" in capsys.readouterr().err
