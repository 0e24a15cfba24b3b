"""design_gamma(cost="work"): Γ designed for the work model, checked against the engine's draws."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from uepmm import JobSpec, design_gamma, paper_sec6_classes, plan_job
from uepmm.cli import main
from uepmm.decoding import recoverable
from uepmm.design import gamma_loss, window_work, work_cdfs
from uepmm.design.auto import class_energies, energy_key
from uepmm.draw import draw_job
from uepmm.estimation import lmmse_error_sum
from uepmm.experiments.synthetic import sec6_matrices
from uepmm.importance import ClassTable
from uepmm.latency import Exponential, Weibull

K3 = (3, 3, 3)
E3 = (40.0, 1.0, 0.07)
LAT = Exponential(1.0)
SEC6 = {"workers": 30, "latency": LAT, "deadline": 0.5, "omega": 1.0}
W, OMEGA = 30, 9 / 30  # the comparison's setting: Ω = K / W, deadlines in the same unit


def test_equal_cost_gives_the_old_design():
    """cost="equal" (the default) gives the values the design printed before cost existed
    (docs/design-gamma.md, Sec. VI r×c, commands (a)-(c), 10 significant digits).

    Checked to what the optimiser resolves, not to the printed digits: L-BFGS-B stops when a
    step gains less than ``ftol = 1e-10`` of the normalised objective, so the loss agrees to
    ``1e-9`` relative (with the printing's half unit, <= 4e-10), while ``Γ`` is fixed only to
    about ``sqrt(ftol / curvature)``: the loss rises by 8e-10 (EW) to 4e-9 (NOW) relative
    when ``Γ`` moves by 1e-5, so ``Γ`` is checked to 1e-5 (another BLAS gave EW ``Γ_1``
    0.4968045758, this one 0.4968046003, against 0.4968045866 printed).
    """
    old = {"now": ((0.7044440279, 0.2955559721, 0.0), 0.01354661525),
           "ew": ((0.4968045866, 0.5031954134, 0.0), 0.006732985447)}
    for code, (gamma, loss) in old.items():
        default = design_gamma(code, K3, E3, **SEC6)
        explicit = design_gamma(code, K3, E3, **SEC6, cost="equal")
        assert explicit == default and default.cost == "equal" and default.work is None
        assert default.expected_loss == pytest.approx(loss, rel=1e-9)
        np.testing.assert_allclose(default.gamma, gamma, rtol=0, atol=1e-5)
        assert default.gamma[2] == 0.0  # a face of the simplex is exact, not resolved
        assert default.mds_loss == pytest.approx(0.10670267, rel=0, abs=5e-9)  # closed form, 8 digits printed
    lmmse = design_gamma("now", K3, E3, **SEC6, decoder="lmmse")  # command (c)
    assert lmmse.expected_loss == pytest.approx(0.007014306235, rel=1e-9)
    np.testing.assert_allclose(lmmse.gamma, (0.6870740398, 0.3129259602, 0.0), rtol=0, atol=1e-5)
    assert lmmse.gamma[2] == 0.0


@pytest.mark.parametrize("code", ["now", "ew"])
@pytest.mark.parametrize("decoder", ["zero", "lmmse"])
@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_work_one_everywhere_is_the_equal_objective(code, decoder, partition):
    """Every window of work 1: F_1 = F, Γ' = Γ, p = F: the work objective is the equal one."""
    kw = dict(SEC6, partition=partition, decoder=decoder, trials=200)
    gamma = (0.5, 0.3, 0.2)
    equal = gamma_loss(code, K3, gamma, E3, **kw)
    work = gamma_loss(code, K3, gamma, E3, **kw, cost="work", work=(1, 1, 1), mds_work=1)
    assert work == pytest.approx(equal, rel=1e-12)
    mds = gamma_loss("mds", K3, None, E3, **kw)
    mds_work = gamma_loss("mds", K3, None, E3, **kw, cost="work", work=(1, 1, 1), mds_work=1)
    assert mds_work == pytest.approx(mds, rel=1e-12)


def test_window_work_is_what_the_engine_charges():
    """window_work: c×r the window sizes; r×c the rank of the window's pattern, as packet_work on drawn packets."""
    cxr = ClassTable((0, 0, 0, 1, 1, 1, 2, 2, 2))
    assert window_work("now", cxr, "cxr") == ((3, 3, 3), 9)
    assert window_work("ew", cxr, "cxr") == ((3, 6, 9), 9)
    classes = paper_sec6_classes("rxc")
    for code in ("now", "ew"):
        works, mds = window_work(code, classes, "rxc", (3, 3))
        assert mds == 3
        spec = JobSpec(code=code, partition="rxc", blocks=(3, 3), workers=30, classes=classes, cost="work",
                       gamma=(0.4, 0.35, 0.25))
        seen = {}
        for seed in range(20):
            drawn = draw_job(spec, classes, seed=seed)
            for window, s in zip(drawn.encoding.windows, drawn.work):
                seen.setdefault(int(window), set()).add(int(s))
        assert {w: tuple(v) for w, v in seen.items()} == {l: (works[l],) for l in range(3)}
    assert window_work("now", classes, "rxc", (3, 3))[0] == (2, 3, 2)
    with pytest.raises(ValueError, match=r"partition 'rxc' needs grid=\(N, P\) with N \* P = 9"):
        window_work("now", classes, "rxc")


def test_work_cdfs_monte_carlo_where_there_is_no_closed_form():
    """Weibull(shape 1) is the exponential: its Monte Carlo sum CDF matches the Gamma CDF within 4 SE."""
    t = [2.0, 5.0]
    mc = work_cdfs(Weibull(shape=1.0, scale=1.0), (1, 3), t, 0.5, seed=0)
    exact = work_cdfs(LAT, (1, 3), t, 0.5, seed=0)
    np.testing.assert_allclose(exact[:, 1], stats.gamma.cdf(np.array(t) * 0.5, 3), rtol=1e-12)
    se = np.sqrt(exact * (1 - exact) / 200_000)
    assert np.all(np.abs(mc - exact) <= 4 * se + 1e-12)


def _unrecovered_loss(spec, classes, deadline, energies, draws):
    """Zero-fill loss of the engine's draws: energy of the sub-products not recovered by the deadline."""
    e = np.asarray(energies)[classes.as_array()]
    out = []
    for seed in range(draws):
        drawn = draw_job(spec, classes, seed=seed)
        got = recoverable(drawn.generator[drawn.times <= deadline])
        out.append(float(e[~got].sum() / e.sum()))
    return np.asarray(out)


@pytest.mark.parametrize("code", ["now", "ew"])
def test_rxc_work_design_matches_the_engine_draws(code):
    """r×c, zero fill (Theorem 1 with Γ' and p, exact): the designed Γ's objective at two deadlines equals
    the mean loss of draw_job(cost="work") within 4 standard errors."""
    classes = paper_sec6_classes("rxc")
    works, mds = window_work(code, classes, "rxc", (3, 3))
    for deadline in (2.0, 6.0):  # Γ = (1, 0, 0) at 2, inside the simplex at 6
        d = design_gamma(code, K3, E3, W, LAT, deadline, partition="rxc", cost="work", work=works, mds_work=mds)
        assert d.work == works and d.objective == "theorem1"
        spec = JobSpec(code=code, partition="rxc", blocks=(3, 3), workers=W, classes=classes, cost="work",
                       gamma=d.gamma)
        losses = _unrecovered_loss(spec, classes, deadline, E3, 1500)
        se = losses.std(ddof=1) / math.sqrt(losses.size)
        assert abs(losses.mean() - d.expected_loss) <= 4 * se + 1e-4, (deadline, losses.mean(), d.expected_loss, se)


def test_cxr_work_design_matches_the_engine_draws():
    """c×r, EW, LMMSE (Monte Carlo objective under the work model): the designed Γ's objective at two
    deadlines equals the mean LMMSE error of draw_job(cost="work")'s arrived rows within 4 standard errors."""
    classes = ClassTable((0, 0, 0, 1, 1, 1, 2, 2, 2))
    energies = np.repeat(E3, 3)
    for deadline in (4.0, 8.0):
        d = design_gamma("ew", K3, E3, W, LAT, deadline, partition="cxr", decoder="lmmse", cost="work",
                         trials=600)
        assert d.work == (3, 6, 9) and d.objective == "monte-carlo-lmmse"
        spec = JobSpec(code="ew", partition="cxr", blocks=9, workers=W, classes=classes, cost="work", gamma=d.gamma)
        losses = []
        for seed in range(1200):
            drawn = draw_job(spec, classes, seed=seed)
            losses.append(lmmse_error_sum(drawn.generator[drawn.times <= deadline], energies) / energies.sum())
        losses = np.asarray(losses)
        se = losses.std(ddof=1) / math.sqrt(losses.size)
        assert abs(losses.mean() - d.expected_loss) <= 4 * se + 2e-3, (deadline, losses.mean(), d.expected_loss, se)


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
@pytest.mark.parametrize("decoder", ["zero", "lmmse"])
def test_work_design_never_worse_than_the_equal_design_under_work(partition, decoder):
    """Both Γ evaluated by the work objective with the same draws: the work design is never worse,
    and at the late deadline of c×r EW (big windows cost the most) much better."""
    classes = paper_sec6_classes("rxc") if partition == "rxc" else ClassTable((0, 0, 0, 1, 1, 1, 2, 2, 2))
    grid = (3, 3) if partition == "rxc" else None
    for code in ("now", "ew"):
        works, mds = window_work(code, classes, partition, grid)
        kw = dict(partition=partition, decoder=decoder, trials=300, seed=1)
        for deadline in (2.0, 8.0):
            equal = design_gamma(code, K3, E3, W, LAT, deadline, **kw)
            work = design_gamma(code, K3, E3, W, LAT, deadline, **kw, cost="work", work=works, mds_work=mds)
            under_work = gamma_loss(code, K3, equal.gamma, E3, W, LAT, deadline, **kw, cost="work", work=works,
                                    mds_work=mds)
            assert work.expected_loss <= under_work * (1 + 1e-9), (code, deadline, work.gamma, equal.gamma)
            if partition == "cxr" and code == "ew" and deadline == 8.0:
                assert work.expected_loss < 0.2 * under_work
                assert work.gamma[2] == 0.0  # the window that costs all of A @ B is not drawn


def test_work_arguments_errors():
    kw = dict(SEC6, partition="rxc")
    with pytest.raises(ValueError, match=r"cost='work' with partition 'rxc' needs work=\(s_1, \.\.\., s_L\)"):
        design_gamma("now", K3, E3, **kw, cost="work")
    with pytest.raises(ValueError, match=r"code 'now' and partition 'rxc' needs mds_work=min\(N, P\)"):
        design_gamma("now", K3, E3, **kw, cost="work", work=(2, 3, 2))
    with pytest.raises(ValueError, match="work has 2 entries but k has 3 classes"):
        design_gamma("ew", K3, E3, **kw, cost="work", work=(2, 3))
    with pytest.raises(ValueError, match=r"work and mds_work only apply with cost='work'"):
        design_gamma("ew", K3, E3, **kw, work=(2, 3, 3))
    with pytest.raises(ValueError, match="unknown cost 'time'; valid values are 'equal', 'work'"):
        design_gamma("ew", K3, E3, **kw, cost="time")


def test_auto_designs_for_the_spec_cost():
    """gamma="auto" with cost="work": the design of the job's energies and its windows' work; the
    cached equal design is not reused."""
    A, B = sec6_matrices("cxr", np.random.default_rng(0), 0.3)
    common = dict(code="ew", partition="cxr", blocks=9, workers=W, deadline=8.0, class_counts=K3, reorder=False,
                  gamma="auto", decoder="zero")
    equal = plan_job(A, B, JobSpec(**common), seed=1)
    work = plan_job(A, B, JobSpec(**common, cost="work"), seed=1)
    key = energy_key(class_energies(work.energies, work.classes))
    direct = design_gamma("ew", K3, key, W, LAT, 8.0, omega=OMEGA, partition="cxr", cost="work")
    assert work.code.gamma == pytest.approx(tuple(direct.gamma), abs=1e-15)
    assert equal.code.gamma == pytest.approx(tuple(design_gamma("ew", K3, key, W, LAT, 8.0, omega=OMEGA,
                                                               partition="cxr").gamma), abs=1e-15)
    assert work.code.gamma[2] == 0.0 and equal.code.gamma != work.code.gamma


def test_cli_design_cost_work(capsys):
    args = ["design", "--code", "ew", "--k", "3,3,3", "--class-energy", "40,1,0.07", "--workers", "30",
            "--deadline", "8", "--partition", "cxr", "--cost", "work", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    direct = design_gamma("ew", K3, E3, W, LAT, 8.0, partition="cxr", cost="work")
    assert out["cost"] == "work" and out["work"] == [3, 6, 9]
    assert out["gamma"] == list(direct.gamma) and out["expected_loss"] == direct.expected_loss
    assert main(args[:-2] + ["--partition", "rxc", "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert "cost='work' with partition 'rxc' needs work=(s_1, ..., s_L)" in err and "--work S1,S2" in err
    assert main(args[:-2] + ["--partition", "rxc", "--work", "2,3,3", "--format", "csv"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split(",")
    rxc = design_gamma("ew", K3, E3, W, LAT, 8.0, partition="rxc", cost="work", work=(2, 3, 3))
    assert [float(v) for v in row[:3]] == pytest.approx(rxc.gamma, rel=1e-9, abs=1e-12)
