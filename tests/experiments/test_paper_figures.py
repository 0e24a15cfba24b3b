"""The paper's synthetic figures (Figs. 8-11): theory against the real engine, and the CSVs.

The engine side is real encode/decode: coefficient rows drawn by the NOW/EW codes (the
same draws as ``plan_job``), packets taken in the order of the sampled response times,
recovery decided by the decoder's ``recovery_curve``, losses priced from the exact
sub-products of Sec. VI matrices at the paper's sizes (``BlockLoss``).
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np
import pytest

from uepmm import cli, plan_job, theory
from uepmm.experiments import paper_figures as pf
from uepmm.experiments.synthetic import sec6_matrices
from uepmm.importance import SEC6_COUNTS, TABLE3_GAMMA, paper_sec6_classes
from uepmm.latency import Exponential

TRIALS = 4000  # per code, shared by the P_d,l and Theorem 1 tests
SEED = 7
DRAWS = 2  # Sec. VI r×c matrix pairs at the paper's sizes


@pytest.fixture(scope="module")
def rxc_curves():
    return {
        code: pf.engine_loss_curves("rxc", code, trials=TRIALS, seed=SEED, omega=1.0, matrix_draws=DRAWS)
        for code in ("now", "ew")
    }


@pytest.fixture(scope="module")
def figure_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    code = cli.main(["figure", "all", "--out", str(out), "--trials", "20", "--matrix-draws", "1", "--no-progress"])
    assert code == 0
    return out


def _read(path):
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = np.asarray([[float(x) for x in row] for row in reader])
    return header, rows


# ----------------------------------------------------------------------------- the engine path


@pytest.mark.parametrize("code", ["now", "ew", "mds"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_draw_trial_is_plan_job(code, partition):
    """The Monte Carlo draws exactly the coefficient rows and response times of plan_job."""
    A, B = sec6_matrices(partition, np.random.default_rng(0), scale=0.05)
    classes = paper_sec6_classes(partition)
    for j in range(3):
        plan = plan_job(
            A, B, code=code, partition=partition, blocks=(3, 3) if partition == "rxc" else 9, workers=30,
            gamma=TABLE3_GAMMA if code != "mds" else None, classes=classes, reorder=False,
            latency=Exponential(1.0), omega=0.5, seed=pf.trial_seed(11, j),
        )
        rows, times = pf.draw_trial(code, classes, 30, Exponential(1.0), 0.5, pf.trial_seed(11, j))
        np.testing.assert_array_equal(rows, plan.job.encoding.generator)
        np.testing.assert_array_equal(times, plan.job.response_times())


# ----------------------------------------------------------------------------- P_d,l(N)


@pytest.mark.parametrize("code", ["now", "ew"])
def test_decoding_probabilities_match_engine_recovery(rxc_curves, code):
    """uepmm.theory's P_d,l(N) against class-recovery frequencies of real encode/decode."""
    curves = rxc_curves[code]
    assert curves.trials >= 2000
    classes = paper_sec6_classes("rxc")  # interleaved: (0,0,1, 0,1,2, 1,2,2)
    analytic = theory.decoding_probabilities(code, SEC6_COUNTS, TABLE3_GAMMA, 30)
    checked = 0
    for n in (3, 5, 7, 9, 12, 15, 20):
        for level in range(3):
            freq = curves.recovered_after[:, n, classes.members(level)].all(axis=1).mean()
            p = analytic[n, level]
            se = math.sqrt(p * (1 - p) / curves.trials)
            assert abs(freq - p) <= 4 * se + 1e-12, (code, n, level, freq, p)
            checked += 0 < p < 1
    assert checked >= 12  # most comparisons are non-degenerate (not p = 0 or 1)


def test_decoding_probabilities_known_values():
    """docs/design.md §7 check values at N = 9 (also fig8 row 9)."""
    table = pf.fig8_table()
    row = table[9]
    np.testing.assert_allclose([row["now_1"], row["now_2"], row["now_3"]], [0.768, 0.663, 0.399], atol=1e-3)
    np.testing.assert_allclose([row["ew_1"], row["ew_2"], row["ew_3"]], [1.000, 0.736, 0.274], atol=1e-3)


