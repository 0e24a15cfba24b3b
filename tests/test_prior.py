"""Tests of uepmm.prior and LMMSE with a full prior (JobSpec.prior): the probe estimate of the
sub-products' Gram matrix, the LMMSE algebra with it, and its use by coded_matmul and compare."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse

import uepmm
from uepmm import coded_matmul
from uepmm.decoding import recoverable
from uepmm.estimation import lmmse_reconstruction, lmmse_reconstruction_gram, lmmse_weights, lmmse_weights_gram
from uepmm.experiments.compare import fast_losses
from uepmm.prior import (
    AUTO_CORRELATION,
    exact_gram,
    gram_from_probes,
    off_diagonal_correlation,
    prior_gram,
    probe_flop_ratio,
    probe_gram,
)


def _gram_workload(rng, n=90, d=12):
    """``(Xᵀ, X)`` with a common mean: its c×r sub-products ``X_mᵀ X_m`` are strongly correlated."""
    X = 1.0 + 0.3 * rng.standard_normal((n, d))
    return np.ascontiguousarray(X.T), X


def _rxc_blocks(rng, N=3, P=2, rows=4, inner=5, cols=3):
    a = [rng.standard_normal((rows, inner)) + 1.0 for _ in range(N)]
    b = [rng.standard_normal((inner, cols)) for _ in range(P)]
    pairs = [(n, p) for n in range(N) for p in range(P)]
    return a, b, pairs, np.stack([a[n] @ b[p] for n, p in pairs])


def _correlated_gram(rng, K=6, strength=0.9):
    """The exact Gram matrix of ``K`` sub-products sharing a common part (correlation about ``strength``)."""
    base = rng.standard_normal((8, 7))
    products = np.stack([np.sqrt(strength) * base * (1 + 0.2 * k) + np.sqrt(1 - strength) * rng.standard_normal((8, 7))
                         for k in range(K)])
    return exact_gram(products), products


# ------------------------------------------------------------------ the probe estimate


def test_every_sign_vector_gives_the_exact_gram_matrix(rng):
    # E[z zᵀ] = I is exact for the uniform average over all 2^Q sign vectors: so is E[R_hat] = R
    a, b, pairs, products = _rxc_blocks(rng)
    Z = np.array(list(itertools.product([-1.0, 1.0], repeat=b[0].shape[1]))).T  # 3 × 8
    np.testing.assert_allclose(gram_from_probes(a, b, pairs, Z), exact_gram(products), rtol=1e-12, atol=1e-10)


def test_probe_error_shrinks_as_one_over_sqrt_q(rng):
    # For one Rademacher z, <y_k, y_l> = zᵀ M z with M = P_kᵀ P_l has variance 2 sum_{i≠j} Ms_ij^2
    # (Ms the symmetric part), so E||R_hat - R||_F^2 = V / q exactly.  The mean over 400 independent
    # estimates has a relative standard deviation of about 0.1 here (fourth moments of sums of signs),
    # so [0.7, 1.4] × V/q is more than 3 of them on either side; the seed is fixed.
    a, b, pairs, products = _rxc_blocks(rng)
    R = exact_gram(products)
    V = 0.0
    for k, l in itertools.product(range(len(pairs)), repeat=2):
        M = products[k].T @ products[l]
        Ms = (M + M.T) / 2
        V += 2.0 * (np.sum(Ms**2) - np.sum(np.diag(Ms) ** 2))
    for q in (4, 64):
        mse = np.mean([np.sum((probe_gram(a, b, pairs, q, rng) - R) ** 2) for _ in range(400)])
        assert 0.7 * V / q < mse < 1.4 * V / q
    # one estimate with many probes: Markov's bound at 1/25 on the squared error, a fixed seed
    assert np.linalg.norm(probe_gram(a, b, pairs, 4096, rng) - R) < 5.0 * np.sqrt(V / 4096)


def test_probe_of_sparse_blocks_equals_the_dense_probe(rng):
    a, b, pairs, _ = _rxc_blocks(rng)
    sparse_a = [scipy.sparse.csr_array(np.where(np.abs(x) > 1.0, x, 0.0)) for x in a]
    dense_a = [x.toarray() for x in sparse_a]
    sparse_b = [scipy.sparse.csc_array(x) for x in b]
    R_sparse = probe_gram(sparse_a, sparse_b, pairs, 16, np.random.default_rng(3))
    R_dense = probe_gram(dense_a, b, pairs, 16, np.random.default_rng(3))
    np.testing.assert_allclose(R_sparse, R_dense, rtol=1e-12, atol=1e-12)


def test_probe_refuses_sub_products_of_different_shapes(rng):
    a = [rng.standard_normal((3, 4)), rng.standard_normal((2, 4))]
    b = [rng.standard_normal((4, 5))]
    with pytest.raises(ValueError, match="different shapes.*zero-pad"):
        probe_gram(a, b, [(0, 0), (1, 0)], 4, rng)


@pytest.mark.parametrize("probes", [0, -3])
def test_probe_count_must_be_positive(rng, probes):
    a, b, pairs, _ = _rxc_blocks(rng)
    with pytest.raises(ValueError, match="probes must be a positive integer"):
        probe_gram(a, b, pairs, probes, rng)


def test_flop_ratio_counts_matrix_vector_products():
    # c×r, M = 9 blocks of 784 × 556 and 556 × 784 (MNIST XᵀX), q = 16:
    # B_m z: 2·556·784·16 each, A_m (.): 2·784·556·16 each, Y Yᵀ: 2·81·784·16; one block product 2·784·556·784
    a_shapes, b_shapes = [(784, 556)] * 9, [(556, 784)] * 9
    pairs = [(m, m) for m in range(9)]
    expected = (9 * 2 * 556 * 784 * 16 * 2 + 2 * 81 * 784 * 16) / (2 * 784 * 556 * 784)
    assert probe_flop_ratio(a_shapes, b_shapes, pairs, 16) == pytest.approx(expected, rel=1e-12)


def test_auto_rule_keeps_correlated_gram_and_drops_independent(rng):
    A, B = _gram_workload(rng)
    layout = uepmm.partition.make_partition(A.shape, B.shape, "cxr", 9)
    pairs = [layout.factors(k) for k in range(9)]
    gram, rho = prior_gram("auto", layout.a_blocks(A), layout.b_blocks(B), pairs, 16, 0)
    assert gram is not None and rho > AUTO_CORRELATION
    G = rng.standard_normal((90, 12))
    gram, rho = prior_gram("auto", layout.a_blocks(G.T), layout.b_blocks(rng.standard_normal((90, 12))), pairs, 16, 0)
    assert gram is None and rho < AUTO_CORRELATION


def test_off_diagonal_correlation_of_parallel_and_orthogonal_sub_products():
    assert off_diagonal_correlation(np.diag([1.0, 2.0, 3.0])) == 0.0
    v = np.array([1.0, -2.0, 3.0])
    assert off_diagonal_correlation(np.outer(v, v)) == pytest.approx(1.0)


# ------------------------------------------------------------------ LMMSE with a full prior


def test_lmmse_with_the_gram_matrix_equals_the_normal_equations(rng):
    # moderate correlation: G R Gᵀ is well conditioned, and the 1e-10 ridge changes W by about 1e-10
    R, _ = _correlated_gram(rng, strength=0.5)
    G = rng.standard_normal((4, 6))
    direct = R @ G.T @ np.linalg.solve(G @ R @ G.T, np.eye(4))
    np.testing.assert_allclose(lmmse_weights_gram(G, R), direct, rtol=1e-7, atol=1e-7 * np.abs(direct).max())


def test_a_diagonal_gram_matrix_is_the_diagonal_prior(rng):
    s = np.array([5.0, 1.0, 0.5, 0.1, 0.0, 2.0])
    G = rng.standard_normal((4, 6))
    np.testing.assert_allclose(lmmse_reconstruction_gram(G, np.diag(s)), lmmse_reconstruction(G, s), atol=1e-9)
    np.testing.assert_allclose(lmmse_weights_gram(G, np.diag(s)), lmmse_weights(G, s), atol=1e-9)


@pytest.mark.parametrize("strength", [0.5, 0.99])
def test_exact_on_every_recoverable_sub_product_with_a_correlated_prior(rng, strength):
    R, products = _correlated_gram(rng, strength=strength)
    K = R.shape[0]
    checked = 0
    for _ in range(200):
        n = int(rng.integers(1, K + 2))
        G = rng.standard_normal((n, K)) * (rng.random((n, K)) < 0.5)
        found = recoverable(G)
        if not found.any() or found.all():
            continue
        M = lmmse_reconstruction_gram(G, R)
        estimate = np.tensordot(M, products, axes=1)
        for k in np.flatnonzero(found):
            np.testing.assert_allclose(M[k], np.eye(K)[k], atol=1e-9)
            np.testing.assert_allclose(estimate[k], products[k], atol=1e-9 * np.abs(products[k]).max())
        checked += 1
    assert checked > 20


def test_gram_prior_input_errors(rng):
    G = rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match="square"):
        lmmse_weights_gram(G, np.ones((4, 3)))
    with pytest.raises(ValueError, match="gram is 3 × 3 but rows has 4 columns"):
        lmmse_weights_gram(G, np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        lmmse_weights_gram(G, np.triu(np.ones((4, 4))))
    with pytest.raises(ValueError, match="positive semi-definite"):
        lmmse_weights_gram(G, np.diag([1.0, -1.0, 1.0, 1.0]))


# ------------------------------------------------------------------ the job setting


def _spec(prior, **changes):
    settings = dict(code="now", partition="cxr", blocks=9, workers=18, classes=list(range(9)),
                    gamma=tuple([1 / 9] * 9), decoder="lmmse", prior=prior, probes=16, deadline=1.0)
    settings.update(changes)
    return uepmm.JobSpec(**settings)


def test_probe_prior_beats_the_diagonal_prior_on_correlated_sub_products_full_and_fast(rng):
    A, B = _gram_workload(rng)
    C = A @ B
    losses = {}
    for prior in ("diagonal", "probe", "exact"):
        full = [coded_matmul(A, B, _spec(prior), seed=s, fidelity="full").normalized_loss(C) for s in range(20)]
        fast = [coded_matmul(A, B, _spec(prior), seed=s, fidelity="fast").normalized_loss(C) for s in range(20)]
        np.testing.assert_allclose(full, fast, rtol=1e-9, atol=1e-12)  # full and fast fidelity agree
        losses[prior] = np.mean(full)
    assert losses["probe"] < 0.5 * losses["diagonal"]
    assert losses["exact"] < 0.5 * losses["diagonal"]


def test_fast_losses_use_the_probe_prior(rng):
    A, B = _gram_workload(rng)
    C = A @ B
    spec = _spec("probe")
    out, _ = fast_losses(A, B, spec, [0.5, 1.0], 4, seed=7)
    from uepmm.experiments.engine_curves import trial_seed

    for j in range(4):
        for i, t in enumerate((0.5, 1.0)):
            result = coded_matmul(A, B, spec, deadline=t, seed=trial_seed(7, j), fidelity="fast")
            assert out[j, i] == pytest.approx(result.normalized_loss(C), rel=1e-9, abs=1e-12)


def test_recovered_blocks_stay_exact_with_the_probe_prior_rxc(rng):
    X = 1.0 + 0.3 * rng.standard_normal((12, 30))
    A, B = X, X.T
    C = A @ B
    hits = 0
    for s in range(10):
        result = coded_matmul(A, B, partition="rxc", blocks=9, code="ew", workers=6, decoder="lmmse",
                              prior="probe", deadline=0.7, seed=s)
        assert result.report["prior"] == "probe"
        if result.recovered.any() and not result.recovered.all():
            hits += 1
            # every recovered sub-product's block of C_hat is the exact block of C
            perm_c = C[np.ix_(result.order.a_perm, result.order.b_perm)]
            perm_hat = result.estimate[np.ix_(result.order.a_perm, result.order.b_perm)]
            for k in np.flatnonzero(result.recovered):
                rows, cols = result.partition.block_slices(int(k))
                np.testing.assert_allclose(perm_hat[rows, cols], perm_c[rows, cols], rtol=1e-9,
                                           atol=1e-9 * np.abs(C).max())
    assert hits > 0


def test_auto_prior_is_the_diagonal_prior_bit_for_bit_on_independent_sub_products(rng):
    A, B = rng.standard_normal((20, 90)), rng.standard_normal((90, 20))
    for s in range(5):
        diagonal = coded_matmul(A, B, _spec("diagonal"), seed=s)
        auto = coded_matmul(A, B, _spec("auto"), seed=s)
        assert auto.report["prior"] == "diagonal"
        assert np.array_equal(auto.estimate, diagonal.estimate)
        assert "prior" not in diagonal.report


def test_prior_settings_are_checked():
    with pytest.raises(ValueError, match="probes must be >= 1"):
        _spec("probe", probes=0)
    with pytest.raises(ValueError, match="unknown prior 'full'; valid values are 'diagonal', 'probe', 'auto'"):
        _spec("full")
    with pytest.raises(ValueError, match="prior='probe' is the prior of decoder 'lmmse'.*decoder 'zero'"):
        _spec("probe", decoder="zero")
    with pytest.raises(TypeError, match="probe_seed must be an integer"):
        _spec("probe", probe_seed=1.5)


def test_dask_array_inputs_refuse_the_probe_prior_before_any_cluster_starts(rng):
    da = pytest.importorskip("dask.array")
    A, B = _gram_workload(rng)
    with pytest.raises(ValueError, match="dask.array inputs never send there; use prior='diagonal'"):
        coded_matmul(da.from_array(A), da.from_array(B), _spec("probe"), backend="dask", seed=0)
