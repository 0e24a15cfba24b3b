"""``uepmm.job.Job``: response times (with and without a latency model or drawn times) and packets."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm.codes import Encoding, to_factor_form
from uepmm.job import Job
from uepmm.latency import Exponential, Pareto
from uepmm.partition import make_partition
from uepmm.worker import coded_product, factor_product

RTOL = 1e-10


def _job(kind="cxr", *, times=None, encoding=None, seed=0, omega=1.0):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((9, 10)), rng.standard_normal((10, 7))
    partition = make_partition(A.shape, B.shape, kind, (2, 2) if kind == "rxc" else 3)
    K = partition.num_products
    if encoding is None:
        generator = rng.standard_normal((5, K)) * (rng.random((5, K)) < 0.6)
        generator[np.arange(5), np.arange(5) % K] = 1.0  # no all-zero row
        encoding = Encoding(generator, np.zeros(5, dtype=int))
    if times is None:
        times = np.zeros(encoding.workers)
    return Job(partition, partition.a_blocks(A), partition.b_blocks(B), encoding, times, 2.0, omega)


def test_response_times_are_the_drawn_times_and_copied():
    drawn = np.array([0.3, 2.5, 0.1, 7.0, 1.0])
    job = _job(times=drawn, omega=3.0)
    assert job.workers == 5 and job.deadline == 2.0 and job.omega == 3.0
    times = job.response_times()
    np.testing.assert_array_equal(times, drawn)  # neither re-drawn nor rescaled by omega
    times[0] = 99.0  # the caller's copy; the job is unchanged
    np.testing.assert_array_equal(job.response_times(), drawn)


def test_plan_job_draws_the_times_of_the_seed():
    """The job carries draw_job's times: the latency stream of the seed, scaled by 1/Ω."""
    from uepmm import plan_job

    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((9, 12)), rng.standard_normal((12, 9))
    latency = Exponential(rate=0.5)
    plan = plan_job(A, B, code="mds", blocks=3, workers=5, latency=latency, omega=0.6, seed=2024)
    _, times_seed = np.random.SeedSequence(2024).spawn(2)
    expected = latency.sample_response(np.random.default_rng(times_seed), 5, 0.6)
    np.testing.assert_allclose(plan.job.response_times(), expected, rtol=RTOL)
    faster = plan_job(A, B, code="mds", blocks=3, workers=5, latency=latency, omega=1.2, seed=2024)
    np.testing.assert_allclose(faster.job.response_times(), expected / 2, rtol=RTOL)  # F(Ω t)
    none = plan_job(A, B, code="mds", blocks=3, workers=5, latency=None, seed=2024)
    np.testing.assert_array_equal(none.job.response_times(), np.zeros(5))
    assert Pareto(2.0, 1.0).sample_response(np.random.default_rng(0), 3).shape == (3,)


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_compute_packet_is_the_worker_function(kind):
    job = _job(kind, seed=3)
    products = job.partition.block_products(job.a_blocks, job.b_blocks)
    for w in range(job.workers):
        row = job.encoding.generator[w]
        packet = job.compute_packet(w)
        direct = coded_product(kind, job.a_blocks, job.b_blocks, job.partition.grid, row)
        np.testing.assert_allclose(packet, direct, rtol=RTOL, atol=RTOL * np.abs(direct).max())
        combination = np.einsum("k,kij->ij", row, products)
        np.testing.assert_allclose(packet, combination, rtol=RTOL, atol=RTOL * np.abs(combination).max())


def test_compute_packet_uses_the_factor_form_when_the_encoding_has_factors():
    base = _job("rxc", seed=4)
    K = base.partition.num_products
    # windows that are rectangles of the 2x2 grid: a row, a column, a single cell, everything
    generator = np.zeros((4, K))
    for w, cells in enumerate(([0, 1], [1, 3], [2], [0, 1, 2, 3])):
        generator[w, cells] = 1.0
    encoding = to_factor_form(Encoding(generator, np.arange(4)), base.partition, np.random.default_rng(5))
    job = _job("rxc", seed=4, encoding=encoding)
    products = job.partition.block_products(job.a_blocks, job.b_blocks)
    for w in range(4):
        alpha, beta = encoding.factors[w]
        packet = job.compute_packet(w)
        expected = factor_product(job.a_blocks, job.b_blocks, alpha, beta)
        np.testing.assert_allclose(packet, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())
        # and it is the code's generator row applied to the sub-products (eq. 11)
        combination = np.einsum("k,kij->ij", encoding.generator[w], products)
        np.testing.assert_allclose(packet, combination, rtol=RTOL, atol=RTOL * np.abs(combination).max())