# ----------------------------------------------------------------------------- Theorem 1 (r×c)


@pytest.mark.parametrize("code", ["now", "ew"])
def test_theorem1_matches_engine_monte_carlo(rxc_curves, code):
    """Theorem 1 (eqs. 13, 16, 17) equals the engine's r×c loss within 5% at three deadlines.

    The Monte Carlo is the plain one: each trial's loss at t is its loss after the packets
    whose sampled response times are <= t (what coded_matmul(deadline=t) returns).
    """
    deadlines = np.array([0.10, 0.15, 0.20])
    per_trial = rxc_curves[code].per_trial_vs_time(deadlines, "sampled")
    mc = per_trial.mean(axis=0)
    se = per_trial.std(axis=0, ddof=1) / math.sqrt(per_trial.shape[0])
    exact = theory.expected_loss(
        code, SEC6_COUNTS, TABLE3_GAMMA, Exponential(1.0), deadlines, 30, theory.sec6_class_energy("rxc"),
        partition="rxc", omega=1.0, normalize=True,
    )
    assert np.all(exact > 0.5)  # not tiny
    assert np.all(0.05 * exact > 3 * se)  # the 5% test has power
    np.testing.assert_allclose(mc, exact, rtol=0.05)
    # the conditional (Rao-Blackwellised) estimator agrees too, and more tightly
    conditional = rxc_curves[code].vs_time(deadlines, "conditional")
    np.testing.assert_allclose(conditional, exact, rtol=0.03)


def test_engine_loss_after_packets_matches_eq17(rxc_curves):
    """r×c: the engine's mean loss after n packets equals eq. 17 (Fig. 10's r×c curves)."""
    for code, curves in rxc_curves.items():
        mean, se = curves.vs_packets()
        exact = theory.expected_loss_vs_packets(
            code, SEC6_COUNTS, TABLE3_GAMMA, theory.sec6_class_energy("rxc"), 30, "rxc", normalize=True
        )
        for n in (2, 4, 6, 8):
            assert abs(mean[n] - exact[n]) <= 4 * se[n] + 0.01 * exact[n], (code, n, mean[n], exact[n])


# ----------------------------------------------------------------------------- Theorem 2 (c×r)


def test_theorem2_bounds_engine_cxr_loss():
    """The Theorem 2 bound (eqs. 18, 19) is above the engine's c×r loss at every tested t."""
    times = pf.time_grid(0.02)
    for code in ("now", "ew"):
        curves = pf.engine_loss_curves("cxr", code, trials=400, seed=SEED, omega=1.0, matrix_draws=1)
        bound = theory.expected_loss(
            code, SEC6_COUNTS, TABLE3_GAMMA, Exponential(1.0), times, 30, theory.sec6_class_energy("cxr"),
            partition="cxr", omega=1.0, normalize=True,
        )
        for estimator in ("conditional", "sampled"):
            mc = curves.vs_time(times, estimator)
            assert np.all(mc <= bound), (code, estimator, times[mc > bound])
        # the bound is loose: the true c×r loss is eq. 17 with the c×r energies (Assumption 1)
        exact = theory.expected_loss(
            code, SEC6_COUNTS, TABLE3_GAMMA, Exponential(1.0), times, 30, theory.sec6_class_energy("cxr"),
            partition="rxc", omega=1.0, normalize=True,
        )
        per_trial = curves.per_trial_vs_time(times, "conditional")
        se = per_trial.std(axis=0, ddof=1) / math.sqrt(per_trial.shape[0])
        assert np.all(np.abs(per_trial.mean(axis=0) - exact) <= 4 * se + 0.01 * exact)


