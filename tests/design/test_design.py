"""Tests of uepmm.design: window selection probabilities Γ designed for the job."""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
from scipy import stats

from uepmm import theory
from uepmm.design import GammaDesign, design_gamma, gamma_loss, objectives, problem
from uepmm.estimation import lmmse_error, lmmse_error_sum
from uepmm.importance import TABLE3_GAMMA
from uepmm.latency import Exponential

# Sec. VI, r×c: k = (3, 3, 3), class energies ∝ (40, 1, 0.07), W = 30, rate 1, Ω = 1, T = 0.5
K3 = (3, 3, 3)
E3 = (40.0, 1.0, 0.07)
LAT = Exponential(1.0)
SEC6 = {"workers": 30, "latency": LAT, "deadline": 0.5, "omega": 1.0}


@functools.cache
def _sec6_cached(code: str, items: tuple) -> GammaDesign:
    return design_gamma(code, K3, E3, **{**SEC6, **dict(items)})


def _sec6(code: str, **kw) -> GammaDesign:
    """design_gamma in the Sec. VI setting (cached: the result is frozen and deterministic)."""
    return _sec6_cached(code, tuple(sorted(kw.items())))


def _theorem(code: str, gamma, t=0.5, partition="rxc") -> float:
    return float(theory.expected_loss(code, K3, gamma, LAT, t, 30, E3, partition, 1.0, normalize=True)[0])


def _simplex(step: float):
    m = round(1 / step)
    return [(a / m, b / m, (m - a - b) / m) for a in range(m + 1) for b in range(m + 1 - a)]


# ----------------------------------------------------------------------------- zero fill, exact objective


@pytest.mark.parametrize("code", ["now", "ew"])
def test_zero_fill_design_is_within_one_percent_of_a_fine_grid(code):
    step = 0.01 if code == "now" else 0.02  # 5151 / 1326 points through theory.expected_loss
    brute = min(_theorem(code, g) for g in _simplex(step))
    result = _sec6(code)
    assert result.expected_loss <= 1.01 * brute
    assert result.expected_loss <= brute + 1e-12  # in fact no worse than the grid at all
    # the reported value is Theorem 1 at the reported Γ
    assert result.expected_loss == pytest.approx(_theorem(code, result.gamma), rel=1e-12)
    assert result.objective == "theorem1" and result.mds_objective == "theorem1"


@pytest.mark.parametrize("code", ["now", "ew"])
@pytest.mark.parametrize("decoder", ["zero", "lmmse"])
def test_design_beats_table3(code, decoder):
    result = _sec6(code, decoder=decoder)
    assert result.expected_loss <= result.table3_loss
    assert math.isclose(sum(result.gamma), 1.0, rel_tol=0, abs_tol=1e-12)
    assert all(g >= 0.0 for g in result.gamma)


def test_sec6_zero_fill_numbers():
    """Targets quoted for Sec. VI r×c (see docs/design-gamma.md).

    Table III values are quoted to three significant figures: half a unit of the last digit.
    The designed values 0.0136 / 0.0067 are the best points of a 0.05 grid; the continuous
    optimum is a little lower (0.013547 / 0.006733), so: within 1% and no worse than the
    grid point.  Γ to within 0.01 of the quoted (0.7, 0.3, 0) / (0.5, 0.5, 0), with Γ_3 = 0
    exactly.
    """
    now, ew = _sec6("now"), _sec6("ew")
    assert abs(now.table3_loss - 0.130) <= 0.0005
    assert abs(ew.table3_loss - 0.0343) <= 0.00005
    assert now.table3_loss == pytest.approx(_theorem("now", TABLE3_GAMMA), rel=1e-12)
    assert now.expected_loss == pytest.approx(0.0136, rel=0.01)
    assert now.expected_loss <= _theorem("now", (0.7, 0.3, 0.0))
    assert ew.expected_loss == pytest.approx(0.0067, rel=0.01)
    assert ew.expected_loss <= _theorem("ew", (0.5, 0.5, 0.0))
    np.testing.assert_allclose(now.gamma, (0.7, 0.3, 0.0), atol=0.01)
    np.testing.assert_allclose(ew.gamma, (0.5, 0.5, 0.0), atol=0.01)
    assert now.gamma[2] == 0.0 and ew.gamma[2] == 0.0
    assert now.mds_loss == pytest.approx(_theorem("mds", None), rel=1e-12)


