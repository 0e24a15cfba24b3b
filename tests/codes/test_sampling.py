"""Norm-weighted sampling (Drineas, Kannan & Mahoney): probabilities, unbiasedness, its closed-form error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import JobSpec, coded_matmul, plan_job, theory
from uepmm.codes import Sampling, make_code
from uepmm.codes.sampling import SamplingDecoder, sampling_probabilities
from uepmm.latency import Schedule


def _matrices(seed=0, shape=(12, 18, 10)):
    """Columns/rows of very different scale, so that the probabilities are far from uniform."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal(shape[:2]) * np.exp(rng.standard_normal((1, shape[1])))
    B = rng.standard_normal(shape[1:]) * np.exp(rng.standard_normal((shape[1], 1)))
    return A, B


def _block_norm_products(A, B, layout):
    if layout.kind == "cxr":
        pairs = zip(layout.a_blocks(A), layout.b_blocks(B))
        return np.asarray([np.linalg.norm(a) * np.linalg.norm(b) for a, b in pairs])
    a = [np.linalg.norm(x) for x in layout.a_blocks(A)]
    b = [np.linalg.norm(x) for x in layout.b_blocks(B)]
    return np.outer(a, b).ravel()


@pytest.mark.parametrize("partition,blocks", [("cxr", 6), ("rxc", (3, 2))])
def test_probabilities_are_proportional_to_the_block_norm_products(partition, blocks):
    A, B = _matrices(1)
    plan = plan_job(A, B, code="sampling", partition=partition, blocks=blocks, workers=7, reorder=False, seed=0)
    expected = _block_norm_products(A, B, plan.job.partition)
    np.testing.assert_allclose(plan.code.probabilities, expected / expected.sum(), rtol=1e-12)
    assert plan.code.probabilities != tuple(np.full(6, 1 / 6))
    # each worker's row is the unit vector of the sub-product it sampled, its window that index
    G = plan.job.encoding.generator
    np.testing.assert_array_equal(G, np.eye(6)[plan.job.encoding.windows])


def _estimates(A, B, partition, blocks, n, seeds):
    return np.stack([
        coded_matmul(A, B, code="sampling", partition=partition, blocks=blocks, workers=n, latency=None,
                     fidelity="fast", seed=s).estimate
        for s in range(seeds)
    ])


@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("partition,blocks", [("cxr", 6), ("rxc", (3, 2))])
def test_estimate_is_unbiased_and_its_error_is_the_closed_form(partition, blocks, n):
    A, B = _matrices(2)
    C = A @ B
    seeds = 2000
    est = _estimates(A, B, partition, blocks, n, seeds)
    mean, se = est.mean(axis=0), est.std(axis=0, ddof=1) / math.sqrt(seeds)
    z = np.abs(mean - C) / np.where(se > 0, se, 1.0)
    assert z.max() < 4.5  # 120 entries, each within a few standard errors of C
    assert np.abs(mean - C).max() < 0.05 * np.abs(C).max()
    # E||C - C_hat||^2 = (1/n) (sum_k ||P_k||^2 / p_k - ||C||^2)
    plan = plan_job(A, B, code="sampling", partition=partition, blocks=blocks, workers=n)
    layout = plan.job.partition
    energies = np.asarray([np.sum(P**2) for P in layout.block_products(plan.job.a_blocks, plan.job.b_blocks)])
    expected = theory.sampling_expected_loss(energies, plan.code.probabilities, float(np.sum(C**2)), n)
    errors = np.sum((est - C) ** 2, axis=(1, 2))
    assert abs(errors.mean() - expected) < 4 * errors.std(ddof=1) / math.sqrt(seeds)
    assert float(expected) == pytest.approx(
        (np.sum(energies / np.asarray(plan.code.probabilities)) - np.sum(C**2)) / n, rel=1e-12
    )


def test_theory_over_packets_and_inputs():
    e, p = np.array([4.0, 1.0, 0.0]), np.array([0.5, 0.5, 0.0])
    # c×r with P_1 = 2 X, P_2 = X (||X|| = 1): ||C||^2 = 9, sum ||P||^2 / p = 10
    np.testing.assert_allclose(theory.sampling_expected_loss(e, p, 9.0, [0, 1, 2, 4]), [9.0, 1.0, 0.5, 0.25])
    with pytest.raises(ValueError, match="probability 0 has non-zero energy"):
        theory.sampling_expected_loss([1.0, 1.0], [1.0, 0.0], 1.0, 1)
    with pytest.raises(ValueError, match="sum to 1"):
        theory.sampling_expected_loss([1.0, 1.0], [0.6, 0.6], 1.0, 1)
    with pytest.raises(ValueError, match="non-negative integers"):
        theory.sampling_expected_loss([1.0], [1.0], 1.0, 1.5)
    with pytest.raises(ValueError, match="same length"):
        theory.sampling_expected_loss([1.0, 2.0], [1.0], 1.0, 1)


