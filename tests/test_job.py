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


def _job(kind="cxr", *, latency=None, omega=1.0, latency_seed=None, drawn_times=None, encoding=None, seed=0):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((9, 10)), rng.standard_normal((10, 7))
    partition = make_partition(A.shape, B.shape, kind, (2, 2) if kind == "rxc" else 3)
    K = partition.num_products
    if encoding is None:
        generator = rng.standard_normal((5, K)) * (rng.random((5, K)) < 0.6)
        generator[np.arange(5), np.arange(5) % K] = 1.0  # no all-zero row
        encoding = Encoding(generator, np.zeros(5, dtype=int))
    return Job(partition, partition.a_blocks(A), partition.b_blocks(B), encoding, latency, omega, 2.0,
               latency_seed=latency_seed, drawn_times=drawn_times)


def test_no_latency_model_means_everyone_answers_at_time_zero():
    job = _job(latency=None, drawn_times=np.array([1.0, 2.0, 3.0, 4.0, 5.0]))  # ignored without a model
    assert job.workers == 5
    assert np.array_equal(job.response_times(), np.zeros(5))


def test_response_times_are_the_latency_draws_of_the_job_seed():
    seed = np.random.SeedSequence(2024)
    latency = Exponential(rate=0.5)
    job = _job(latency=latency, omega=0.6, latency_seed=seed)
    times = job.response_times()
    expected = latency.sample_response(np.random.default_rng(np.random.SeedSequence(2024)), 5, 0.6)
    np.testing.assert_allclose(times, expected, rtol=RTOL)
    # the same job draws the same times every time (every backend sees the same delays)
    np.testing.assert_array_equal(job.response_times(), times)
    # Omega scales time: F(omega t), i.e. the draws divided by omega
    np.testing.assert_allclose(_job(latency=latency, omega=1.2, latency_seed=seed).response_times(), times / 2,
                               rtol=RTOL)
    # another seed, other times
    other = _job(latency=latency, omega=0.6, latency_seed=np.random.SeedSequence(2025)).response_times()
    assert not np.allclose(other, times)


def test_drawn_times_are_used_as_given_and_copied():
    drawn = np.array([0.3, 2.5, 0.1, 7.0, 1.0])
    job = _job(latency=Pareto(2.0, 1.0), omega=3.0, latency_seed=np.random.SeedSequence(1), drawn_times=drawn)
    times = job.response_times()
    np.testing.assert_array_equal(times, drawn)  # neither re-drawn nor rescaled by omega
    times[0] = 99.0  # the caller's copy; the job is unchanged
    np.testing.assert_array_equal(job.response_times(), drawn)


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
