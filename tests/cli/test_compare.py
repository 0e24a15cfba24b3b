import csv
import io
import json
import math
import re

import numpy as np
import pytest

from uepmm import coded_matmul
from uepmm.cli import build_parser, main
from uepmm.codes import CODES
from uepmm.experiments import compare as compare_module
from uepmm.experiments.compare import (
    COLUMNS,
    SCHEMES,
    TIE,
    compare_schemes,
    fast_losses,
    resolve_schemes,
    scheme_spec,
    winners,
)
from uepmm.experiments.engine_curves import trial_seed
from uepmm.spec import JobSpec

DEADLINES = [0.5, 1.0, 2.0, math.inf]
EXACT_BLOCK = ("uncoded", "repetition", "speculative", "mds", "polynomial", "matdot")


def available(partition):
    return [s.name for s in SCHEMES.values() if s.code in CODES and partition in s.partitions]


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((12, 18)) * np.repeat([3.0, 1.0, 0.3], 6)  # unequal column blocks: classes matter
    B = rng.standard_normal((18, 10))
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    return str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), A, B, str(tmp_path / "out")


def run_compare(files, *extra):
    a, b, out = files[0], files[1], files[4]
    if "--out" not in extra:
        extra = (*extra, "--out", out)
    return main(["compare", "--a", a, "--b", b, "--blocks", "6", "--workers", "12", "--trials", "20",
                 "--deadline", "0.5,1,2,inf", "--no-progress", *extra])