@pytest.mark.parametrize("partition,blocks", [("cxr", 6), ("rxc", (3, 2))])
def test_full_fidelity_equals_fast_and_is_not_exact_at_deadline_inf(partition, blocks):
    A, B = _matrices(3)
    kwargs = dict(code="sampling", partition=partition, blocks=blocks, workers=9, deadline=math.inf, seed=7,
                  decoder="lmmse")
    full = coded_matmul(A, B, **kwargs)
    fast = coded_matmul(A, B, fidelity="fast", **kwargs)
    np.testing.assert_allclose(full.estimate, fast.estimate, rtol=1e-12, atol=1e-12 * np.abs(fast.estimate).max())
    assert full.received == 9  # the PS waits for every sample: the estimate improves with each
    assert full.normalized_loss(A @ B) > 1e-3  # an estimate, not the product
    windows = full.encoding.windows
    np.testing.assert_array_equal(full.recovered, np.isin(np.arange(6), windows))  # the sampled ones, exactly known
    assert full.report["decoder"] == "sampling" and full.report["decoder_requested"] == "lmmse"
    assert "condition_number" not in full.report
    # the estimate is (1/n) sum_t P_(k_t) / p_(k_t)
    layout = full.partition
    Ap, Bp = full.order.apply(A, B)
    products = layout.products(Ap, Bp)
    p = np.asarray(plan_job(A, B, **kwargs).code.probabilities)
    counts = np.bincount(windows, minlength=6)
    blocks_hat = [counts[k] / (9 * p[k]) * products[k] if counts[k] else None for k in range(6)]
    np.testing.assert_allclose(full.estimate, full.order.restore(layout.assemble(blocks_hat)), rtol=1e-10,
                               atol=1e-12 * np.abs(full.estimate).max())


def test_no_packet_gives_zero_and_one_packet_gives_its_rescaled_block():
    A, B = _matrices(4)
    spec = JobSpec(code="sampling", partition="cxr", blocks=6, workers=3, latency=Schedule((1.0, 2.0, 3.0)),
                   omega=1.0)
    assert np.all(coded_matmul(A, B, spec.with_(deadline=0.5), seed=0).estimate == 0.0)
    one = coded_matmul(A, B, spec.with_(deadline=1.5), seed=0)
    k = int(one.encoding.windows[0])
    p = plan_job(A, B, spec, seed=0).code.probabilities[k]
    Ap, Bp = one.order.apply(A, B)
    np.testing.assert_allclose(one.estimate, one.partition.products(Ap, Bp)[k] / p, rtol=1e-10)
    assert one.recovered.sum() == 1 and one.recovered[k]


def test_self_description_and_refusals():
    code = make_code("sampling")
    assert code.needs_energies and not code.deterministic and code.recovery_threshold(6) is None
    assert code.decoder_for(object()).name == "sampling"
    with pytest.raises(ValueError, match="run it through uepmm.plan_job / coded_matmul"):
        code.encode(JobSpec(code="mds", partition="cxr", blocks=4).uniform_classes, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="3 probabilities but the job has K = 4"):
        Sampling((0.2, 0.3, 0.5)).encode(JobSpec(code="mds", partition="cxr", blocks=4).uniform_classes, 4,
                                         np.random.default_rng(0))
    with pytest.raises(ValueError, match="has no analytic decoding probabilities"):
        code.decoding_probabilities((2, 2), 4)
    layout = plan_job(np.zeros((4, 6)), np.zeros((6, 3)), code="sampling", partition="cxr", blocks=3,
                      workers=2).job.partition
    np.testing.assert_allclose(sampling_probabilities(np.zeros(3), layout), np.full(3, 1 / 3))  # all-zero data
    with pytest.raises(ValueError, match="bound code"):
        SamplingDecoder().scales(np.eye(2), np.ones(2, bool), type("C", (), {"code": None})())


@pytest.mark.parametrize("partition", ["cxr", "rxc"])
def test_figure_monte_carlo_prices_the_sampling_estimate_against_theory(partition):
    from uepmm.codes.sampling import sampling_probabilities
    from uepmm.experiments import engine_curves as ec

    curves = ec.engine_loss_curves(partition, "sampling", trials=150, seed=0, size_scale=0.3, matrix_draws=1)
    pricing = ec._BLOCK_LOSS_CACHE[(partition, 0, 1, 0.3)][0]
    layout, energies = ec._PRIOR_CACHE[(partition, 0, 1, 0.3)][0]
    p = sampling_probabilities(energies, layout)
    mean, se = curves.vs_packets()
    assert mean[0] == 1.0
    n = np.arange(1, curves.workers + 1)
    expected = theory.sampling_expected_loss(np.diag(pricing.full_gram), p, pricing.total, n) / pricing.total
    z = np.abs(mean[1:] - expected) / se[1:]
    assert np.median(z) < 2.0 and z.max() < 4.5  # the per-n means are correlated (the same trials)
    assert curves.recovered_after[:, 1].sum(axis=1).tolist() == [1] * 150  # one packet: its sampled block