def test_mds_loss_is_all_or_nothing_in_both_partitions():
    for partition in ("rxc", "cxr"):
        curves = pf.engine_loss_curves(partition, "mds", trials=30, seed=SEED, omega=1.0, matrix_draws=1)
        np.testing.assert_allclose(curves.loss_after[:, :9], 1.0, atol=1e-12)
        np.testing.assert_array_equal(curves.loss_after[:, 9:], 0.0)


# ----------------------------------------------------------------------------- crossovers and Ω


def test_crossover_time_interpolates():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    assert pf.crossover_time(t, [1.0, 0.5, 0.5, 0.2], [1.0, 0.9, 0.3, 0.1]) == pytest.approx(1 + 0.4 / 0.6)
    assert math.isnan(pf.crossover_time(t, [1.0, 0.5, 0.2, 0.1], [1.0, 0.9, 0.3, 0.2]))
    assert math.isnan(pf.crossover_time(t, [1.0, 1.0, 1.0, 1.0], [1.0, 0.9, 0.3, 0.2]))


def test_plain_time_axis_matches_the_papers_crossovers():
    """Fig. 9's 'until t = 0.44 / 0.825 / 0.975' fit F(t) (Ω = 1), not Remark 1's Ω = 9/30."""
    plain = pf.crossover_times(pf.FigureOptions(trials=20, matrix_draws=1, omega=1.0), t_max=1.2)
    remark1 = pf.crossover_times(pf.FigureOptions(trials=20, matrix_draws=1, omega=0.3), t_max=4.0)
    assert plain["now_rxc"] == pytest.approx(0.4646, abs=1e-3)
    assert plain["ew_rxc"] == pytest.approx(0.8389, abs=1e-3)
    assert plain["now_cxr_theory"] == pytest.approx(0.4666, abs=1e-3)
    assert plain["ew_cxr_theory"] == pytest.approx(0.9732, abs=1e-3)
    for (code, partition), paper in pf.PAPER_CROSSOVERS.items():
        key = f"{code}_{partition}" if partition == "rxc" else f"{code}_cxr_theory"
        assert abs(plain[key] - paper) < 0.03
        assert abs(remark1[key] - paper) > 1.0
    # any Ω only rescales t, so the crossovers move by exactly 1/Ω
    assert remark1["ew_rxc"] == pytest.approx(plain["ew_rxc"] / 0.3, abs=0.005)


def test_figure_options_validation():
    with pytest.raises(ValueError, match="t_step"):
        pf.FigureOptions(t_step=5.0)
    with pytest.raises(ValueError, match="estimator"):
        pf.FigureOptions(estimator="magic")
    with pytest.raises(ValueError, match="trials"):
        pf.FigureOptions(trials=0)
    assert pf.omega_option("paper") == pytest.approx(0.3)
    assert pf.omega_option("plain") == 1.0
    with pytest.raises(ValueError, match="omega"):
        pf.omega_option("fast")
    assert pf.FigureOptions(trials=5).draws == 5
    assert pf.FigureOptions().draws == 10


# ----------------------------------------------------------------------------- the CSVs and PNGs


