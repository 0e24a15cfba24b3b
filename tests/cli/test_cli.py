import argparse
import csv
import json
import re

import pytest

from uepmm.cli import _common, build_parser, main


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
                  ["--latency", "shifted-exponential", "--shift", "0.1"],
                  ["--latency", "trace", "--trace-file", str(trace)], ["--latency", "none"]):
        assert main(["simulate", "--matrices", "gaussian", "--rows", "9", "--inner", "9", "--cols", "9",
                     "--trials", "2", "--format", "csv", "--deadline", "1"] + extra) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[0] == "code,partition,deadline,mean_loss,stderr,mean_received,mean_recovered,trials"
        assert len(lines) == 2


def test_simulate_one_product_windows(capsys):
    common = ["simulate", "--matrices", "sec6", "--workers", "30", "--cost", "work", "--deadline", "1,1000",
              "--trials", "3", "--format", "json", "--fidelity", "fast", "--size-scale", "0.2"]
    assert main(common + ["--code", "ew", "--partition", "rxc", "--blocks", "3,3", "--classes", "rectangles",
                          "--encoding", "factor", "--gamma", "auto"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[1]["mean_loss"] < 1e-20 and rows[1]["mean_recovered"] == 9  # every window by the late deadline
    assert main(common + ["--code", "ew-matdot", "--classes", "singletons", "--gamma", "auto"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert 0 < rows[0]["mean_loss"] < 1
    assert main(common + ["--code", "ew", "--classes", "rectangles"]) == 2
    assert "classes='rectangles' is for partition 'rxc'" in capsys.readouterr().err


def test_simulate_bad_input_is_a_clear_error(capsys):
    assert main(["simulate", "--code", "uncoded", "--workers", "5", "--trials", "1", "--size-scale", "0.05"]) == 2
    assert "code 'uncoded' needs workers == number of sub-products K = 9" in capsys.readouterr().err
    assert main(["simulate", "--latency", "trace", "--trials", "1"]) == 2
    assert "--trace-file" in capsys.readouterr().err


def test_demo_writes_csv_and_png(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--trials", "2", "--size-scale", "0.05", "--out", str(out), "--no-progress",
                 "--deadlines", "0.5,100", "--format", "json"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)  # with --format json stdout is only the data
    assert [row["deadline"] for row in printed] == [0.5, 100.0]
    schemes = {f"{code}_{p}" for code in ("uncoded", "mds", "now", "ew") for p in ("rxc", "cxr")}
    assert set(printed[0]) == {"deadline"} | schemes
    assert printed[1]["ew_cxr"] < 1e-12
    assert f"wrote {out / 'demo.csv'}" in captured.err and "[#" not in captured.err  # the note; no progress bar
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


# ------------------------------------------------- the shared flags, command by command
# Each leaf command: the arguments it needs to parse, and which shared flags it has.
LEAVES = {
    ("design",): (["--code", "now", "--k", "3,3,3", "--class-energy", "40,1,0.07", "--deadline", "0.5"],
                  {"--format", "--seed"}),
    ("figure",): (["fig8"], {"--progress", "--seed", "--out"}),
    ("demo",): ([], {"--progress", "--format", "--seed", "--out"}),
    ("simulate",): ([], {"--progress", "--format", "--seed"}),
    ("compare",): ([], {"--progress", "--format", "--seed", "--out"}),
    ("recommend",): ([], {"--format", "--seed"}),
    ("theory", "decoding"): (["--code", "mds"], {"--format"}),
    ("cluster-demo",): ([], {"--progress", "--format", "--seed"}),
    ("train", "mnist"): (["--out", "runs"], {"--progress", "--seed", "--out"}),
    ("train", "cifar10"): (["--out", "runs"], {"--progress", "--seed", "--out"}),
    ("analyze", "gradients"): (["mnist"], {"--format", "--seed", "--out"}),
}
SHARED = ("--progress", "--format", "--seed", "--out")
FORMAT_DEFAULT: dict[tuple[str, ...], str] = {}
NOT_YET_SHARED: set[tuple[str, ...]] = set()


def _subparsers(parser):
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _leaves(parser, path=()):
    """Every (path, parser) of a command without sub-commands."""
    sub = _subparsers(parser)
    if sub is None:
        yield path, parser
        return
    for name, child in sub.choices.items():
        yield from _leaves(child, (*path, name))


def _leaf(path):
    parser = build_parser()
    for name in path:
        parser = _subparsers(parser).choices[name]
    if path[0] in ("train", "analyze") and not any("--out" in a.option_strings for a in parser._actions):
        pytest.skip(f"uepmm {path[0]} is unavailable here (needs torch)")
    return parser


def _flag(parser, flag):
    return next((a for a in parser._actions if flag in a.option_strings), None)


def _signature(action):
    """What makes two definitions of a flag the same."""
    return (type(action).__name__, tuple(action.option_strings), action.dest, action.type, action.nargs,
            action.choices and tuple(action.choices), action.default, action.required, action.metavar, action.help)


def _reference(flag, **kwargs):
    parser = argparse.ArgumentParser()
    {"--progress": _common.add_progress_argument, "--format": _common.add_format_argument,
     "--seed": _common.add_seed_argument}[flag](parser, **kwargs)
    return _flag(parser, flag)


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_shared_flags_have_one_definition(path):
    parser = _leaf(path)
    _, flags = LEAVES[path]
    for flag in SHARED:
        action = _flag(parser, flag)
        assert (action is not None) == (flag in flags), (path, flag)
        if action is None:
            continue
        if flag == "--out":  # the directory's contents and default name differ per command, not the form
            assert action.metavar == "DIR" and action.type is None and action.nargs is None
            assert re.fullmatch(r"output directory for .+, created if missing \((default: uepmm-[a-z]+/|required)\)",
                                action.help), action.help
            assert action.required == (action.default is None)
            assert action.default is None or action.default.startswith("uepmm-")
        else:
            options = {}
            if path[0] == "train" and flag == "--seed":
                options["several"] = True  # one run per seed
            if flag == "--format" and path in FORMAT_DEFAULT:
                options["default"] = FORMAT_DEFAULT[path]
            assert _signature(action) == _signature(_reference(flag, **options))


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_shared_flags_parse_identically(path):
    parser = _leaf(path)
    required, flags = LEAVES[path]

    def parse(*extra):
        return parser.parse_args([*required, *extra])

    if "--progress" in flags:
        assert parse().progress is True
        assert parse("--no-progress").progress is False
        assert parse("--no-progress", "--progress").progress is True
    if "--format" in flags:
        assert parse().format == FORMAT_DEFAULT.get(path, "table")
        assert [parse("--format", f).format for f in ("table", "csv", "json")] == ["table", "csv", "json"]
        with pytest.raises(SystemExit):
            parse("--format", "tsv")
    if "--seed" in flags:
        seed = parse("--seed", "7").seed
        if path[0] == "train":
            assert parse().seed == [0] and seed == [7] and parse("--seed", "1", "2").seed == [1, 2]
        else:
            assert parse().seed == 0 and seed == 7
        with pytest.raises(SystemExit):
            parse("--seed", "1.5")
    if "--out" in flags:
        assert parse("--out", "some/dir").out == "some/dir"


def test_every_shared_flag_is_defined_by_the_common_helper():
    """No command outside LEAVES (but figure, still to move) has one of the shared flags."""
    seen = set()
    for path, parser in _leaves(build_parser()):
        if path in NOT_YET_SHARED or not any(a.option_strings for a in parser._actions[1:]):
            continue  # figure; or a placeholder for a command whose extra is not installed
        seen.add(path)
        has = {flag for flag in SHARED if _flag(parser, flag) is not None}
        assert path in LEAVES and has == LEAVES[path][1], (path, has)
        assert _flag(parser, "--no-progress") is None or "--progress" in has  # no lone --no-progress
    assert {("demo",), ("simulate",), ("theory", "decoding")} <= seen


def test_format_help_names_each_default():
    for path in LEAVES:
        if "--format" in LEAVES[path][1]:
            help_text = _flag(_leaf(path), "--format").help
            assert help_text.endswith(f"(default: {FORMAT_DEFAULT.get(path, 'table')})")
    with pytest.raises(ValueError, match="default must be one of"):
        _common.add_format_argument(argparse.ArgumentParser(), default="tsv")


def test_theory_prints_an_aligned_table(capsys):
    assert main(["theory", "decoding", "--code", "mds", "--k", "2,1", "--max-packets", "3", "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["packets", "class_1", "class_2"]
    assert [line.split() for line in lines[1:]] == [
        ["0", "0.000000", "0.000000"], ["1", "0.000000", "0.000000"],
        ["2", "0.000000", "0.000000"], ["3", "1.000000", "1.000000"],
    ]
    assert len({len(line) for line in lines}) == 1  # aligned columns


def test_simulate_progress_bar_is_on_by_default_and_on_stderr(capsys):
    argv = ["simulate", "--code", "mds", "--workers", "12", "--matrices", "gaussian", "--rows", "6", "--inner", "9",
            "--cols", "6", "--deadline", "1", "--trials", "2", "--format", "csv"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "2/2" in captured.err and "[#" in captured.err  # the final line of the bar
    assert captured.out.splitlines()[0].startswith("code,partition,deadline")
    assert main([*argv, "--no-progress"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == captured.out  # same seed, same numbers


def test_simulate_takes_decoder_and_auto_gamma(capsys):
    from uepmm import cli

    args = ["simulate", "--code", "now", "--partition", "rxc", "--blocks", "3,3", "--workers", "30",
            "--deadline", "1", "--trials", "10", "--size-scale", "0.2", "--fidelity", "fast", "--no-progress",
            "--format", "csv"]
    assert cli.main(args + ["--decoder", "lmmse", "--gamma", "auto"]) == 0
    lmmse = capsys.readouterr().out.strip().splitlines()
    assert cli.main(args) == 0
    zero = capsys.readouterr().out.strip().splitlines()
    loss = lambda lines: float(lines[1].split(",")[lines[0].split(",").index("mean_loss")])  # noqa: E731
    assert loss(lmmse) < loss(zero)
    with pytest.raises(SystemExit):
        cli.main(args + ["--gamma", "best"])
    with pytest.raises(SystemExit):
        cli.main(args + ["--decoder", "median"])


def test_simulate_cost_work_and_polynomial(capsys):
    rc = main(["simulate", "--code", "polynomial", "--partition", "rxc", "--blocks", "2,2", "--workers", "6",
                   "--cost", "work", "--matrices", "gaussian", "--rows", "8", "--inner", "6", "--cols", "8",
                   "--trials", "2", "--deadline", "100", "--format", "csv", "--no-progress", "--decoder", "zero"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "polynomial" in out and "0.0" in out