def test_compare_writes_every_scheme_at_every_deadline(files, capsys):
    assert run_compare(files, "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    names = available("cxr")
    assert [r["scheme"] for r in rows] == [n for n in names for _ in DEADLINES]
    assert list(rows[0]) == list(COLUMNS)
    for r in rows:  # cost: work unless --cost equal
        assert float(r["mean_loss"]) >= 0.0 and r["cost"] == "work" and r["partition"] == "cxr"
        assert r["uep"] == ("1" if SCHEMES[r["scheme"]].uep else "0")
        if r["decoder"] == "zero":  # exact blocks or nothing: never more than ||C||^2 (sampling's unbiased
            assert float(r["mean_loss"]) <= 1.0  # estimate can exceed it with few packets)
        assert int(r["trials"]) == 20 and int(r["workers"]) == 12
    by = {(r["scheme"], float(r["deadline"])): r for r in rows}
    assert float(by["uncoded", math.inf]["mean_loss"]) == 0.0 and by["uncoded", math.inf]["tasks"] == "6"
    assert float(by["mds", math.inf]["mean_loss"]) == 0.0 and by["mds", 0.5]["tasks"] == "12"
    assert by["repetition", 1.0]["tasks"] == "12"  # 2 copies of 6 tasks
    assert by["now+", 1.0]["decoder"] == "lmmse" and by["now", 1.0]["decoder"] == "zero"
    for name in names:  # exact-block schemes with common seeds: more time never loses a block
        if name in EXACT_BLOCK:
            losses = [float(by[name, t]["mean_loss"]) for t in DEADLINES]
            assert all(x >= y for x, y in zip(losses, losses[1:])), (name, losses)
    # the same stragglers for uncoded and MDS: with 6 of 12 workers answered MDS decodes everything
    assert float(by["uncoded", 0.5]["mean_loss"]) > 0


def test_compare_json_table_and_csv_agree(files, capsys):
    assert run_compare(files, "--format", "json", "--schemes", "mds,ew") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 * len(DEADLINES) and rows[-1]["deadline"] == math.inf
    assert run_compare(files, "--format", "csv", "--schemes", "mds,ew") == 0
    as_csv = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    for j, c in zip(rows, as_csv):
        assert float(c["mean_loss"]) == pytest.approx(j["mean_loss"], rel=1e-12, abs=1e-300)
    assert [r["uep"] for r in rows] == [0] * len(DEADLINES) + [1] * len(DEADLINES)
    assert run_compare(files, "--schemes", "mds,ew") == 0
    table = capsys.readouterr().out.splitlines()  # schemes x deadlines, then the UEP/other line and the legend
    assert table[0].split() == ["scheme", "t=0.5", "t=1", "t=2", "t=inf"]
    for line, name in zip(table[1:3], ("mds", "ew")):
        cells = line.split()
        assert cells[0] == name
        for cell, r in zip(cells[1:], [r for r in rows if r["scheme"] == name]):
            assert float(cell.rstrip("*")) == pytest.approx(r["mean_loss"], rel=5e-3, abs=0)
            least = min(x["mean_loss"] for x in rows if x["deadline"] == r["deadline"])
            assert cell.endswith("*") == (r["mean_loss"] <= least + TIE)
    assert table[4].split()[0] == "UEP/other" and table[5].startswith("* least mean loss at that deadline")
    notes = table[9:]  # the CSV and (with matplotlib) the PNG
    assert notes and all(line.startswith("wrote ") for line in notes)


def test_compare_defaults_to_the_work_cost_and_the_paper_reproductions_to_equal(files, capsys):
    def default(*command):
        return build_parser().parse_args([*command]).cost
    assert default("compare") == "work"
    assert default("compare", "--cost", "equal") == "equal"
    assert default("simulate") == "equal"  # the paper's figures and demo have no other cost
    assert run_compare(files, "--format", "json", "--schemes", "mds", "--cost", "equal") == 0
    assert {r["cost"] for r in json.loads(capsys.readouterr().out)} == {"equal"}


def test_same_seed_same_csv_and_png(files, tmp_path, capsys):
    for out in ("one", "two"):
        assert run_compare(files, "--out", str(tmp_path / out), "--seed", "3", "--format", "csv") == 0
    assert "wrote" in capsys.readouterr().err
    one = (tmp_path / "one" / "compare.csv").read_bytes()
    assert one == (tmp_path / "two" / "compare.csv").read_bytes()
    pytest.importorskip("matplotlib")
    assert (tmp_path / "one" / "compare.png").stat().st_size > 1000
    assert run_compare(files, "--out", str(tmp_path / "other"), "--seed", "4", "--format", "csv") == 0
    assert (tmp_path / "other" / "compare.csv").read_bytes() != one


@pytest.mark.parametrize("partition", ["cxr", "rxc"])
@pytest.mark.parametrize("cost", ["equal", "work"])
def test_fast_path_equals_full_fidelity_coded_matmul(partition, cost):
    rng = np.random.default_rng(11)
    A, B = rng.standard_normal((12, 18)) * np.repeat([2.0, 1.0, 0.5], 6), rng.standard_normal((18, 12))
    base = JobSpec(partition=partition, blocks=9, workers=18, cost=cost)  # matdot: W >= 2K - 1
    base = base.with_(omega=base.omega_value)
    C = A @ B
    deadlines = [0.6, 1.5, math.inf]
    for name in available(partition):
        spec = scheme_spec(SCHEMES[name], base)
        losses, _ = fast_losses(A, B, spec, deadlines, 2, seed=9)
        for j in range(2):
            for i, t in enumerate(deadlines):
                result = coded_matmul(A, B, spec, deadline=t, seed=trial_seed(9, j), fidelity="full")
                assert losses[j, i] == pytest.approx(result.normalized_loss(C), abs=1e-12), (name, j, t)


def test_fast_path_matdot_waits_like_the_decoder_at_30_workers():
    """M = 9, W = 30: some first-17 systems are declined (MAX_CONDITION); fast path = full decoder."""
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((10, 27)), rng.standard_normal((27, 10))
    spec = scheme_spec(SCHEMES["matdot"], JobSpec(partition="cxr", blocks=9, workers=30))
    deadlines = np.linspace(0.3, 3.0, 10)
    losses, _ = fast_losses(A, B, spec, deadlines, 12, seed=3)
    waited = 0
    for j in range(12):
        result = coded_matmul(A, B, spec, deadline=math.inf, seed=trial_seed(3, j), fidelity="full")
        done = result.timeline[-1].time  # the packet after which the decoder returned C
        waited += result.received > 17
        for i, t in enumerate(deadlines):
            assert losses[j, i] == pytest.approx(0.0 if t >= done else 1.0, abs=1e-12), (j, t)
    assert waited >= 1  # a trial where counting 2M - 1 packets would have been wrong


def test_library_rows_and_winners():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((9, 27)), rng.standard_normal((27, 9))
    rows, notes = compare_schemes(A, B, JobSpec(partition="cxr", blocks=9, workers=18), deadlines=[1.0, math.inf],
                                  trials=10, seed=1, schemes=["uncoded", "mds"])
    assert notes == [] and [(r["scheme"], r["deadline"]) for r in rows] == [
        ("uncoded", 1.0), ("uncoded", math.inf), ("mds", 1.0), ("mds", math.inf)]
    best = winners(rows)
    assert best[1]["winner"] == "uncoded mds" and best[1]["winner_loss"] == 0.0
    at1 = {r["scheme"]: r["mean_loss"] for r in rows if r["deadline"] == 1.0}
    assert best[0]["winner"] == min(at1, key=at1.get) and best[0]["runner_up_loss"] == max(at1.values())


def test_omega_is_the_full_workers_for_every_scheme():
    base = JobSpec(partition="cxr", blocks=9, workers=30)
    base = base.with_(omega=base.omega_value)
    spec = scheme_spec(SCHEMES["uncoded"], base)
    assert spec.workers == 9 and spec.omega_value == pytest.approx(9 / 30)
    assert scheme_spec(SCHEMES["repetition"], base).workers == 27  # 3 copies of 9 tasks, 3 idle
    assert scheme_spec(SCHEMES["speculative-k"], base).workers == 9  # the rule: K workers only
    for name in available("cxr"):  # every other scheme uses all W workers (speculative: K tasks + 21 spares)
        if name not in ("uncoded", "repetition", "speculative-k"):
            assert scheme_spec(SCHEMES[name], base).workers == 30, name


def test_all_skips_what_does_not_fit_with_a_note(files, capsys):
    assert run_compare(files, "--partition", "rxc", "--blocks", "2,3", "--schemes", "mds") == 0
    _, notes = resolve_schemes(None, "cxr")
    assert ("skipped scheme 'polynomial' does not fit partition 'cxr' (it serves rxc): polynomial codes: any K "
            "packets give C; use 'matdot' for --partition cxr") in notes
    capsys.readouterr()
    assert run_compare(files, "--format", "csv") == 0
    captured = capsys.readouterr()
    assert "note: skipped scheme 'polynomial' does not fit partition 'cxr'" in captured.err
    assert "polynomial" not in captured.out


@pytest.mark.parametrize("argv, message", [
    (["--schemes", "polynomial"],
     "scheme 'polynomial' does not fit partition 'cxr' (it serves rxc): polynomial codes: any K packets give C; "
     "use 'matdot' for --partition cxr, or --partition rxc"),
    (["--schemes", "mds,fancy"],
     "schemes: unknown scheme(s) 'fancy'; valid values are " + ", ".join(SCHEMES)),
    (["--workers", "4", "--schemes", "uncoded"],
     "scheme 'uncoded' needs at least K = 6 workers, got workers=4; use --workers 6 or more"),
    (["--deadline", "-1", "--schemes", "mds"], "deadlines must be numbers >= 0 (inf allowed), at least one; "
                                               "got [-1.0]"),
    (["--matrices", "gaussian"],
     "give either --a/--b (your matrices) or --matrices (a named workload), not both"),
])
def test_bad_options_are_clear_errors(files, capsys, argv, message):
    assert run_compare(files, *argv) == 2
    assert capsys.readouterr().err.strip() == f"uepmm compare: error: {message}"


def test_bad_files_are_clear_errors(files, tmp_path, capsys):
    missing = str(tmp_path / "missing.npy")
    assert main(["compare", "--a", missing, "--b", files[1], "--no-progress", "--out", files[4]]) == 2
    assert capsys.readouterr().err.strip() == (
        f"uepmm compare: error: --a: file {missing!r} does not exist; give the path of a .npy file")
    assert main(["compare", "--a", files[0], "--no-progress", "--out", files[4]]) == 2
    assert capsys.readouterr().err.strip() == "uepmm compare: error: --a and --b go together: give both files " \
                                              "(missing --b)"
    np.save(tmp_path / "wrong.npy", np.ones((7, 3)))
    assert main(["compare", "--a", files[0], "--b", str(tmp_path / "wrong.npy"), "--no-progress", "--out",
                 files[4]]) == 2
    assert capsys.readouterr().err.strip() == (
        "uepmm compare: error: --a has shape (12, 18) and --b has shape (7, 3): --a's 18 columns must equal "
        "--b's 7 rows for A @ B; check the files (or transpose one of them)")


def test_a_scheme_without_its_code_is_named(monkeypatch, files, capsys):
    monkeypatch.setattr(compare_module, "CODES", tuple(c for c in CODES if c != "ew"))
    assert run_compare(files, "--schemes", "mds,ew") == 2
    assert re.fullmatch(
        r"uepmm compare: error: scheme 'ew' needs code 'ew', which this uepmm does not have \(codes: .*\); "
        r"drop it from --schemes", capsys.readouterr().err.strip())
    assert run_compare(files, "--format", "json") == 0
    captured = capsys.readouterr()
    assert "note: skipped scheme 'ew' needs code 'ew'" in captured.err
    assert {r["scheme"] for r in json.loads(captured.out)} == set(available("cxr")) - {"ew", "ew+", "ew+adaptive"}


def test_sparse_mtx_input(tmp_path, capsys):
    scipy_io = pytest.importorskip("scipy.io")
    import scipy.sparse

    A = scipy.sparse.random(12, 18, density=0.4, random_state=3, format="coo")
    scipy_io.mmwrite(tmp_path / "a.mtx", A)
    np.save(tmp_path / "b.npy", np.random.default_rng(0).standard_normal((18, 8)))
    assert main(["compare", "--a", str(tmp_path / "a.mtx"), "--b", str(tmp_path / "b.npy"), "--blocks", "6",
                 "--workers", "12", "--trials", "5", "--deadline", "1,inf", "--schemes", "uncoded,mds,ew+",
                 "--format", "json", "--no-progress", "--out", str(tmp_path / "out")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["mean_loss"] for r in rows if r["deadline"] == math.inf][:2] == [0.0, 0.0]


def test_simulate_takes_a_and_b(files, capsys):
    assert main(["simulate", "--a", files[0], "--b", files[1], "--code", "mds", "--blocks", "6", "--workers", "8",
                 "--deadline", "inf", "--trials", "2", "--format", "json", "--no-progress"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["mean_loss"] == pytest.approx(0.0, abs=1e-20) and rows[0]["mean_recovered"] == 6


def test_compare_on_dask_matches_the_fast_path(files, capsys):
    pytest.importorskip("distributed")
    common = ["--schemes", "uncoded,mds,ew+", "--trials", "2", "--format", "json"]
    a, b = files[0], files[1]
    argv = ["compare", "--a", a, "--b", b, "--blocks", "6", "--workers", "12", "--deadline", "0,1000",
            "--no-progress", "--out", files[4], *common]
    assert main(argv) == 0
    simulated = json.loads(capsys.readouterr().out)
    assert main(argv + ["--backend", "dask", "--time-unit", "0.001", "--dask-workers", "1"]) == 0
    on_dask = json.loads(capsys.readouterr().out)
    for s, d in zip(simulated, on_dask):
        assert (s["scheme"], s["deadline"]) == (d["scheme"], d["deadline"])
        assert d["mean_loss"] == pytest.approx(s["mean_loss"], abs=1e-10)
