"""Tests of uepmm.estimation: the LMMSE algebra on coefficient rows (docs/design.md §5)."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm.decoding import recoverable
from uepmm.estimation import (
    lmmse_error,
    lmmse_error_sum,
    lmmse_reconstruction,
    lmmse_weights,
)

K = 9
CLASSES = np.repeat(np.arange(3), 3)
ENERGIES = np.array([100.0, 10.0, 10.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.01])  # Sec. VI r×c members


def _window_rows(rng: np.random.Generator, n: int, gamma, expanding: bool) -> np.ndarray:
    """``n`` NOW (``expanding=False``) or EW coefficient rows over the 3 × 3 classes."""
    windows = rng.choice(3, size=n, p=gamma)
    mask = CLASSES[None, :] <= windows[:, None] if expanding else CLASSES[None, :] == windows[:, None]
    return rng.standard_normal((n, K)) * mask


def _naive_error_matrix(G: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``S - S G^T (G S G^T)^+ G S`` written out (fine for well-conditioned test cases)."""
    S = np.diag(s)
    return S - S @ G.T @ np.linalg.pinv(G @ S @ G.T) @ G @ S


# ------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("expanding", [False, True])
def test_exact_on_every_recoverable_sub_product(rng, expanding):
    checked = 0
    for _ in range(300):
        n = int(rng.integers(1, 14))
        G = _window_rows(rng, n, (0.4, 0.35, 0.25), expanding)
        M = lmmse_reconstruction(G, ENERGIES)
        Wt = lmmse_weights(G, ENERGIES)
        P = rng.standard_normal((K, 4, 5))  # any sub-products, not only the model's
        P_hat = np.tensordot(Wt, np.tensordot(G, P, axes=1), axes=1)
        for k in np.flatnonzero(recoverable(G)):
            np.testing.assert_allclose(M[k], np.eye(K)[k], atol=1e-12)
            np.testing.assert_allclose(P_hat[k], P[k], atol=1e-11)
            checked += 1
    assert checked > 300  # plenty of recoverable cases were exercised


def test_independent_rows_reconstruct_everything(rng):
    for n in (K, K + 5):
        G = rng.standard_normal((n, K))
        np.testing.assert_allclose(lmmse_reconstruction(G, ENERGIES), np.eye(K), atol=1e-12)
        assert lmmse_error(G, ENERGIES) < 1e-20
        assert lmmse_error_sum(G, ENERGIES) < 1e-20


def test_weights_shape_and_reconstruction_is_weights_times_rows(rng):
    G = _window_rows(rng, 6, (0.2, 0.3, 0.5), True)
    Wt = lmmse_weights(G, ENERGIES)
    assert Wt.shape == (K, 6)
    np.testing.assert_allclose(lmmse_reconstruction(G, ENERGIES), Wt @ G, atol=1e-14)


def test_formulas_match_the_written_out_expressions(rng):
    s = rng.uniform(0.5, 3.0, K)  # a well-conditioned case where the naive pseudo-inverse is fine
    G = rng.standard_normal((5, K))
    E = _naive_error_matrix(G, s)
    np.testing.assert_allclose(lmmse_weights(G, s), np.diag(s) @ G.T @ np.linalg.pinv(G @ np.diag(s) @ G.T), atol=1e-12)
    np.testing.assert_allclose(lmmse_error(G, s), np.trace(E), rtol=1e-10)
    np.testing.assert_allclose(lmmse_error_sum(G, s), np.ones(K) @ E @ np.ones(K), rtol=1e-10)


def test_rank_deficient_rows_are_handled_without_forming_the_gram_inverse(rng):
    base = rng.standard_normal((3, K))
    G = np.vstack([base, base[0] + base[1], 2.0 * base[2]])  # rank 3 with 5 rows
    s = ENERGIES
    error = lmmse_error(G, s)
    assert error == pytest.approx(lmmse_error(base, s), rel=1e-10)
    np.testing.assert_allclose(lmmse_reconstruction(G, s), lmmse_reconstruction(base, s), atol=1e-10)


def test_no_rows_and_zero_rows():
    for G in (np.empty((0, K)), np.zeros((4, K))):
        assert lmmse_weights(G, ENERGIES).shape == (K, G.shape[0])
        assert not np.any(lmmse_weights(G, ENERGIES))
        assert not np.any(lmmse_reconstruction(G, ENERGIES))
        assert lmmse_error(G, ENERGIES) == pytest.approx(ENERGIES.sum())
        assert lmmse_error_sum(G, ENERGIES) == pytest.approx(ENERGIES.sum())


def test_zero_energy_sub_product_is_estimated_as_zero_and_adds_no_error(rng):
    s = ENERGIES.copy()
    s[4] = 0.0
    G = rng.standard_normal((3, K))
    M = lmmse_reconstruction(G, s)
    assert not np.any(M[4])
    np.testing.assert_allclose(lmmse_error(G, s), np.trace(_naive_error_matrix(G, s)), rtol=1e-9)