def test_figure_files_and_headers(figure_dir):
    for name, columns in pf.COLUMNS.items():
        header, _ = _read(figure_dir / f"{name}.csv")
        assert tuple(header) == columns
        with open(figure_dir / f"{name}.png", "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(figure_dir / f"{name}.png") > 10_000


def test_fig8_values(figure_dir):
    _, rows = _read(figure_dir / "fig8.csv")
    np.testing.assert_array_equal(rows[:, 0], np.arange(31))
    np.testing.assert_allclose(rows[9, 1:4], [0.768, 0.663, 0.399], atol=1e-3)
    np.testing.assert_allclose(rows[9, 4:7], [1.000, 0.736, 0.274], atol=1e-3)
    assert np.all((rows[:, 1:] >= 0) & (rows[:, 1:] <= 1))
    assert np.all(np.diff(rows[:, 1:], axis=0) >= -1e-12)  # more packets never hurt
    np.testing.assert_array_equal(rows[:3, 1:], 0.0)  # 3 packets of a class are needed
    np.testing.assert_array_equal(rows[:8, 6], 0.0)  # EW class 3 needs all K = 9


def test_fig9_values(figure_dir):
    _, rows = _read(figure_dir / "fig9.csv")
    t = rows[:, 0]
    assert t[0] == 0.0 and t[-1] == pytest.approx(1.2)
    assert np.max(np.diff(t)) <= 0.01 + 1e-12
    np.testing.assert_allclose(rows[0, 1:], 1.0)  # nothing has arrived at t = 0
    assert np.all((rows[:, 1:] >= 0) & (rows[:, 1:] <= 1 + 1e-12))
    assert np.all(np.diff(rows[:, 1:], axis=0) <= 1e-12)  # losses only go down
    # MDS: P(Binomial(30, 1 - e^-t) < 9)
    from scipy import stats

    np.testing.assert_allclose(rows[:, 5], stats.binom.cdf(8, 30, 1 - np.exp(-t)), rtol=1e-9, atol=1e-15)
    i = int(np.argmin(np.abs(t - 0.3)))  # early on every UEP scheme beats MDS
    assert np.all(rows[i, 1:5] < rows[i, 5])
    assert rows[-1, 1] > rows[-1, 5] and rows[-1, 2] > rows[-1, 5]  # at t = 1.2 MDS wins (r×c)


def test_fig10_values(figure_dir):
    _, rows = _read(figure_dir / "fig10.csv")
    np.testing.assert_array_equal(rows[:, 0], np.arange(31))
    np.testing.assert_array_equal(rows[:9, 5], 1.0)
    np.testing.assert_array_equal(rows[9:, 5], 0.0)
    np.testing.assert_allclose(rows[:3, 1:5], 1.0, atol=1e-9)  # fewer than 3 packets recover nothing
    assert np.all(rows[3:9, 1:5] < 1.0)  # UEP recovers something before MDS does
    assert np.all(np.diff(rows[:, 1:], axis=0) <= 1e-12)


def test_fig11_values(figure_dir):
    _, rows = _read(figure_dir / "fig11.csv")
    _, fig9 = _read(figure_dir / "fig9.csv")
    np.testing.assert_allclose(rows[:, 1], fig9[:, 3])  # now_exact is fig9's now_cxr
    np.testing.assert_allclose(rows[:, 3], fig9[:, 4])
    np.testing.assert_allclose(rows[:, 5], fig9[:, 5])
    assert np.all(rows[:, 2] >= rows[:, 1]) and np.all(rows[:, 4] >= rows[:, 3])
    np.testing.assert_allclose(rows[0, [2, 4]], 9.0)  # the bound starts at M = 9


# ----------------------------------------------------------------------------- CLI and registry


def test_cli_figure_fig8_writes_both_files(tmp_path, capsys):
    assert cli.main(["figure", "fig8", "--out", str(tmp_path)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["fig8.csv", "fig8.png"]
    assert "fig8: wrote" in capsys.readouterr().out


def test_cli_rejects_unknown_figure(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["figure", "fig99", "--out", str(tmp_path)])


def test_registry_runs_figures_that_need_runs_only_with_runs(tmp_path, monkeypatch, capsys):
    seen = []

    def fig_training(out_dir, options):
        seen.append(options.runs)
        return pf.FigureOutput("fig_training", (), [], os.path.join(out_dir, "x.csv"), None)

    fig_training.needs_runs = True
    monkeypatch.setitem(pf.FIGURES, "fig_training", fig_training)  # the CLI reads the same dict
    assert cli.main(["figure", "fig8", "--out", str(tmp_path), "--runs", "ignored"]) == 0  # fig8 ignores --runs
    assert cli.main(["figure", "fig_training", "--out", str(tmp_path)]) == 2  # needs --runs
    assert "pass runs=DIR" in capsys.readouterr().err
    assert cli.main(["figure", "fig_training", "--out", str(tmp_path), "--runs", "runs/"]) == 0
    assert seen == ["runs/"]
