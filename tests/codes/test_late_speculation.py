"""Spark's and cubed's speculation rules (codes 'spark', 'cubed'): copies launched exactly when the
definitions say, on fixed schedules computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import JobSpec, Schedule, coded_matmul
from uepmm.codes.speculative import CUBED, SPARK, late_backup_schedule

CHECK = 0.1  # the rule is checked at i * 0.1


def _units(first: list[float], workers: int, copy: float = 0.5) -> np.ndarray:
    """Task k's first attempt lasts ``first[k]`` (on worker k); every later attempt lasts ``copy``."""
    units = np.full((len(first), workers), copy)
    units[0, : len(first)] = first
    return units


def test_spark_copies_after_75_percent_when_slower_than_1_5_medians():
    # 8 tasks: 6 = floor(0.75 * 8) have finished at 2.2 with durations 1, 1.2, 1.4, 1.6, 2, 2.2 (median 1.5):
    # tasks 6 and 7 get a copy at the first check with runtime > 2.25, i.e. t = 2.3, on the lowest free
    # workers 0 and 1; the copies take 0.5, so both tasks are done at 2.8 (the originals are killed)
    finish, launches = late_backup_schedule(_units([1, 1.2, 1.4, 1.6, 2, 2.2, 9, 10], 12), 1.0, SPARK)
    assert [(round(t, 12), k, w) for t, k, w in launches] == [(2.3, 6, 0), (2.3, 7, 1)]
    assert launches[0][0] == 23 * CHECK
    np.testing.assert_allclose(finish, [1, 1.2, 1.4, 1.6, 2, 2.2, 2.8, 2.8], rtol=0, atol=1e-12)


def test_spark_one_copy_per_task_and_the_median_of_the_finished():
    # 4 tasks, 3 must finish (floor(0.75 * 4)); at t = 3 durations 1, 2, 3 (median 2, threshold 3): task 3
    # gets its copy at 3.1 on worker 0; the copy is slow too (100), and no second copy comes: done at 10
    finish, launches = late_backup_schedule(_units([1, 2, 3, 10], 4, copy=100.0), 1.0, SPARK)
    assert [(round(t, 12), k, w) for t, k, w in launches] == [(3.1, 3, 0)]
    assert finish[3] == 10.0
    # no copy before 3 of the 4 finished, however slow a task: the third finishes at 30, and task 3 gets
    # its copy at the check at that time (runtime 30 > 1.5 * median 2); the copy takes 0.5
    finish, launches = late_backup_schedule(_units([1, 2, 30, 40], 6), 1.0, SPARK)
    assert [(round(t, 12), k, w) for t, k, w in launches] == [(30.0, 3, 0)]
    np.testing.assert_allclose(finish, [1, 2, 30, 30.5], rtol=0, atol=1e-12)


def test_spark_waits_for_a_free_worker():
    # W = K = 4: task 3 qualifies at 3.1 (as above) and worker 0 is free (finished at 1)
    finish, launches = late_backup_schedule(_units([1, 2, 3, 10], 4), 1.0, SPARK)
    assert [(round(t, 12), k, w) for t, k, w in launches] == [(3.1, 3, 0)]
    assert math.isclose(finish[3], 3.6, abs_tol=1e-12)


def test_cubed_copies_with_10_tasks_half_done_slower_than_3_medians():
    # 12 tasks; at 2, six are done with durations 1, 1, 1, 1.1, 1.1, 2 (median 1.05, threshold 3.15): the six
    # running tasks get backups at the first check after 3.15, t = 3.2, on the six free workers 0..5
    finish, launches = late_backup_schedule(_units([1, 1, 1, 1.1, 1.1, 2, 3.5, 4, 5, 20, 30, 40], 14), 1.0, CUBED)
    assert [(round(t, 12), k, w) for t, k, w in launches] == [(3.2, k, k - 6) for k in range(6, 12)]
    np.testing.assert_allclose(finish, [1, 1, 1, 1.1, 1.1, 2, 3.5, 3.7, 3.7, 3.7, 3.7, 3.7], rtol=0, atol=1e-12)


def test_cubed_keeps_the_original_running_and_never_copies_fewer_than_10_tasks():
    # W = K = 12: the same six tasks qualify at 3.2 and workers 0..5 are free; the originals are not
    # cancelled, so when copies finish at 3.7 those workers are free, the originals' workers are not
    finish, launches = late_backup_schedule(_units([1, 1, 1, 1.1, 1.1, 2, 3.5, 4, 5, 20, 30, 40], 12), 1.0, CUBED)
    assert len(launches) == 6
    finish, launches = late_backup_schedule(_units([1, 1, 1, 1.1, 1.1, 2, 3.5, 4, 50], 12), 1.0, CUBED)
    assert launches == [] and finish[-1] == 50.0  # K = 9 < 10 tasks: never


def test_codes_through_coded_matmul_on_a_schedule():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((20, 36)), rng.standard_normal((36, 12))
    K, W = 12, 14
    units = _units([1, 1, 1, 1.1, 1.1, 2, 3.5, 4, 5, 20, 30, 40], W)
    spec = JobSpec(code="cubed", partition="cxr", blocks=K, workers=W, latency=Schedule(tuple(units.ravel())),
                   omega=1.0, deadline=3.8, decoder="zero")
    result = coded_matmul(A, B, spec, seed=0, reorder=False)
    assert result.recovered.all()  # every task done by 3.7
    assert [e.time for e in result.timeline][-5:] == pytest.approx([3.7] * 5, abs=1e-12)
    late = coded_matmul(A, B, spec.with_(code="spark"), seed=0, reorder=False)
    # Spark: 9 = floor(0.75 * 12) finished only at 5 (median 1.1 -> threshold 1.65 < 5.1): nothing by 3.8
    assert late.recovered.tolist() == [True] * 7 + [False] * 5  # 3.5 is the 7th original to end


def test_dask_needs_latency_none():
    with pytest.raises(ValueError, match="code 'spark' runs on Dask without model delays only"):
        JobSpec(code="spark", workers=30, backend="dask")
    assert JobSpec(code="spark", workers=30, backend="dask", latency=None).backend == "dask"  # pull execution
    with pytest.raises(ValueError, match="code 'cubed' takes no adaptive packets"):
        JobSpec(code="cubed", workers=30, adaptive=True)
