"""Training runs: every scheme learns, CSVs are complete, runs skip and resume."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from uepmm.nn.setups import SCHEMES, TABLE7_WORKERS, paper_linear_factory, scheme_coding  # noqa: E402
from uepmm.nn.training import CSV_COLUMNS, RunSpec, read_run_csv, run_many, run_training  # noqa: E402


def _quiet(_message):
    pass


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_two_epochs_learn_for_every_scheme(tmp_path, learning_data, tiny_mlp, scheme, partition):
    if scheme == "centralized" and partition == "cxr":
        pytest.skip("centralized has no partition")
    spec = RunSpec("mnist", scheme, partition, 2.0, seed=0, epochs=2, lr=0.3, eval_every=50, track_loss=True)
    path = run_training(spec, tmp_path, data=learning_data, model_factory=tiny_mlp, show_progress=False, log=_quiet)
    rows = read_run_csv(path)
    assert list(rows[0]) == list(CSV_COLUMNS)
    steps = 2 * (3200 // 64)
    assert [r["iteration"] for r in rows] == [0, 50, 100]
    assert rows[-1]["iteration"] == steps and rows[-1]["epoch"] == 2.0
    assert rows[0]["test_accuracy"] < 0.3  # chance is 0.1
    assert rows[-1]["test_accuracy"] > 0.45  # learned, stragglers or not (c×r NOW/EW: 0.55-0.94 over seeds 0-5)
    if scheme == "centralized":
        assert math.isnan(rows[-1]["recovered"])
    else:
        assert 0 < rows[-1]["recovered"] < 1 and 0 < rows[-1]["coded_loss"] < 1


def test_paper_setups():
    assert TABLE7_WORKERS == {"uncoded": 9, "now": 15, "ew": 15, "repetition": 18}
    for scheme, workers in TABLE7_WORKERS.items():
        for partition in ("rxc", "cxr"):
            config = scheme_coding(scheme, partition, 0.5)
            assert config.workers == workers and config.num_products == 9
            assert config.omega_value == pytest.approx(9 / workers)
            assert config.latency.rate == 0.5 and config.deadline == 0.5 and config.statistic == "mean_abs"
            assert config.class_counts == (1, 2, 6)
    assert scheme_coding("centralized") is None
    factory = paper_linear_factory("cifar10", "ew", "rxc", 1.0, seed=3)
    last = factory(256, 10, 2)
    assert last.product_coding["grad_weight"].code == "uncoded" and last.product_coding["grad_weight"].workers == 9
    assert last.product_coding["grad_input"].code == "ew"
    assert factory(512, 256, 1).product_coding["grad_weight"].code == "ew"
    assert paper_linear_factory("mnist", "ew", "rxc", 1.0)(200, 10, 2).product_coding["grad_weight"].code == "ew"
    central = paper_linear_factory("mnist", "centralized")(784, 100, 0)
    assert central.product_coding == {"grad_input": None, "grad_weight": None}
    assert float(central.bias.detach().abs().sum()) == 0.0  # Keras-style initialisation
    assert float(central.weight.detach().abs().max()) <= math.sqrt(6 / (784 + 100))


def test_skip_resume_and_settings(tmp_path, blob_data, tiny_mlp):
    spec = RunSpec("mnist", "now", "cxr", 2.0, seed=1, epochs=3, lr=0.1, eval_every=15, limit_train=640)
    reference = run_training(spec, tmp_path / "ref", data=blob_data, model_factory=tiny_mlp, show_progress=False,
                             log=_quiet)
    expected = read_run_csv(reference)

    class Interrupt(Exception):
        pass

    calls = {"n": 0}

    def flaky_factory(linear):
        model = tiny_mlp(linear)
        forward = model.forward

        def counting(x):
            calls["n"] += 1
            if calls["n"] == 25:  # in the third epoch (10 steps per epoch + evaluations)
                raise Interrupt
            return forward(x)

        model.forward = counting
        return model

    with pytest.raises(Interrupt):
        run_training(spec, tmp_path / "run", data=blob_data, model_factory=flaky_factory, show_progress=False,
                     log=_quiet)
    assert (tmp_path / "run" / f"{spec.name}.ckpt.pt").exists()
    assert not (tmp_path / "run" / f"{spec.name}.csv").exists()
    messages = []
    path = run_training(spec, tmp_path / "run", data=blob_data, model_factory=tiny_mlp, show_progress=False,
                        log=messages.append)
    assert any("resuming at epoch" in m for m in messages)
    resumed = read_run_csv(path)
    assert [r["iteration"] for r in resumed] == [r["iteration"] for r in expected]
    for a, b in zip(resumed, expected):  # the resumed run continues exactly
        assert a["test_accuracy"] == b["test_accuracy"]
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-12)
    assert not (tmp_path / "run" / f"{spec.name}.ckpt.pt").exists()
    meta = json.loads((tmp_path / "run" / f"{spec.name}.json").read_text())
    assert meta["settings"]["scheme"] == "now" and meta["steps"] == 30

    messages.clear()
    run_training(spec, tmp_path / "run", data=lambda: pytest.fail("data loaded for a skipped run"),
                 model_factory=tiny_mlp, show_progress=False, log=messages.append)
    assert any("skipped" in m for m in messages)
    other = RunSpec("mnist", "now", "cxr", 2.0, seed=1, epochs=3, lr=0.05, eval_every=15, limit_train=640)
    with pytest.raises(ValueError, match="other settings.*lr"):
        run_training(other, tmp_path / "run", data=blob_data, model_factory=tiny_mlp, show_progress=False, log=_quiet)


def test_run_spec_names_and_validation():
    assert RunSpec("mnist", "ew", "cxr", 0.25, seed=2).name == "mnist_ew_cxr_T0.25_s2"
    central = RunSpec("mnist", "centralized", "cxr", 0.5)
    assert central.name == "mnist_centralized_s0" and central.partition == "-" and math.isinf(central.deadline)
    assert RunSpec("cifar10", "ew", deadline=1).clean_epochs == 30
    with pytest.raises(ValueError, match="scheme"):
        RunSpec("mnist", "fountain")
    with pytest.raises(ValueError, match="dataset"):
        RunSpec("svhn", "ew")


def test_clean_epochs_disable_stragglers(tmp_path, blob_data, tiny_mlp):
    spec = RunSpec("mnist", "uncoded", "rxc", 0.0, seed=0, epochs=2, lr=0.1, eval_every=20, clean_epochs=1)
    rows = read_run_csv(run_training(spec, tmp_path, data=blob_data, model_factory=tiny_mlp, show_progress=False,
                                     log=_quiet))
    # T_max = 0: nothing ever arrives, so only the clean first epoch trains the dense layers
    assert math.isnan(rows[1]["recovered"]) and rows[2]["recovered"] == 0.0
    assert rows[1]["test_accuracy"] > 0.5
    assert rows[2]["test_accuracy"] == pytest.approx(rows[1]["test_accuracy"], abs=0.05)


def test_same_run_twice_gives_byte_identical_csv(tmp_path, blob_data, tiny_mlp):
    """Results only in the CSV (no wall time): the same run twice is the same file; what may
    differ between the two -- wall time, torch thread count, versions -- is in the JSON summary."""
    spec = RunSpec("mnist", "now", "cxr", 1.0, seed=2, epochs=2, lr=0.1, eval_every=5, limit_train=640,
                   track_loss=True)
    messages: list[str] = []
    paths = [run_training(spec, tmp_path / d, data=blob_data, model_factory=tiny_mlp, show_progress=False,
                          log=messages.append) for d in ("a", "b")]
    first, second = (p.read_bytes() for p in paths)
    assert first == second
    assert first.decode().splitlines()[0] == ",".join(CSV_COLUMNS) and "seconds" not in CSV_COLUMNS
    assert len(first.decode().splitlines()) == 1 + 5  # iterations 0, 5, 10, 15, 20
    summary = json.loads((tmp_path / "a" / f"{spec.name}.json").read_text())
    assert summary["torch_threads"] == torch.get_num_threads()
    assert summary["seconds"] >= 0 and summary["torch"] == torch.__version__ and summary["numpy"]
    assert summary["device"] == "cpu" and summary["settings"]["scheme"] == "now" and summary["steps"] == 20
    assert all(f"({torch.get_num_threads()} torch thread" in m for m in messages)


def test_run_many_sets_and_restores_the_thread_count(tmp_path):
    before = torch.get_num_threads()
    spec = RunSpec("mnist", "centralized", epochs=1, limit_train=64, eval_every=1)
    messages: list[str] = []
    [path] = run_many([spec], tmp_path, threads=1, show_progress=False, log=messages.append)
    assert json.loads(path.with_suffix(".json").read_text())["torch_threads"] == 1
    assert "(1 torch thread)" in messages[-1]
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        run_many([spec], tmp_path, threads=0)


def test_csv_of_an_older_version_with_seconds_is_read(tmp_path):
    path = tmp_path / "mnist_ew_rxc_T1_s0.csv"
    path.write_text(",".join((*CSV_COLUMNS, "seconds")) + "\n"
                    "mnist,ew,rxc,1.0,0,0,0.0,0.1,2.3,nan,nan,nan,0.05\n"
                    "mnist,ew,rxc,1.0,0,10,0.16,0.4,1.9,2.1,0.2,nan,1.25\n")
    rows = read_run_csv(path)
    assert [r["iteration"] for r in rows] == [0, 10] and rows[1]["test_accuracy"] == 0.4
    assert rows[1]["seconds"] == 1.25 and math.isnan(rows[0]["train_loss"])


def test_run_spec_cost():
    """cost="work" names the run (``_cwork``) and enters its settings; "equal", the paper's, leaves both as
    they were before the field existed; the centralized run has no cost model."""
    equal, work = RunSpec("mnist", "uncoded", "rxc", 1.0), RunSpec("mnist", "uncoded", "rxc", 1.0, cost="work")
    assert equal.cost == "equal" and equal.name == "mnist_uncoded_rxc_T1_s0" and "cost" not in equal.settings()
    assert work.name == "mnist_uncoded_rxc_T1_cwork_s0" and work.settings()["cost"] == "work"
    named = RunSpec("mnist", "ew-rect", "rxc", 2.0, seed=1, cost="work")
    assert named.name == "mnist_ew-rect_rxc_T2_cwork_s1" and named.decoder == "lmmse"
    central = RunSpec("mnist", "centralized", cost="work")
    assert central.cost == "-" and central.name == "mnist_centralized_s0" and "cost" not in central.settings()
    with pytest.raises(ValueError, match="cost"):
        RunSpec("mnist", "ew", "cxr", 1.0, cost="flops")


@pytest.mark.parametrize("scheme,partition", [("ew", "cxr"), ("uncoded", "rxc"), ("now-singletons", "cxr"),
                                              ("ew-rect", "rxc")])
def test_cost_reaches_the_coding_config(scheme, partition):
    for cost in ("equal", "work"):
        assert scheme_coding(scheme, partition, 1.0, cost=cost).cost == cost
        layer = paper_linear_factory("mnist", scheme, partition, 1.0, cost=cost)(20, 10, 0)
        assert {c.cost for c in layer.product_coding.values()} == {cost}
    last = paper_linear_factory("cifar10", scheme, partition, 1.0, cost="work")(256, 10, 2)
    assert {c.cost for c in last.product_coding.values()} == {"work"}  # the uncoded eq. (27) too
