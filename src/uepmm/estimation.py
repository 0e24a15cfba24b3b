"""Linear MMSE estimation of the sub-products from received coefficient rows (docs/design.md §5).

Only the small coefficient algebra lives here (no data matrices).  Notation: the received
rows ``G`` (``n × K``), the sub-product energies ``s`` (``K``) and ``S = diag(s)``.  The
sub-products are modelled as uncorrelated and zero-mean, sub-product ``k`` with energy
``s_k = E||P_k||_F^2`` (summed over its entries).  Each entry position of the packets obeys
``Y = G P``, so the linear MMSE estimate is ``P_hat = W Y`` with

    W = S G^T (G S G^T)^+                                   (K × n)

and its expected squared error, summed over all entries of all sub-products, is

    trace(E),   E = S - S G^T (G S G^T)^+ G S.

With exact sub-products (the fast fidelity) ``P_hat = M P`` with ``M = W G`` (``K × K``).
For c×r, where ``C = sum_k P_k``, the estimate ``1^T P_hat`` has expected error ``1^T E 1``.

Numerics.  Nothing forms ``G S G^T`` (whose condition number is the square of that of
``G``) or its pseudo-inverse.  With the scaled rows ``B = G S^(1/2) = U Σ V^T`` (a full SVD;
``B`` is at most a few hundred × a few dozen here) one has

    W = S^(1/2) V_r Σ_r^(-1) U_r^T,      E = S^(1/2) V_⊥ V_⊥^T S^(1/2),

where ``r`` is the numerical rank: singular values at most ``rank_tol`` times the largest
(default ``1e-9``, the decoder's relative rank tolerance, ``uepmm.decoding.RANK_TOL``) count
as zero, and ``V_⊥`` is an orthonormal basis of the null space of ``B`` (the remaining right
singular vectors).  The error is evaluated from ``V_⊥`` directly, a sum of squares, so it is
never negative and is zero to rounding on recoverable sub-products (no ``1 - x``
cancellation).

Sub-product ``k`` with ``s_k > 0`` is recoverable (``e_k`` in the row space of ``G``) exactly
when it is in the row space of ``B``; row ``k`` of ``M`` is then ``e_k`` to rounding.  A
sub-product with ``s_k = 0`` is, under the model, known to be zero: it is estimated as zero
whatever was received (row ``k`` of ``W`` and of ``M`` vanish) and contributes no error.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LMMSE_RANK_TOL", "GRAM_RIDGE", "lmmse_error", "lmmse_error_sum", "lmmse_reconstruction", "lmmse_weights",
    "lmmse_weights_gram", "lmmse_reconstruction_gram",
]

#: Singular values of ``G S^(1/2)`` at most this times the largest count as zero.
LMMSE_RANK_TOL = 1e-9


def _check(rows: object, energies: object, rank_tol: object) -> tuple[np.ndarray, np.ndarray, float]:
    if isinstance(rows, (str, bytes)) or rows is None:
        raise TypeError(f"rows must be a 2-D numeric array (packets × sub-products), got {type(rows).__name__}")
    try:
        G = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("rows must be a 2-D numeric array (packets × sub-products) of real numbers") from None
    if G.ndim != 2:
        raise ValueError(
            f"rows must be 2-D (packets × sub-products), got shape {G.shape}; "
            f"pass np.empty((0, K)) when nothing has arrived"
        )
    if G.shape[1] == 0:
        raise ValueError("rows has 0 columns; there must be at least one sub-product (K >= 1)")
    if not np.all(np.isfinite(G)):
        raise ValueError("rows contains NaN or Inf; coefficient rows must be finite")
    if isinstance(energies, (str, bytes)) or energies is None:
        raise TypeError(f"energies must be a 1-D sequence of {G.shape[1]} non-negative numbers, got {energies!r}")
    try:
        s = np.asarray(energies, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"energies must be a 1-D sequence of {G.shape[1]} non-negative numbers, got {energies!r}"
        ) from None
    if s.ndim != 1 or s.size != G.shape[1]:
        raise ValueError(
            f"energies has shape {s.shape} but rows has {G.shape[1]} columns; "
            f"give one energy E||P_k||_F^2 per sub-product (shape ({G.shape[1]},))"
        )
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"energies must be finite and >= 0 (sub-product energies), got {s.tolist()}")
    if isinstance(rank_tol, bool) or not isinstance(rank_tol, (int, float, np.floating)):
        raise TypeError(f"rank_tol must be a real number in (0, 1), got {rank_tol!r}")
    tol = float(rank_tol)
    if not 0.0 < tol < 1.0:
        raise ValueError(f"rank_tol must be in (0, 1) (relative to the largest singular value), got {tol}")
    return G, s, tol


def _scaled_svd(G: np.ndarray, s: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``sqrt(s)``, and of ``B = G S^(1/2)``: ``U``, ``σ``, ``V^T`` (full, ``K × K``) and the rank."""
    root = np.sqrt(s)
    K = s.size
    if G.shape[0] == 0:
        return root, np.empty((0, 0)), np.empty(0), np.eye(K), 0
    B = G * root[None, :]
    U, sigma, Vt = np.linalg.svd(B, full_matrices=True)
    if sigma.size == 0 or not sigma[0] > 0.0:
        return root, U, sigma, Vt, 0
    rank = int(np.count_nonzero(sigma > tol * sigma[0]))
    return root, U, sigma, Vt, rank