def test_huge_energy_range_stays_exact_on_recovered(rng):
    s = np.logspace(6, -6, K)
    G = np.zeros((4, K))
    G[0, 0] = 1.3  # recovers sub-product 0 alone
    G[1:, 3:] = rng.standard_normal((3, K - 3))
    M = lmmse_reconstruction(G, s)
    np.testing.assert_allclose(M[0], np.eye(K)[0], atol=1e-12)
    assert lmmse_error(G, s) >= 0.0


# ------------------------------------------------------------------------- the error is the expected error


@pytest.mark.parametrize("expanding", [False, True])
def test_error_matches_monte_carlo_of_gaussian_sub_products(rng, expanding):
    G = _window_rows(rng, 5, (0.4, 0.35, 0.25), expanding)
    Wt = lmmse_weights(G, ENERGIES)
    d, draws = 6, 20000  # entries per sub-product, Monte Carlo draws
    P = rng.standard_normal((draws, K, d)) * np.sqrt(ENERGIES / d)[None, :, None]  # E||P_k||^2 = s_k
    P_hat = np.einsum("kn,nj,rjd->rkd", Wt, G, P)
    per_draw = np.sum((P_hat - P) ** 2, axis=(1, 2))
    sum_err = np.sum((P_hat.sum(axis=1) - P.sum(axis=1)) ** 2, axis=1)
    for samples, exact in ((per_draw, lmmse_error(G, ENERGIES)), (sum_err, lmmse_error_sum(G, ENERGIES))):
        stderr = samples.std() / np.sqrt(draws)
        assert abs(samples.mean() - exact) < 4 * stderr + 1e-12


@pytest.mark.parametrize("expanding", [False, True])
def test_error_never_exceeds_zero_fill(rng, expanding):
    gamma = (0.4, 0.35, 0.25)
    strictly_better = 0
    for _ in range(300):
        G = _window_rows(rng, int(rng.integers(0, 12)), gamma, expanding)
        zero_fill = ENERGIES[~recoverable(G)].sum()
        error = lmmse_error(G, ENERGIES)
        assert error <= zero_fill * (1 + 1e-12) + 1e-12
        strictly_better += error < zero_fill * (1 - 1e-6)
    assert strictly_better > 30  # LMMSE uses the undecoded packets, so it often helps


def test_sum_error_of_now_class_is_uniform_subspace_in_expectation(rng):
    """NOW, equal energies e in a class of k, n < k Gaussian rows: E[1^T E 1] = e (k - n)."""
    s = np.full(3, 2.5)
    draws = np.array([lmmse_error_sum(rng.standard_normal((1, 3)), s) for _ in range(20000)])
    assert abs(draws.mean() - 2.5 * 2) < 4 * draws.std() / np.sqrt(draws.size)
    assert lmmse_error(rng.standard_normal((1, 3)), s) == pytest.approx(2.5 * 2)  # trace: deterministic


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "rows, energies, exc, words",
    [
        (np.ones((2, 3)), np.ones(4), ValueError, "energies has shape (4,) but rows has 3 columns"),
        (np.ones((2, 3)), np.array([1.0, -1.0, 1.0]), ValueError, "energies must be finite and >= 0"),
        (np.ones((2, 3)), np.array([1.0, np.nan, 1.0]), ValueError, "energies must be finite"),
        (np.ones((2, 3)), np.ones((3, 1)), ValueError, "energies has shape (3, 1)"),
        (np.ones(3), np.ones(3), ValueError, "rows must be 2-D"),
        (np.ones((2, 0)), np.ones(0), ValueError, "rows has 0 columns"),
        (np.array([[1.0, np.inf, 0.0]]), np.ones(3), ValueError, "rows contains NaN or Inf"),
        ("abc", np.ones(3), TypeError, "rows must be a 2-D numeric array"),
        (np.ones((2, 3)), "abc", TypeError, "energies must be a 1-D sequence"),
        (np.ones((2, 3)), None, TypeError, "energies must be a 1-D sequence"),
    ],
)
def test_bad_input_names_the_argument(rows, energies, exc, words):
    for func in (lmmse_weights, lmmse_reconstruction, lmmse_error, lmmse_error_sum):
        with pytest.raises(exc) as info:
            func(rows, energies)
        assert words in str(info.value)


def test_bad_rank_tol():
    with pytest.raises(ValueError, match="rank_tol must be in"):
        lmmse_error(np.ones((1, 2)), np.ones(2), rank_tol=1.5)
    with pytest.raises(TypeError, match="rank_tol must be a real number"):
        lmmse_error(np.ones((1, 2)), np.ones(2), rank_tol="tight")
