"""cost="work": a packet of s block products answers after the sum of s latency draws (over Ω)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import Exponential, JobSpec, coded_matmul, paper_sec6_classes, plan_job
from uepmm.draw import draw_job, draw_response_times, draw_unit_times, max_packet_work
from uepmm.experiments.engine_curves import engine_loss_curves
from uepmm.streams import job_streams, product_rng


def _ab(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((18, 27)), rng.standard_normal((27, 18))


@pytest.mark.parametrize("code,workers,partition,blocks", [("ew", 15, "cxr", 9), ("mds", 12, "rxc", (3, 3))])
def test_equal_cost_draws_what_it_always_drew(code, workers, partition, blocks):
    spec = JobSpec(code=code, partition=partition, blocks=blocks, workers=workers)
    for seed in (0, 7):
        streams = job_streams(seed)
        expected_times = streams.times.exponential(1.0, workers) / spec.omega_value
        expected_rows = spec.code_object.encode(spec.uniform_classes, workers, streams.code).generator
        drawn = draw_job(spec, seed=seed)
        np.testing.assert_array_equal(drawn.times, expected_times)
        np.testing.assert_array_equal(drawn.generator, expected_rows)
        assert drawn.work is None


@pytest.mark.parametrize("seed", [3, product_rng(3)])
def test_uncoded_work_one_keeps_the_equal_times(seed):
    """Work 1 per packet: the same times as cost='equal' (row 0 of the unit times is the equal draw),
    for an int seed and for a Generator (the uncoded rows draw nothing)."""
    spec = JobSpec(code="uncoded", partition="cxr", blocks=9, workers=9)
    equal = draw_job(spec, seed=seed)
    work = draw_job(spec.with_(cost="work"), seed=product_rng(3) if not isinstance(seed, int) else seed)
    np.testing.assert_array_equal(work.work, np.ones(9))
    np.testing.assert_array_equal(work.times, equal.times)
    np.testing.assert_array_equal(work.generator, equal.generator)


def test_work_times_are_sums_of_unit_draws():
    spec = JobSpec(code="ew", partition="cxr", blocks=9, workers=15, class_counts=(3, 3, 3), cost="work")
    assert max_packet_work(spec) == 9 and max_packet_work(spec.with_(cost="equal")) == 1
    assert max_packet_work(spec.with_(partition="rxc", blocks=(2, 5), class_counts=(4, 3, 3))) == 2
    drawn = draw_job(spec, seed=product_rng(1))
    rng = product_rng(1)
    units = rng.exponential(1.0, 9 * 15).reshape(9, 15)  # the unit times first (row j: every worker's j-th unit)
    rows = spec.code_object.encode(spec.uniform_classes, 15, rng).generator  # ... then the code
    np.testing.assert_array_equal(drawn.generator, rows)
    work = np.count_nonzero(rows, axis=1)
    np.testing.assert_array_equal(drawn.work, work)
    expected = np.array([units[: work[w], w].sum() for w in range(15)]) / spec.omega_value
    # the same <= 9 positive terms, perhaps summed in another order: within 2 (9 - 1) ulp
    np.testing.assert_allclose(drawn.times, expected, rtol=4e-15)
    np.testing.assert_array_equal(draw_unit_times(spec, product_rng(1)), units)
    with pytest.raises(ValueError, match="draw_job"):
        draw_response_times(spec, product_rng(1))


def test_ew_cxr_is_slower_with_work_cost():
    """EW c×r windows hold 3, 6 and 9 sub-products: larger windows answer later on average,
    and the mean loss at a fixed deadline is higher than with cost='equal'."""
    spec = JobSpec(code="ew", partition="cxr", blocks=9, workers=15, class_counts=(3, 3, 3), cost="work")
    means = {3: [], 6: [], 9: []}
    for seed in range(400):
        drawn = draw_job(spec, seed=seed)
        for w, s in enumerate(drawn.work):
            means[int(s)].append(drawn.times[w])
    m3, m6, m9 = (np.mean(means[s]) for s in (3, 6, 9))
    omega = spec.omega_value
    assert m3 < m6 < m9
    for s, m in ((3, m3), (6, m6), (9, m9)):  # the mean of a Gamma(s, 1) over Ω
        assert m == pytest.approx(s / omega, rel=0.1)
    equal = engine_loss_curves("cxr", "ew", trials=60, seed=0, matrix_draws=2, size_scale=0.1)
    work = engine_loss_curves("cxr", "ew", trials=60, seed=0, matrix_draws=2, size_scale=0.1, cost="work")
    deadline = [1.0, 2.0]
    loss_equal = equal.vs_time(deadline, "sampled")
    loss_work = work.vs_time(deadline, "sampled")
    assert np.all(loss_work > loss_equal)
    with pytest.raises(ValueError, match="sampled"):
        work.vs_time(deadline)  # the binomial weighting assumes cost='equal'


def test_coded_matmul_with_work_cost_reports_the_work():
    A, B = _ab()
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=15, cost="work", deadline=math.inf,
                   classes=paper_sec6_classes("rxc"), latency=Exponential(1.0))
    result = coded_matmul(A, B, spec, seed=2)
    plan = plan_job(A, B, spec, seed=2)
    np.testing.assert_array_equal(result.report["response_times"], plan.job.times)
    assert result.report["cost"] == "work"
    work = np.asarray(result.report["packet_work"])
    assert np.all((work >= 1) & (work <= 3))
    np.testing.assert_allclose(result.estimate, A @ B, rtol=1e-8, atol=1e-8)


def test_training_path_draws_what_coded_matmul_draws_with_work_cost():
    torch = pytest.importorskip("torch")
    from uepmm.nn import CodingConfig, lean_product

    cases = [("uncoded", 9, "rxc", (3, 3)), ("mds", 12, "cxr", 9), ("ew", 15, "cxr", 9), ("now", 15, "rxc", (3, 3)),
             ("polynomial", 12, "rxc", (3, 3))]
    for code, workers, partition, blocks in cases:
        config = CodingConfig(code=code, partition=partition, blocks=blocks, workers=workers, deadline=4.0,
                              cost="work")
        rng = np.random.default_rng(2)
        A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
        for seed in range(4):
            _, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), config, seed)
            result = coded_matmul(A, B, config, seed=product_rng(seed))
            np.testing.assert_array_equal(info["response_times"], result.report["response_times"])
            np.testing.assert_array_equal(info["recovered"], result.recovered)


def test_poisson_binomial_and_the_gamma_cdf():
    from scipy import stats

    from uepmm.theory.work import arrival_distribution_work, poisson_binomial, work_response_cdf

    np.testing.assert_allclose(poisson_binomial(np.full(7, 0.3)), stats.binom.pmf(np.arange(8), 7, 0.3), atol=1e-15)
    F = work_response_cdf(Exponential(2.0), [1, 3], [0.5, 1.0], omega=0.6)
    np.testing.assert_allclose(F[:, 0], 1 - np.exp(-2.0 * 0.6 * np.array([0.5, 1.0])), rtol=1e-12)
    np.testing.assert_allclose(F[:, 1], stats.gamma.cdf(0.6 * np.array([0.5, 1.0]), 3, scale=0.5), rtol=1e-12)
    # against the one draw: uncoded workers all of work 1 and EW windows of work 3, 6, 9 (Monte Carlo)
    spec = JobSpec(code="ew", partition="cxr", blocks=9, workers=15, class_counts=(3, 3, 3), cost="work",
                   gamma=(0.4, 0.35, 0.25))
    counts = np.zeros(16)
    for seed in range(3000):
        counts[np.count_nonzero(draw_job(spec, seed=seed).times <= 4.0)] += 1
    g = np.array([0.4, 0.35, 0.25])
    p = float(g @ work_response_cdf(Exponential(1.0), [3, 6, 9], [4.0], spec.omega_value)[0])
    expected = stats.binom.pmf(np.arange(16), 15, p)
    assert np.abs(counts / 3000 - expected).max() < 0.03
    fixed = arrival_distribution_work(Exponential(1.0), [4.0], [3, 6, 9] * 5, spec.omega_value)[0]
    assert fixed.sum() == pytest.approx(1.0)


def test_expected_loss_under_work_cost_matches_the_monte_carlo_rxc():
    """Theorem 1 (exact for r×c) with Γ'(t) and p(t): the expected number of unrecovered sub-products."""
    from uepmm.decoding import recoverable
    from uepmm.theory.work import expected_loss_work

    classes = paper_sec6_classes("rxc")
    gamma = (0.4, 0.35, 0.25)
    spec = JobSpec(code="ew", partition="rxc", blocks=(3, 3), workers=15, classes=classes, gamma=gamma, cost="work")
    window_work = {}
    deadline = 3.0
    missing = []
    for seed in range(1500):
        drawn = draw_job(spec, classes, seed=seed)
        for window, s in zip(drawn.encoding.windows, drawn.work):
            assert window_work.setdefault(int(window), int(s)) == int(s)  # one work per window
        missing.append(9 - int(recoverable(drawn.generator[drawn.times <= deadline]).sum()))
    work = [window_work[w] for w in range(3)]
    theory = expected_loss_work("ew", classes.counts, gamma, Exponential(1.0), [deadline], 15, (1.0, 1.0, 1.0),
                                partition="rxc", omega=spec.omega_value, work=work)[0]
    assert np.mean(missing) == pytest.approx(theory, abs=4 * np.std(missing) / np.sqrt(len(missing)) + 1e-3)
    equal = expected_loss_work("ew", classes.counts, gamma, Exponential(1.0), [deadline], 15, (1.0, 1.0, 1.0),
                               partition="rxc", omega=spec.omega_value, work=[1, 1, 1])[0]
    assert theory > equal  # the paper's model (work 1 everywhere) is optimistic
    from uepmm.theory import expected_loss

    paper = expected_loss("ew", classes.counts, gamma, Exponential(1.0), [deadline], 15, (1.0, 1.0, 1.0),
                          partition="rxc", omega=spec.omega_value)[0]
    assert equal == pytest.approx(paper, rel=1e-10)  # work 1 everywhere is eq. 13 with Theorem 1