def test_sec6_lmmse_numbers():
    """LMMSE at Table III Γ: quoted NOW ≈ 0.057, EW ≈ 0.0011.

    NOW is the exact closed form here, 0.058651, 2.9% above the quoted 0.057.  A Monte Carlo
    estimate with 2000 draws spreads by about 3% from seed to seed (docs/design-gamma.md:
    sd 0.0015 over 10 seeds), so the quoted value is consistent with such an estimate:
    tolerance 5%, about two of those standard deviations.  EW is our Monte Carlo with
    2000 draws (seed 0), seed-to-seed spread 1.5%; it must lie in the rounding interval
    [0.00105, 0.00115] of the quoted value.
    """
    now, ew = _sec6("now", decoder="lmmse"), _sec6("ew", decoder="lmmse")
    assert now.objective == "lmmse-exact" and ew.objective == "monte-carlo-lmmse"
    assert now.table3_loss == pytest.approx(0.057, rel=0.05)
    assert 0.00105 <= ew.table3_loss <= 0.00115
    assert now.mds_loss == ew.mds_loss  # same draws, same estimator
    # the designed codes improve on Table III by large factors
    assert now.expected_loss < 0.2 * now.table3_loss
    assert ew.expected_loss < 0.7 * ew.table3_loss


def test_lmmse_design_holds_on_fresh_draws():
    """The EW Γ designed on the draws of seed 0 beats Table III and MDS on other draws too
    (the design does not merely fit the Monte Carlo noise of its own draws)."""
    ew = _sec6("ew", decoder="lmmse")
    kw = {**SEC6, "decoder": "lmmse", "trials": 4000, "seed": 11}
    fresh = gamma_loss("ew", K3, ew.gamma, E3, **kw)
    assert fresh < 0.8 * gamma_loss("ew", K3, TABLE3_GAMMA, E3, **kw)
    assert fresh < 0.9 * gamma_loss("mds", K3, None, E3, **kw)
    assert fresh == pytest.approx(ew.expected_loss, rel=0.1)


def test_lmmse_now_closed_form_against_direct_sum():
    """sum_l e_l E[(k_l - n_l)^+] / E||C||^2 with N ~ Bin(30, F), n_l | N ~ Bin(N, Γ_l)."""
    F = 1.0 - math.exp(-0.5)
    total = float(np.dot(K3, E3))
    value = 0.0
    for N in range(31):
        pN = stats.binom.pmf(N, 30, F)
        for k_l, e_l, g_l in zip(K3, E3, TABLE3_GAMMA):
            n = np.arange(k_l)
            value += pN * e_l * np.sum((k_l - n) * stats.binom.pmf(n, N, g_l))
    lib = gamma_loss("now", K3, TABLE3_GAMMA, E3, decoder="lmmse", **SEC6)
    assert lib == pytest.approx(value / total, rel=1e-10)
    assert lib == pytest.approx(0.05865137, rel=1e-6)


# ----------------------------------------------------------------------------- LMMSE Monte Carlo


def _mc(code="ew", partition="rxc", trials=400, seed=0, deadline=0.5):
    p = problem._problem(code, K3, E3, 30, LAT, deadline, 1.0, partition, "lmmse", None, trials, seed)
    return p, objectives._LmmseMonteCarlo(p)


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_monte_carlo_prefix_errors_equal_the_estimation_module(partition):
    _, mc = _mc(partition=partition, trials=5)
    rows = mc.rows(np.array(TABLE3_GAMMA), expanding=True)
    errors = mc.prefix_errors(rows)
    func = lmmse_error if partition == "rxc" else lmmse_error_sum
    energies = np.repeat(E3, 3)
    for r in range(rows.shape[0]):
        for n in range(0, rows.shape[1] + 1, 3):
            assert errors[r, n] == pytest.approx(func(rows[r, :n], energies), rel=1e-8, abs=1e-9)