def lmmse_weights(rows: np.ndarray, energies: np.ndarray, *, rank_tol: float = LMMSE_RANK_TOL) -> np.ndarray:
    """``W = S G^T (G S G^T)^+`` (shape ``(K, n)``), so that ``P_hat = W Y``.

    ``rows``: the received coefficient rows ``G`` (``n × K``; ``n = 0`` allowed);
    ``energies``: ``s_k = E||P_k||_F^2`` (``K``, ``>= 0``).  Computed as
    ``S^(1/2) V_r Σ_r^(-1) U_r^T`` from the SVD of ``G S^(1/2)`` with relative rank
    tolerance ``rank_tol`` (module docstring).  No rows, or only zero rows, give zeros.
    """
    G, s, tol = _check(rows, energies, rank_tol)
    root, U, sigma, Vt, r = _scaled_svd(G, s, tol)
    if r == 0:
        return np.zeros((s.size, G.shape[0]))
    return (root[:, None] * Vt[:r].T / sigma[None, :r]) @ U[:, :r].T


def lmmse_reconstruction(rows: np.ndarray, energies: np.ndarray, *, rank_tol: float = LMMSE_RANK_TOL) -> np.ndarray:
    """``M = W G`` (``K × K``): with exact sub-products ``P_hat = M P``.

    Row ``k`` is ``e_k`` (to rounding) for every recoverable sub-product with ``s_k > 0``
    and zero for ``s_k = 0``.
    """
    G, s, tol = _check(rows, energies, rank_tol)
    root, U, sigma, Vt, r = _scaled_svd(G, s, tol)
    if r == 0:
        return np.zeros((s.size, s.size))
    weights = (root[:, None] * Vt[:r].T / sigma[None, :r]) @ U[:, :r].T
    return weights @ G


def _null_error(rows: object, energies: object, rank_tol: object) -> tuple[np.ndarray, np.ndarray]:
    """``F = V_⊥^T S^(1/2)`` (so that ``E = F^T F``) and ``sqrt(s)``."""
    G, s, tol = _check(rows, energies, rank_tol)
    root, _, _, Vt, r = _scaled_svd(G, s, tol)
    return Vt[r:] * root[None, :], root


def lmmse_error(rows: np.ndarray, energies: np.ndarray, *, rank_tol: float = LMMSE_RANK_TOL) -> float:
    """``trace(S - S G^T (G S G^T)^+ G S)``: the expected squared error of ``P_hat``.

    Summed over all entries of all sub-products, i.e. ``E||C - C_hat||_F^2`` for r×c (the
    blocks of ``C`` are the sub-products).  ``sum(energies)`` with no rows, ``0`` when every
    sub-product with positive energy is recoverable.
    """
    F, _ = _null_error(rows, energies, rank_tol)
    return float(np.sum(F * F))


def lmmse_error_sum(rows: np.ndarray, energies: np.ndarray, *, rank_tol: float = LMMSE_RANK_TOL) -> float:
    """``1^T (S - S G^T (G S G^T)^+ G S) 1``: expected squared error of ``1^T P_hat``.

    The c×r case, ``C = sum_k P_k`` and ``C_hat = sum_k P_hat_k``, summed over the entries of
    ``C``.  With no rows it is ``sum(energies)`` (uncorrelated sub-products).
    """
    F, _ = _null_error(rows, energies, rank_tol)
    total = F.sum(axis=1)
    return float(total @ total)


