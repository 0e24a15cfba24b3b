"""Random streams: the seed contract of a job and the training product stream."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm.streams import _ProductSeed, job_streams, product_rng


def test_product_rng_streams():
    a, b = product_rng(12345).random(5), product_rng(12345).random(5)
    assert np.array_equal(a, b)  # deterministic
    # neighbouring seeds (consecutive steps) and seeds beyond 64 bits give unrelated streams
    seeds = [0, 1, 2, 2**40, 2**64 - 1, 2**64, 2**64 + 1, 2**130 + 7]
    draws = np.array([product_rng(s).random(20_000) for s in seeds])
    assert len({tuple(d[:4]) for d in draws}) == len(seeds)
    corr = np.corrcoef(draws)
    assert np.abs(corr[~np.eye(len(seeds), dtype=bool)]).max() < 0.04  # |r| ~ N(0, 1/sqrt(20000))
    assert np.abs(draws.mean(axis=1) - 0.5).max() < 0.01
    words64 = _ProductSeed(99).generate_state(3, np.uint64)
    words32 = _ProductSeed(99).generate_state(5, np.uint32)
    assert words64.dtype == np.uint64 and words32.dtype == np.uint32 and words32.shape == (5,)
    np.testing.assert_array_equal(words32, words64.view(np.uint32)[:5])
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(TypeError, match="seed must be a non-negative int"):
            product_rng(bad)


def test_job_streams_split_an_int_seed_and_share_a_generator():
    times, code = job_streams(5)
    code_seed, times_seed = np.random.SeedSequence(5).spawn(2)
    np.testing.assert_array_equal(times.random(4), np.random.default_rng(times_seed).random(4))
    np.testing.assert_array_equal(code.random(4), np.random.default_rng(code_seed).random(4))
    rng = np.random.default_rng(3)
    same = job_streams(rng)
    assert same.times is rng and same.code is rng
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        job_streams("x")
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        job_streams(-3)
