import csv
import json

import pytest

from uepmm.cli import build_parser, main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "simulate", "theory"):
        assert command in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: uepmm" in capsys.readouterr().out


def test_simulate_json_fast_matches_theory_shape(capsys):
    code = main([
        "simulate", "--code", "mds", "--partition", "rxc", "--workers", "12", "--matrices", "gaussian",
        "--rows", "12", "--inner", "6", "--cols", "12", "--deadline", "0,100", "--trials", "5",
        "--format", "json", "--fidelity", "fast",
    ])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["deadline"] for r in rows] == [0.0, 100.0]
    assert rows[0]["mean_loss"] == 1.0 and rows[0]["mean_received"] == 0
    assert rows[1]["mean_loss"] < 1e-20 and rows[1]["mean_recovered"] == 9 and rows[1]["mean_received"] == 12


def test_simulate_csv_every_latency(capsys, tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("0.1\n0.2\n5\n")
    for extra in (["--latency", "pareto", "--shape", "3"], ["--latency", "weibull"],
                  ["--latency", "shifted-exponential", "--shift", "0.1"], ["--latency", "trace", "--trace-file", str(trace)],
                  ["--latency", "none"]):
        assert main(["simulate", "--matrices", "gaussian", "--rows", "9", "--inner", "9", "--cols", "9",
                     "--trials", "2", "--format", "csv", "--deadline", "1"] + extra) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[0] == "code,partition,deadline,mean_loss,stderr,mean_received,mean_recovered,trials"
        assert len(lines) == 2


def test_simulate_bad_input_is_a_clear_error(capsys):
    assert main(["simulate", "--code", "uncoded", "--workers", "5", "--trials", "1", "--size-scale", "0.05"]) == 2
    assert "code 'uncoded' needs workers == number of sub-products K = 9" in capsys.readouterr().err
    assert main(["simulate", "--latency", "trace", "--trials", "1"]) == 2
    assert "--trace-file" in capsys.readouterr().err


def test_demo_writes_csv_and_png(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--trials", "2", "--size-scale", "0.05", "--out", str(out), "--no-progress",
                 "--deadlines", "0.5,100"]) == 0
    printed = capsys.readouterr().out
    assert "uncoded_rxc" in printed and "ew_cxr" in printed
    rows = list(csv.DictReader(open(out / "demo.csv")))
    assert len(rows) == 2 * 4 * 61  # partitions x codes x (0.1-step grid to 6, plus 100)
    for row in rows:
        if float(row["deadline"]) == 100.0:
            assert float(row["mean_loss"]) < 1e-12  # everyone has answered by t = 100
    assert (out / "demo.png").stat().st_size > 1000
    assert (out / "demo.png").read_bytes()[:4] == b"\x89PNG"


def test_parser_builds():
    assert build_parser().prog == "uepmm"


def test_simulate_dask_options_need_dask_backend(capsys):
    assert main(["simulate", "--time-unit", "0.1", "--trials", "1", "--size-scale", "0.05"]) == 2
    assert "--time-unit only apply with --backend dask" in capsys.readouterr().err


def test_simulate_on_dask_matches_simulated_backend(capsys):
    pytest.importorskip("distributed")
    common = ["simulate", "--code", "mds", "--workers", "12", "--matrices", "gaussian", "--rows", "12",
              "--inner", "9", "--cols", "12", "--deadline", "0,1000", "--trials", "2", "--format", "json"]
    assert main(common) == 0
    simulated = json.loads(capsys.readouterr().out)
    assert main(common + ["--backend", "dask", "--time-unit", "0.001", "--dask-workers", "1"]) == 0
    dask_rows = json.loads(capsys.readouterr().out)
    for a, b in zip(simulated, dask_rows):
        assert a["deadline"] == b["deadline"] and a["mean_recovered"] == b["mean_recovered"]
        assert a["mean_loss"] == pytest.approx(b["mean_loss"], abs=1e-12)


def test_unreachable_cluster_is_a_clear_error(capsys):
    pytest.importorskip("distributed")
    code = main(["simulate", "--backend", "dask", "--address", "tcp://127.0.0.1:9", "--connect-timeout", "2",
                 "--trials", "1", "--size-scale", "0.05"])
    assert code == 2
    err = capsys.readouterr().err
    assert "127.0.0.1:9" in err


def test_commands_of_missing_extras_say_what_to_install(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real_import(name, *args, **kwargs)

    import sys

    for mod in [m for m in sys.modules if m.startswith("uepmm.cli.") or m.startswith("uepmm.nn.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert main(["train", "mnist", "--out", "x"]) == 2
    assert 'this command needs torch, which is not installed; pip install "uepmm[torch]"' in capsys.readouterr().err
    assert main(["theory", "decoding", "--code", "mds", "--k", "2", "--max-packets", "2", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "packets,class_1"