# ---------------------------------------------------------------- a full prior (correlated sub-products)
#: A full prior ``R`` is used as ``R + GRAM_RIDGE · diag(R)``: positive definite on the sub-products
#: with energy, so that every recoverable one is exact (docs: ``lmmse_weights_gram``).
GRAM_RIDGE = 1e-10


def _check_gram(rows: object, gram: object, rank_tol: object) -> tuple[np.ndarray, np.ndarray, float]:
    if isinstance(gram, (str, bytes)) or gram is None:
        raise TypeError(f"gram must be a K × K symmetric positive semi-definite matrix, got {gram!r}")
    try:
        R = np.asarray(gram, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("gram must be a K × K matrix of real numbers (the sub-products' Gram matrix)") from None
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise ValueError(f"gram must be a square K × K matrix (R_kl = <P_k, P_l>_F), got shape {R.shape}")
    if np.ndim(rows) == 2 and np.shape(rows)[1] != R.shape[0]:
        raise ValueError(
            f"gram is {R.shape[0]} × {R.shape[0]} but rows has {np.shape(rows)[1]} columns; "
            f"give one row and column of R per sub-product"
        )
    G, _, tol = _check(rows, np.abs(np.diag(R)), rank_tol)  # rows and the tolerance checked as for S
    if not np.all(np.isfinite(R)):
        raise ValueError("gram contains NaN or Inf; the prior Gram matrix must be finite")
    scale = float(np.max(np.abs(R))) if R.size else 0.0
    if np.max(np.abs(R - R.T), initial=0.0) > 1e-9 * scale:
        raise ValueError("gram must be symmetric (R_kl = <P_k, P_l>_F = R_lk)")
    if np.any(np.diag(R) < 0) or (scale > 0 and np.linalg.eigvalsh(R)[0] < -1e-9 * scale):
        raise ValueError("gram must be positive semi-definite (a Gram matrix of the sub-products)")
    return G, R, tol


def _gram_root(R: np.ndarray) -> np.ndarray:
    """``L`` with ``L Lᵀ = R + GRAM_RIDGE · diag(R)`` (eigenvalues rounded below zero count as zero)."""
    ridged = R + GRAM_RIDGE * np.diag(np.diag(R))
    values, vectors = np.linalg.eigh((ridged + ridged.T) / 2.0)
    return vectors * np.sqrt(np.clip(values, 0.0, None))[None, :]


def lmmse_weights_gram(rows: np.ndarray, gram: np.ndarray, *, rank_tol: float = LMMSE_RANK_TOL) -> np.ndarray:
    """``W = R G^T (G R G^T)^+`` (``K × n``) for a full prior second moment ``R`` (``K × K``).

    ``gram``: ``R_kl = <P_k, P_l>_F``, e.g. from :func:`uepmm.prior.probe_gram` (positive
    semi-definite).  As for the diagonal prior nothing forms ``G R G^T``: with ``L Lᵀ = R``
    and the SVD ``G L = U Σ Vᵀ``, ``W = L V_r Σ_r^(-1) U_r^T`` (relative rank tolerance
    ``rank_tol``).  ``R`` is used with a ridge of ``GRAM_RIDGE`` times its diagonal, so it is
    positive definite on the sub-products with ``R_kk > 0``; then every such sub-product
    whose ``e_k`` is in the row space of ``G`` is estimated exactly (``e_kᵀ W G = e_kᵀ``), and
    one with ``R_kk = 0`` is estimated as zero.
    """
    G, R, tol = _check_gram(rows, gram, rank_tol)
    K = R.shape[0]
    if G.shape[0] == 0:
        return np.zeros((K, 0))
    L = _gram_root(R)
    U, sigma, Vt = np.linalg.svd(G @ L, full_matrices=False)
    if sigma.size == 0 or not sigma[0] > 0.0:
        return np.zeros((K, G.shape[0]))
    r = int(np.count_nonzero(sigma > tol * sigma[0]))
    return (L @ Vt[:r].T / sigma[None, :r]) @ U[:, :r].T


def lmmse_reconstruction_gram(rows: np.ndarray, gram: np.ndarray, *, rank_tol: float = LMMSE_RANK_TOL) -> np.ndarray:
    """``M = R G^T (G R G^T)^+ G`` (``K × K``): with exact sub-products ``P_hat = M P``
    (:func:`lmmse_weights_gram`; row ``k`` is ``e_k`` to rounding for a recoverable ``k``)."""
    G, _, _ = _check_gram(rows, gram, rank_tol)
    return lmmse_weights_gram(G, gram, rank_tol=rank_tol) @ G
