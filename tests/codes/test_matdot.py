"""MatDot codes (Dutta et al.): c×r only, exact from any 2M-1 packets and nothing before, work 1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import Exponential, JobSpec, coded_matmul, plan_job, theory
from uepmm.codes import MatDot, make_code
from uepmm.codes.matdot import MAX_CONDITION, matdot_weights
from uepmm.codes.polynomial import chebyshev_leja_points
from uepmm.draw import draw_job
from uepmm.experiments.engine_curves import engine_loss_curves
from uepmm.latency import Schedule


def _matrices(seed=0, shape=(30, 45, 27)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape[:2]), rng.standard_normal(shape[1:])


def _rel(X, C):
    return float(np.linalg.norm(X - C) / np.linalg.norm(C))


def test_factors_are_the_matdot_polynomials_and_rows_their_diagonal_coefficient():
    spec = JobSpec(code="matdot", partition="cxr", blocks=4, workers=9, latency=None)
    enc = draw_job(spec, seed=0).encoding
    x = chebyshev_leja_points(9)
    for w in range(9):
        alpha, beta = enc.factors[w]
        np.testing.assert_allclose(alpha, x[w] ** np.arange(4), rtol=1e-14, atol=0)
        np.testing.assert_allclose(beta, x[w] ** (3 - np.arange(4)), rtol=1e-14, atol=0)
        np.testing.assert_allclose(enc.generator[w], np.full(4, x[w] ** 3), rtol=1e-14, atol=0)
        # the coefficient of x^(M-1) in alpha(x) beta(x) is sum_m alpha_m beta_m = M x^(M-1) over the diagonal
        assert np.dot(alpha, beta) == pytest.approx(4 * x[w] ** 3, rel=1e-13)


@pytest.mark.parametrize("workers", [17, 20, 30])
def test_exact_with_every_packet_k9(workers):
    A, B = _matrices()
    result = coded_matmul(A, B, code="matdot", partition="cxr", blocks=9, workers=workers, deadline=math.inf,
                          latency=Exponential(1.0), seed=1)
    assert result.recovered.all() and result.received == 17  # the PS stops at the threshold
    assert _rel(result.estimate, A @ B) < 1e-8
    points = chebyshev_leja_points(workers)[[e.worker for e in result.timeline]]
    assert result.report["condition_number"] == pytest.approx(matdot_weights(points, 9)[1], rel=1e-12)
    assert 1.0 < result.report["condition_number"] < 1e9
    assert result.report["decoder"] == "matdot"


def test_exactly_2m_minus_1_packets_suffice_and_one_fewer_gives_nothing():
    A, B = _matrices(1)
    C = A @ B
    rng = np.random.default_rng(3)
    times = tuple(rng.permutation(20).astype(float) + 1.0)  # stragglers' points arrive first, in a random order
    spec = JobSpec(code="matdot", partition="cxr", blocks=9, workers=20, latency=Schedule(times), omega=1.0)
    result = coded_matmul(A, B, spec.with_(deadline=17.5), seed=0)
    assert result.received == 17 and result.recovered.all()
    assert _rel(result.estimate, C) < 1e-8
    result = coded_matmul(A, B, spec.with_(deadline=16.5), seed=0)
    assert result.received == 16 and not result.recovered.any()
    assert np.all(result.estimate == 0.0) and "condition_number" not in result.report
    assert [e.recovered for e in result.timeline] == [0] * 16
    fast = coded_matmul(A, B, spec.with_(deadline=17.5, fidelity="fast"), seed=0)
    assert fast.recovered.all() and _rel(fast.estimate, C) < 1e-12
    assert fast.report["condition_number"] == pytest.approx(
        coded_matmul(A, B, spec.with_(deadline=17.5), seed=0).report["condition_number"], rel=1e-12
    )


def test_decoder_request_is_ignored_and_reported():
    A, B = _matrices(2)
    result = coded_matmul(A, B, code="matdot", partition="cxr", blocks=3, workers=5, latency=None, decoder="lmmse")
    assert result.report["decoder"] == "matdot" and result.report["decoder_requested"] == "lmmse"
    assert _rel(result.estimate, A @ B) < 1e-10


def test_rows_only_hooks_refuse_and_the_arrival_hooks_replay_the_decoder():
    code = make_code("matdot")
    drawn = draw_job(JobSpec(code="matdot", partition="cxr", blocks=4, workers=10, latency=None), seed=0)
    for hook in (code.recoverable, code.recovery_curve):
        with pytest.raises(ValueError, match="not from coefficient rows: use MatDot.recovered_from"):
            hook(drawn.generator)
    with pytest.raises(ValueError, match="not from coefficient rows"):
        code.recovery_tracker(4)
    curve = code.recovery_curve_from(drawn.encoding, np.arange(10))  # M = 4: well conditioned, 7 suffice
    np.testing.assert_array_equal(curve.all(axis=1), np.arange(11) >= 7)
    np.testing.assert_array_equal(curve.any(axis=1), np.arange(11) >= 7)
    assert not code.recovered_from(drawn.encoding, np.arange(6)).any()
    assert code.recovered_from(drawn.encoding, []).size == 4


def test_arrival_hooks_agree_with_the_full_decoder_where_it_declines():
    """M = 9, W = 30: some first-17 systems exceed MAX_CONDITION; the rows-only paths must wait as the decoder does."""
    A, B = _matrices()
    spec = JobSpec(code="matdot", partition="cxr", blocks=9, workers=30, latency=Exponential(1.0), decoder="zero")
    code, waited = make_code("matdot"), 0
    for seed in range(40):
        res = coded_matmul(A, B, spec, seed=seed, deadline=math.inf)
        drawn = draw_job(spec, seed=seed)
        arrivals = np.argsort(drawn.times, kind="stable")
        curve = code.recovery_curve_from(drawn.encoding, arrivals)
        first = int(np.argmax(curve.all(axis=1)))  # packets the rows-only decision needs
        assert first == res.received  # the real decoder stopped at exactly that packet
        waited += first > 17
    assert waited >= 1  # the case that a count of packets got wrong


def test_self_description_and_theory():
    code = make_code("matdot")
    assert code.deterministic and not code.class_aware and not code.uses_window_probabilities
    assert code.recovery_threshold(9) == 17
    np.testing.assert_array_equal(code.all_decoded_probability((3, 3, 3), 20), (np.arange(21) >= 17).astype(float))
    P = theory.decoding_probabilities("matdot", (3, 3, 3))
    assert P.shape == (18, 3)
    np.testing.assert_array_equal(P, np.repeat((np.arange(18) >= 17).astype(float)[:, None], 3, axis=1))
    drawn = draw_job(JobSpec(code="matdot", partition="cxr", blocks=9, workers=17, cost="work"), seed=0)
    np.testing.assert_array_equal(drawn.work, np.ones(17))
    # eq. 13 with the step: the loss is lost only while N(t) < 2M-1; Theorem 2's c×r bound scales
    # ||sum_k P_k||^2 <= K sum_k ||P_k||^2, so with equal energies E[L(t)] <= K P(N(t) < 2M-1)
    lat = Exponential(1.0)
    loss = theory.expected_loss("matdot", (3, 3, 3), None, lat, [0.5, 1.0], 20, (1.0, 1.0, 1.0), "cxr", 1.0,
                                normalize=True)
    arrivals = theory.arrival_distribution(lat, [0.5, 1.0], 20, 1.0)
    np.testing.assert_allclose(loss, 9 * arrivals[:, :17].sum(axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match="use code='polynomial'"):
        theory.expected_loss("matdot", (3, 3, 3), None, lat, [1.0], 20, (1.0, 1.0, 1.0), "rxc")


def test_refuses_rxc_and_too_few_workers_with_the_fix():
    with pytest.raises(ValueError, match="code='matdot' is for partition 'cxr'.*use code='polynomial'"):
        JobSpec(code="matdot", partition="rxc", blocks=(3, 3), workers=20)
    with pytest.raises(ValueError, match=r"needs workers >= 2M - 1 = 17 .* got workers=16; use workers>=17 or "
                                         r"blocks<=8"):
        JobSpec(code="matdot", partition="cxr", blocks=9, workers=16)
    with pytest.raises(ValueError, match="copies"):
        make_code("matdot", copies=2)
    with pytest.raises(ValueError, match="at least 2M - 1 = 5 points, got 4"):
        matdot_weights(np.array([0.1, 0.2, 0.3, 0.4]), 3)


def test_figure_monte_carlo_is_all_or_nothing_at_the_threshold():
    curves = engine_loss_curves("cxr", "matdot", trials=12, seed=0, size_scale=0.2, matrix_draws=1)
    np.testing.assert_allclose(curves.loss_after[:, :17], 1.0, rtol=1e-12)
    for loss in curves.loss_after:  # a step from 1 to 0 at the packet the decoder's decision accepts (>= 17)
        step = int(np.argmax(loss < 0.5))
        assert step >= 17
        np.testing.assert_allclose(loss[:step], 1.0, rtol=1e-12)
        np.testing.assert_allclose(loss[step:], 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="'matdot' is for partition 'cxr'"):
        engine_loss_curves("rxc", "matdot", trials=2, size_scale=0.2)


def test_plan_binds_nothing_from_the_data():
    A, B = _matrices(4)
    plan = plan_job(A, B, code="matdot", partition="cxr", blocks=3, workers=6, latency=None)
    assert plan.code == MatDot() and plan.energies is None


def test_unequal_inner_blocks_are_zero_padded():
    A, B = _matrices(5, (20, 40, 10))  # H = 40 in M = 9 blocks: sizes 5 and 4
    plan = plan_job(A, B, code="matdot", partition="cxr", blocks=9, workers=17, latency=None)
    assert sorted({a.shape[1] for a in plan.job.a_blocks}) == [4, 5]
    result = coded_matmul(A, B, plan.spec)
    assert result.recovered.all() and _rel(result.estimate, A @ B) < 1e-8


def test_verifier_checks_the_whole_matdot_polynomial():
    from uepmm.verification import PacketVerifier

    A, B = _matrices(6, (20, 40, 10))
    plan = plan_job(A, B, code="matdot", partition="cxr", blocks=9, workers=17, latency=None)
    job = plan.job
    verifier = PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=np.random.default_rng(0))
    for w in (0, 5, 16):
        alpha, beta = job.encoding.factors[w]
        packet = job.compute_packet(w)
        assert verifier.check(job.encoding.generator[w], packet, factors=(alpha, beta)) == "ok"
        # the diagonal terms alone (sum_k g_k P_k) are not the packet: the cross terms are part of it
        assert verifier.check(job.encoding.generator[w], packet) == "corrupt"
        wrong = packet.copy()
        wrong[3, 4] += 1e-6 * np.abs(packet).max()
        assert verifier.check(job.encoding.generator[w], wrong, factors=(alpha, beta)) == "corrupt"


def test_ill_conditioned_systems_are_declined_never_decoded_wrong():
    A, B = _matrices(7, (20, 48, 12))
    C = A @ B
    # M = 16 with every one of its 31 points: condition number ~1e11 > MAX_CONDITION: nothing, not a wrong C
    result = coded_matmul(A, B, code="matdot", partition="cxr", blocks=16, workers=31, latency=None)
    assert result.received == 31 and not result.recovered.any() and np.all(result.estimate == 0.0)
    assert result.report["condition_number"] > MAX_CONDITION
    # M = 10 of 28 workers: where the first 19 points are ill-conditioned the decoder waits for more.
    # Which draws wait is decided by a condition number against MAX_CONDITION; one near it may fall
    # either way with another BLAS, so each draw is checked against the rule on its own arrivals, and
    # the counts only on draws at least a factor 2 from the threshold (both kinds occur).
    points = chebyshev_leja_points(28)
    clearly = {"wait": 0, "decode": 0}
    for seed in range(12):
        result = coded_matmul(A, B, code="matdot", partition="cxr", blocks=10, workers=28, latency=Exponential(1.0),
                              seed=seed)
        assert result.recovered.all() and _rel(result.estimate, C) < 1e-8
        assert result.report["condition_number"] <= MAX_CONDITION
        first = [e.worker for e in result.timeline][:19]
        condition = matdot_weights(points[first], 10)[1]
        assert (result.received > 19) == (condition > MAX_CONDITION), (seed, condition)
        if condition > 2 * MAX_CONDITION:
            clearly["wait"] += 1
        elif condition < 0.5 * MAX_CONDITION:
            clearly["decode"] += 1
    assert clearly["wait"] >= 2 and clearly["decode"] >= 2, clearly


def test_least_squares_weights_from_more_points_extract_the_middle_coefficient():
    x = chebyshev_leja_points(9)
    weights, cond = matdot_weights(x, 3)  # 9 points, degree-4 polynomial
    for d in range(5):
        assert float(weights @ x**d) == pytest.approx(1.0 if d == 2 else 0.0, abs=1e-13)
    assert cond == pytest.approx(np.linalg.cond(x[:, None] ** np.arange(5)), rel=1e-12)