@pytest.mark.parametrize("partition", ["rxc", "cxr"])
def test_monte_carlo_agrees_with_the_now_closed_form(partition):
    p, mc = _mc(code="now", partition=partition, trials=3000)
    gamma = np.array(TABLE3_GAMMA)
    per_trial = mc.prefix_errors(mc.rows(gamma, expanding=False)) @ mc.arrivals / p.total
    exact = objectives._lmmse_now(p)(gamma)
    assert abs(per_trial.mean() - exact) < 4 * per_trial.std() / math.sqrt(per_trial.size)


def test_lmmse_objective_is_deterministic_for_a_seed():
    kw = {**SEC6, "decoder": "lmmse", "trials": 300}
    a = design_gamma("ew", K3, E3, seed=7, **kw)
    b = design_gamma("ew", K3, E3, seed=7, **kw)
    assert a == b
    for g in (TABLE3_GAMMA, (0.2, 0.4, 0.4)):
        assert gamma_loss("ew", K3, g, E3, seed=3, **kw) == gamma_loss("ew", K3, g, E3, seed=3, **kw)
    assert gamma_loss("ew", K3, TABLE3_GAMMA, E3, seed=3, **kw) != gamma_loss("ew", K3, TABLE3_GAMMA, E3, seed=4, **kw)


def test_ew_with_only_the_last_window_is_mds():
    """Γ = (0, 0, 1): every packet combines all K sub-products, i.e. an MDS code."""
    for decoder in ("zero", "lmmse"):
        kw = {**SEC6, "decoder": decoder, "trials": 300}
        ew = gamma_loss("ew", K3, (0.0, 0.0, 1.0), E3, **kw)
        assert ew == pytest.approx(gamma_loss("mds", K3, None, E3, **kw), rel=1e-12)


def test_lmmse_mds_is_exact_with_k_packets():
    _, mc = _mc(trials=50)
    errors = mc.prefix_errors(mc.rows(None, expanding=True))
    assert np.all(errors[:, 9:] < 1e-20)
    assert np.all(np.diff(errors, axis=1) <= 1e-12)  # more packets never hurt


# ----------------------------------------------------------------------------- options


def test_several_deadlines_use_the_weighted_mean():
    result = _sec6("ew", deadline=(0.25, 0.5, 1.0), weights=(1, 2, 1))
    assert result.deadlines == (0.25, 0.5, 1.0) and result.weights == (0.25, 0.5, 0.25)
    expected = sum(w * _theorem("ew", result.gamma, t) for t, w in zip((0.25, 0.5, 1.0), (0.25, 0.5, 0.25)))
    assert result.expected_loss == pytest.approx(expected, rel=1e-10)
    single = design_gamma("ew", K3, E3, **{**SEC6, "deadline": [0.5]})
    assert single.weights == (1.0,) and single.expected_loss == pytest.approx(_sec6("ew").expected_loss, rel=1e-12)


def test_cxr_zero_fill_is_the_theorem2_bound_with_the_same_minimiser():
    rxc, cxr = _sec6("now"), _sec6("now", partition="cxr")
    assert cxr.objective == "theorem2-bound" and cxr.partition == "cxr"
    assert cxr.expected_loss == pytest.approx(9 * rxc.expected_loss, rel=1e-6)
    np.testing.assert_allclose(cxr.gamma, rxc.gamma, atol=1e-3)
    assert cxr.expected_loss == pytest.approx(_theorem("now", cxr.gamma, partition="cxr"), rel=1e-12)


def test_default_omega_is_k_over_w():
    a = design_gamma("now", K3, E3, 30, LAT, 5.0)
    b = design_gamma("now", K3, E3, 30, LAT, 5.0, omega=9 / 30)
    assert a == b


