"""The one draw: coded_matmul, the figure Monte Carlo and the training path draw the same rows and times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import Exponential, JobSpec, coded_matmul, paper_sec6_classes, plan_job
from uepmm.draw import draw_job
from uepmm.experiments.engine_curves import draw_trial, trial_seed
from uepmm.streams import product_rng

CASES = [
    ("uncoded", 9, "rxc", (3, 3)),
    ("repetition", 18, "cxr", 9),
    ("mds", 12, "rxc", (3, 3)),
    ("now", 15, "cxr", 9),
    ("ew", 15, "rxc", (3, 3)),
]


@pytest.mark.parametrize("code,workers,partition,blocks", CASES)
def test_plan_job_and_the_figure_monte_carlo_draw_the_same(code, workers, partition, blocks):
    classes = paper_sec6_classes(partition)
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
    latency = Exponential(1.0)
    for trial in range(3):
        plan = plan_job(
            A, B, code=code, partition=partition, blocks=blocks, workers=workers, classes=classes, latency=latency,
            omega=1.0, gamma=(0.4, 0.35, 0.25) if code in ("now", "ew") else None, seed=trial_seed(0, trial),
        )
        rows, times = draw_trial(code, classes, workers, latency, 1.0, trial_seed(0, trial))
        np.testing.assert_array_equal(plan.job.encoding.generator, rows)
        np.testing.assert_array_equal(plan.job.times, times)
        assert np.all(np.count_nonzero(rows, axis=1) > 0)


@pytest.mark.parametrize("code,workers,partition,blocks", CASES)
def test_draw_job_with_a_generator_draws_times_then_code(code, workers, partition, blocks):
    spec = JobSpec(code=code, partition=partition, blocks=blocks, workers=workers, class_counts=(3, 3, 3))
    drawn = draw_job(spec, seed=product_rng(11))
    rng = product_rng(11)
    times = rng.exponential(1.0, workers) / spec.omega_value  # the times come first ...
    np.testing.assert_array_equal(drawn.times, times)
    again = spec.code_object.encode(spec.uniform_classes, workers, rng)  # ... then the code
    np.testing.assert_array_equal(drawn.generator, again.generator)


@pytest.mark.parametrize("code,workers,partition,blocks", CASES)
def test_coded_matmul_reports_the_drawn_times(code, workers, partition, blocks):
    spec = JobSpec(code=code, partition=partition, blocks=blocks, workers=workers, deadline=math.inf, fidelity="fast")
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((9, 27)), rng.standard_normal((27, 9))
    result = coded_matmul(A, B, spec, seed=4)
    plan = plan_job(A, B, spec, seed=4)
    np.testing.assert_array_equal(result.report["response_times"], plan.job.times)
    np.testing.assert_array_equal(result.encoding.generator, plan.job.encoding.generator)
    np.testing.assert_allclose(result.estimate, A @ B, rtol=1e-9, atol=1e-9)


def test_training_path_draws_what_coded_matmul_draws():
    torch = pytest.importorskip("torch")
    from uepmm.nn import CodingConfig, lean_product

    for code, workers, partition, blocks in CASES:
        config = CodingConfig(code=code, partition=partition, blocks=blocks, workers=workers, deadline=0.8)
        rng = np.random.default_rng(2)
        A, B = rng.standard_normal((12, 18)), rng.standard_normal((18, 12))
        for seed in range(4):
            _, info = lean_product(torch.from_numpy(A), torch.from_numpy(B), config, seed)
            result = coded_matmul(A, B, config, seed=product_rng(seed))
            np.testing.assert_array_equal(info["response_times"], result.report["response_times"])
            np.testing.assert_array_equal(info["recovered"], result.recovered)
