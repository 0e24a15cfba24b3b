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
    np.testing.assert_allclose(drawn.times, expected, rtol=1e-15)
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
