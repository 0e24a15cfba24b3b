"""``uepmm train`` and ``uepmm analyze`` on tiny generated data."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from uepmm.cli import analyze as analyze_cli  # noqa: E402
from uepmm.cli import train as train_cli  # noqa: E402
from uepmm.nn import datasets  # noqa: E402
from uepmm.nn.training import CSV_COLUMNS  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uepmm")
    subparsers = parser.add_subparsers(dest="command")
    train_cli.register(subparsers)
    analyze_cli.register(subparsers)
    return parser


def _cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    """A tiny MNIST-format directory: 384 training and 128 test 28x28 images of 10 blobs."""
    directory = tmp_path_factory.mktemp("mnist_idx")
    rng = np.random.default_rng(0)
    centers = rng.uniform(0, 255, (10, 28, 28))
    for prefix, n in (("train", 384), ("t10k", 128)):
        labels = rng.integers(0, 10, n)
        images = np.clip(centers[labels] + rng.normal(0, 60, (n, 28, 28)), 0, 255).astype(np.uint8)
        datasets.write_idx(directory / f"{prefix}-images-idx3-ubyte", images)
        datasets.write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels.astype(np.uint8))
    return directory


def test_train_mnist_writes_csvs_and_skips_complete_runs(idx_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    argv = ["train", "mnist", "--scheme", "centralized", "ew", "--partition", "rxc", "cxr", "--deadline", "1",
            "--epochs", "1", "--seed", "3", "--data-dir", str(idx_dir), "--eval-every", "2", "--limit-train", "320",
            "--out", str(out), "--no-progress", "--track-loss"]
    assert _cli(argv) == 0
    captured = capsys.readouterr()
    assert "Data: MNIST, 384 training / 128 test images" in captured.err
    names = sorted(p.name for p in out.glob("*.csv"))
    assert names == ["mnist_centralized_s3.csv", "mnist_ew_cxr_T1_s3.csv", "mnist_ew_rxc_T1_s3.csv"]
    for name in names:
        with (out / name).open() as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0]) == CSV_COLUMNS
        assert [int(r["iteration"]) for r in rows] == [0, 2, 4, 5]  # 320 // 64 = 5 steps
        assert all(0.0 <= float(r["test_accuracy"]) <= 1.0 for r in rows)
        assert all(float(r["test_loss"]) > 0 for r in rows)
        assert {r["seed"] for r in rows} == {"3"}
    ew = list(csv.DictReader((out / "mnist_ew_cxr_T1_s3.csv").open()))
    assert ew[1]["scheme"] == "ew" and ew[1]["partition"] == "cxr" and float(ew[1]["deadline"]) == 1.0
    assert 0.0 <= float(ew[1]["coded_loss"]) <= 1.0
    assert _cli(argv) == 0  # complete runs are skipped
    assert capsys.readouterr().err.count("skipped") == 3


def test_same_command_gives_identical_csvs_for_a_fixed_thread_count(idx_dir, tmp_path, capsys):
    """--jobs 2 (one torch thread per process) and --jobs 1 --threads 1 give the same files, byte for byte;
    the thread count is printed and recorded in each run's JSON summary."""
    common = ["train", "mnist", "--scheme", "now", "uncoded", "--partition", "cxr", "--deadline", "0.5",
              "--epochs", "2", "--seed", "1", "--data-dir", str(idx_dir), "--eval-every", "2", "--limit-train", "256",
              "--no-progress"]
    assert _cli([*common, "--jobs", "2", "--out", str(tmp_path / "a")]) == 0
    assert "1 torch thread(s) each" in capsys.readouterr().err
    assert _cli([*common, "--jobs", "1", "--threads", "1", "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "1 torch thread(s) each" in err and "(1 torch thread)" in err
    names = sorted(p.name for p in (tmp_path / "a").glob("*.csv"))
    assert names == ["mnist_now_cxr_T0.5_s1.csv", "mnist_uncoded_cxr_T0.5_s1.csv"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        summary = json.loads((tmp_path / "a" / name).with_suffix(".json").read_text())
        assert summary["torch_threads"] == 1 and summary["seconds"] >= 0


def test_train_expands_paper_values(idx_dir, tmp_path):
    args = _parser().parse_args(["train", "mnist", "--scheme", "all", "--partition", "both", "--deadline", "paper",
                                 "--out", str(tmp_path)])
    specs = train_cli.specs_from_args(args)
    assert len(specs) == 1 + 4 * 2 * 4  # centralized once, 4 coded schemes x 2 partitions x 4 deadlines
    assert {s.deadline for s in specs if s.scheme != "centralized"} == {0.25, 0.5, 1.0, 2.0}
    assert all(s.epochs == 3 and s.lr == 0.01 and s.batch_size == 64 for s in specs)


def test_train_cifar10_requires_data_dir(tmp_path):
    with pytest.raises(ValueError, match="--data-dir"):
        _cli(["train", "cifar10", "--scheme", "ew", "--out", str(tmp_path)])


def test_analyze_gradients(idx_dir, tmp_path, capsys):
    argv = ["analyze", "gradients", "mnist", "--iteration", "4", "--data-dir", str(idx_dir), "--out", str(tmp_path)]
    assert _cli(argv) == 0
    rows = list(csv.DictReader((tmp_path / "table2.csv").open()))
    assert [r["layer"] for r in rows] == ["1", "2", "3"]
    assert all(0.0 <= float(r[k]) <= 1.0 for r in rows for k in ("gradients", "weights", "inputs"))
    fits = list(csv.DictReader((tmp_path / "fig5.csv").open()))
    expected = {("gradient", "1"), ("weight", "3"), ("input", "2"), ("input", "3")}
    assert {(f["kind"], f["layer"]) for f in fits} >= expected
    assert (tmp_path / "fig5.png").stat().st_size > 10_000
    # the default --format table: Table II as aligned columns, then the files written
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["layer", "gradients", "weights", "inputs", "input_is_relu_output", "iteration"]
    assert [line.split()[0] for line in table[1:4]] == ["1", "2", "3"]
    assert [float(line.split()[1]) for line in table[1:4]] == pytest.approx([float(r["gradients"]) for r in rows],
                                                                            rel=1e-3, abs=1e-4)
    assert table[4:] == [str(tmp_path / name) for name in ("table2.csv", "fig5.csv", "fig5.png")]
    # csv: the file itself on stdout, the paths on stderr; json: the same rows as numbers
    assert _cli([*argv, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == (tmp_path / "table2.csv").read_text().strip()
    assert str(tmp_path / "fig5.png") in captured.err
    assert _cli([*argv, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in printed] == [1, 2, 3]
    assert [r["gradients"] for r in printed] == [float(r["gradients"]) for r in rows]


def test_full_command_line(idx_dir, tmp_path, capsys):
    from uepmm.cli import main

    assert main(["train", "mnist", "--epochs", "1", "--limit-train", "128", "--data-dir", str(idx_dir),
                 "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "mnist_centralized_s0.csv").exists()
    assert "[#" not in capsys.readouterr().err  # --no-progress: no bar


def test_train_progress_flag(tmp_path):
    def parse(*extra):
        return _parser().parse_args(["train", "mnist", "--out", str(tmp_path), *extra])

    assert parse().progress is True and parse("--no-progress").progress is False
    assert parse("--no-progress", "--progress").progress is True
    with pytest.raises(SystemExit):  # --out is required: runs must not land anywhere by accident
        _parser().parse_args(["train", "mnist"])


def test_train_cost_flag(idx_dir, tmp_path, capsys):
    """--cost work reaches every coded run (its name, JSON settings and the layers' CodingConfig); the
    default is the paper's 'equal', whose names and settings are those of runs made before the flag."""
    args = _parser().parse_args(["train", "mnist", "--scheme", "centralized", "ew", "--partition", "both",
                                 "--out", str(tmp_path)])
    assert {s.cost for s in train_cli.specs_from_args(args)} == {"-", "equal"}
    common = ["train", "mnist", "--scheme", "centralized", "now", "--partition", "cxr", "--deadline", "1",
              "--epochs", "1", "--seed", "0", "--data-dir", str(idx_dir), "--eval-every", "2", "--limit-train", "192",
              "--no-progress", "--threads", "1"]
    assert _cli([*common, "--cost", "work", "--out", str(tmp_path / "w")]) == 0
    assert _cli([*common, "--out", str(tmp_path / "e")]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "w").glob("*.csv")) == ["mnist_centralized_s0.csv",
                                                                      "mnist_now_cxr_T1_cwork_s0.csv"]
    assert sorted(p.name for p in (tmp_path / "e").glob("*.csv")) == ["mnist_centralized_s0.csv",
                                                                      "mnist_now_cxr_T1_s0.csv"]
    work = json.loads((tmp_path / "w" / "mnist_now_cxr_T1_cwork_s0.json").read_text())["settings"]
    equal = json.loads((tmp_path / "e" / "mnist_now_cxr_T1_s0.json").read_text())["settings"]
    assert work.pop("cost") == "work" and "cost" not in equal and work == equal
    with pytest.raises(SystemExit):
        _parser().parse_args(["train", "mnist", "--cost", "flops"])


def test_train_adaptive_schemes(idx_dir, tmp_path, capsys):
    """Adaptive packets (JobSpec.adaptive) in training: the named '+adaptive' schemes run from the command line."""
    common = ["train", "mnist", "--partition", "rxc", "--deadline", "2", "--cost", "work", "--epochs", "1",
              "--seed", "0", "--data-dir", str(idx_dir), "--eval-every", "2", "--limit-train", "128", "--no-progress",
              "--threads", "1", "--out", str(tmp_path)]
    assert _cli(["train", "mnist", "--scheme", "ew-rect+adaptive", "now-singletons+adaptive", *common[2:]]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert names == ["mnist_ew-rect+adaptive_rxc_T2_cwork_s0.csv", "mnist_now-singletons+adaptive_rxc_T2_cwork_s0.csv"]
    for name in names:
        with open(tmp_path / name, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert {row["scheme"] for row in rows} == {name.split("_")[1]}
        assert any(float(row["recovered"]) > 0 for row in rows[1:])  # coded products recovered blocks
    with pytest.raises(ValueError, match="scheme 'ew-rect\\+adaptive' does not fit partition 'cxr'"):
        _cli(["train", "mnist", "--scheme", "ew-rect+adaptive", *common[2:4], "cxr", *common[5:]])