def test_other_class_counts():
    one = design_gamma("now", (4,), (1.0,), 10, LAT, 1.0)
    assert one.gamma == (1.0,) and math.isnan(one.table3_loss)
    four = design_gamma("ew", (2, 2, 2, 2), (8.0, 4.0, 2.0, 1.0), 20, LAT, 1.0)
    assert len(four.gamma) == 4 and math.isnan(four.table3_loss)
    uniform = gamma_loss("ew", (2, 2, 2, 2), (0.25,) * 4, (8.0, 4.0, 2.0, 1.0), 20, LAT, 1.0)
    assert four.expected_loss <= uniform
    assert four.expected_loss == pytest.approx(
        float(
            theory.expected_loss("ew", (2, 2, 2, 2), four.gamma, LAT, 1.0, 20, (8.0, 4.0, 2.0, 1.0), normalize=True)[0]
        ),
        rel=1e-12,
    )


def test_a_deadline_by_which_everything_decodes_keeps_a_grid_point():
    # Ω = 1, T = 5: almost every worker has answered, the loss is zero to rounding
    result = design_gamma("ew", (3,) * 5, (16.0, 8.0, 4.0, 2.0, 1.0), 100, LAT, 5.0, omega=1.0)
    assert result.expected_loss <= 1e-14
    assert result.expected_loss == pytest.approx(
        gamma_loss("ew", (3,) * 5, result.gamma, (16.0, 8.0, 4.0, 2.0, 1.0), 100, LAT, 5.0, omega=1.0), abs=1e-30
    )


def test_result_is_frozen():
    result = design_gamma("now", (2, 2), (2.0, 1.0), 8, LAT, 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.gamma = (0.5, 0.5)  # type: ignore[misc]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "change, exc, words",
    [
        ({"code": "mds"}, ValueError, "unknown code 'mds'; valid values are 'now', 'ew'"),
        ({"code": 3}, TypeError, "code must be a string"),
        ({"decoder": "ml"}, ValueError, "unknown decoder 'ml'; valid values are 'zero', 'lmmse'"),
        ({"partition": "rows"}, ValueError, "unknown partition 'rows'"),
        ({"class_energy": (40.0, 0.0, 1.0)}, ValueError, "class_energy entries must be finite and > 0"),
        ({"class_energy": (40.0, -1.0, 1.0)}, ValueError, "class_energy entries must be finite and > 0"),
        ({"class_energy": (40.0, 1.0)}, ValueError, "class_energy has 2 entries but k has 3 classes"),
        ({"class_energy": "40,1,0.07"}, TypeError, "class_energy must be a sequence of 3 positive numbers"),
        ({"k": (3, 0, 3)}, ValueError, "every entry of k must be >= 1"),
        ({"deadline": 0.0}, ValueError, "deadline must be finite and > 0"),
        ({"deadline": (0.5, -1.0)}, ValueError, "deadline must be finite and > 0"),
        ({"deadline": ()}, ValueError, "deadline is empty"),
        ({"deadline": "0.5"}, TypeError, "deadline must be a positive number or a sequence"),
        ({"deadline": (0.5, 1.0), "weights": (1.0,)}, ValueError, "weights has 1 entries but there are 2 deadlines"),
        ({"deadline": (0.5, 1.0), "weights": (1.0, -1.0)}, ValueError, "weights must be finite, >= 0 and not all zero"),
        ({"deadline": (0.5, 1.0), "weights": (0.0, 0.0)}, ValueError, "weights must be finite, >= 0 and not all zero"),
        ({"workers": 0}, ValueError, "workers must be >= 1"),
        ({"latency": 1.0}, TypeError, "latency must be a uepmm.latency.LatencyModel"),
        ({"omega": -1.0}, ValueError, "omega must be > 0"),
        ({"trials": 0}, ValueError, "trials must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative integer"),
    ],
)
def test_bad_input_is_a_clear_error(change, exc, words):
    args = {"code": "now", "k": K3, "class_energy": E3, **SEC6, **change}
    with pytest.raises(exc) as info:
        design_gamma(**args)
    assert words in str(info.value)


def test_gamma_loss_checks_gamma():
    with pytest.raises(ValueError, match="gamma has 2 entries but there are 3 classes"):
        gamma_loss("now", K3, (0.5, 0.5), E3, **SEC6)
    with pytest.raises(ValueError, match="gamma must sum to 1"):
        gamma_loss("now", K3, (0.5, 0.5, 0.5), E3, **SEC6)
