"""Polynomial codes (Yu, Maddah-Ali & Avestimehr): exact with any K packets, r×c only, work 1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import Exponential, JobSpec, coded_matmul, plan_job
from uepmm.codes import Polynomial, make_code
from uepmm.codes.polynomial import chebyshev_leja_points
from uepmm.decoding import recoverable
from uepmm.draw import draw_job


def _matrices(seed=0, shape=(30, 24, 27)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape[:2]), rng.standard_normal(shape[1:])


def test_rows_follow_the_rxc_index_convention():
    spec = JobSpec(code="polynomial", partition="rxc", blocks=(2, 3), workers=7, latency=None)
    enc = draw_job(spec, seed=0).encoding
    x = chebyshev_leja_points(7)
    for w in range(7):
        for n in range(2):
            for p in range(3):
                assert enc.generator[w, n * 3 + p] == pytest.approx(x[w] ** (n + p * 2), rel=1e-14, abs=1e-15)
        alpha, beta = enc.factors[w]
        np.testing.assert_allclose(np.outer(alpha, beta).ravel(), enc.generator[w], rtol=1e-14, atol=0)


def test_points_are_shifted_chebyshev_points_in_leja_order():
    x = chebyshev_leja_points(12)
    np.testing.assert_allclose(np.sort(x), np.sort(np.cos((4 * np.arange(12) + 3) * np.pi / 48)), rtol=0, atol=1e-15)
    assert abs(x[0]) == pytest.approx(np.max(np.abs(x)))
    assert x[1] * x[0] < 0  # the second point is at the other end of the interval
    assert np.min(np.abs(x[:, None] + x[None, :])) > 1e-3  # no symmetric pairs ±x


def test_exact_with_every_packet_k9():
    A, B = _matrices()
    result = coded_matmul(A, B, code="polynomial", partition="rxc", blocks=(3, 3), workers=12, decoder="zero", seed=1)
    assert result.recovered.all()
    C = A @ B
    assert np.linalg.norm(result.estimate - C) / np.linalg.norm(C) < 1e-8
    assert 1.0 <= result.report["condition_number"] < 1e6


@pytest.mark.parametrize("decoder", ["zero", "lmmse"])
def test_exactly_k_packets_suffice(decoder):
    A, B = _matrices(1)
    C = A @ B
    # no latency model: the first K workers answer (all at time 0) and the decoder stops there
    result = coded_matmul(A, B, code="polynomial", partition="rxc", blocks=(3, 3), workers=9, latency=None,
                          decoder=decoder)
    assert result.received == 9 and result.recovered.all()
    assert np.linalg.norm(result.estimate - C) / np.linalg.norm(C) < 1e-8
    # a deadline between the 9th and the 10th arrival of 15 workers: exactly K arrive, from stragglers' points
    spec = JobSpec(code="polynomial", partition="rxc", blocks=(3, 3), workers=15, latency=Exponential(1.0),
                   decoder=decoder)
    times = np.sort(plan_job(A, B, spec, seed=5).job.times)
    result = coded_matmul(A, B, spec.with_(deadline=float((times[8] + times[9]) / 2)), seed=5)
    assert result.received == 9 and result.recovered.all()
    assert np.linalg.norm(result.estimate - C) / np.linalg.norm(C) < 1e-8


def test_any_k_rows_are_full_rank_and_fewer_recover_nothing():
    spec = JobSpec(code="polynomial", partition="rxc", blocks=(3, 3), workers=14, latency=None)
    G = draw_job(spec, seed=0).generator
    rng = np.random.default_rng(0)
    for _ in range(50):
        rows = rng.choice(14, size=9, replace=False)
        assert recoverable(G[rows]).all()
        assert not recoverable(G[rows[:8]]).any()


def test_self_description():
    code = make_code("polynomial")
    assert code.deterministic and not code.uses_window_probabilities and not code.class_aware
    assert code.recovery_threshold(9) == 9
    np.testing.assert_array_equal(code.all_decoded_probability((3, 3, 3), 12), (np.arange(13) >= 9).astype(float))
    P = code.decoding_probabilities((3, 3, 3), 12)
    np.testing.assert_array_equal(P[:, 0], (np.arange(13) >= 9).astype(float))
    spec = JobSpec(code="polynomial", partition="rxc", blocks=(3, 4), workers=13, cost="work")
    drawn = draw_job(spec, seed=0)
    np.testing.assert_array_equal(drawn.work, np.ones(13))  # one block product per packet


def test_cxr_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="use code='matdot'"):
        JobSpec(code="polynomial", partition="cxr", blocks=9)
    with pytest.raises(ValueError, match="grid"):
        Polynomial().encode(JobSpec(code="mds", partition="rxc").uniform_classes, 9, np.random.default_rng(0))
    with pytest.raises(ValueError, match="gamma"):
        make_code("polynomial", gamma=(0.5, 0.5))


def test_factor_encoding_keeps_the_polynomial_rows():
    spec = JobSpec(code="polynomial", partition="rxc", blocks=(2, 2), workers=6, encoding="factor")
    direct = draw_job(spec.with_(encoding="direct"), seed=3).generator
    np.testing.assert_array_equal(draw_job(spec, seed=3).generator, direct)


def test_large_k_conditioning_is_reported():
    A, B = _matrices(2, (36, 12, 36))
    result = coded_matmul(A, B, code="polynomial", partition="rxc", blocks=(4, 4), workers=16, latency=None,
                          decoder="zero", deadline=math.inf)
    assert result.report["condition_number"] > 1e3  # a real Vandermonde system: grows exponentially with K
