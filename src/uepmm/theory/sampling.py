"""Expected error of norm-weighted sampling (Drineas, Kannan & Mahoney, 2006; :mod:`uepmm.codes.sampling`).

With ``n`` i.i.d. samples ``k_t ~ p`` and ``C_hat = (1/n) sum_t P_(k_t) / p_(k_t)``:

* c×r (``C = sum_k P_k``): each term ``X_t = P_(k_t) / p_(k_t)`` has mean ``C`` and
  ``E||X_t||^2 = sum_k ||P_k||^2 / p_k``, so ``E||C - C_hat||^2 = (1/n) (sum_k ||P_k||^2 / p_k - ||C||^2)``
  (Drineas et al., Lemma 4, with blocks in place of outer products);
* r×c (block ``k`` of ``C`` is ``P_k``): block ``k`` is ``c_k P_k / (n p_k)`` with
  ``c_k ~ Binomial(n, p_k)``, so ``E||C - C_hat||^2 = (1/n) sum_k ||P_k||^2 (1 - p_k) / p_k``,
  the same formula, since there ``||C||^2 = sum_k ||P_k||^2``.

``n = 0`` gives ``C_hat = 0``: the error is ``||C||^2``.  The minimum over ``p`` is at
``p_k ∝ ||P_k||``; the code uses the PS's proxy ``||A-block|| ||B-block||`` (an upper bound of
``||P_k||``), which needs no product.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["sampling_expected_loss"]


def sampling_expected_loss(
    product_energies: Sequence[float],
    probabilities: Sequence[float],
    total_energy: float,
    packets: int | Sequence[int] | np.ndarray,
) -> np.ndarray:
    """``E||C - C_hat||_F^2`` given ``packets`` arrived (module docstring), for each entry of ``packets``.

    ``product_energies``: ``||P_k||_F^2``; ``probabilities``: the sampling ``p_k`` (a sub-product
    with ``p_k = 0`` must have ``P_k = 0``); ``total_energy``: ``||C||_F^2``.

    Examples
    --------
    Two orthogonal sub-products of energy 1 sampled with probability 1/2 each:
    ``(sum_k ||P_k||^2 / p_k - ||C||^2) / n``:

    >>> from uepmm.theory import sampling_expected_loss
    >>> sampling_expected_loss([1.0, 1.0], [0.5, 0.5], total_energy=2.0, packets=[1, 2]).tolist()
    [2.0, 1.0]
    """
    energies = np.asarray(product_energies, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if energies.shape != p.shape or energies.ndim != 1:
        raise ValueError(
            f"product_energies and probabilities must be 1-D of the same length, got shapes {energies.shape} "
            f"and {p.shape}"
        )
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError(f"probabilities must be non-negative and sum to 1, got sum {p.sum():g}")
    if np.any((p == 0) & (energies > 0)):
        raise ValueError("a sub-product with probability 0 has non-zero energy: the estimator would be biased")
    n = np.asarray(packets)
    if n.dtype.kind not in "iu" or np.any(n < 0):
        raise ValueError(f"packets must be non-negative integers, got {packets!r}")
    second_moment = float(np.sum(np.where(p > 0, energies / np.where(p > 0, p, 1.0), 0.0)))
    per_sample = max(second_moment - float(total_energy), 0.0)
    with np.errstate(divide="ignore"):
        return np.where(n == 0, float(total_energy), per_sample / np.maximum(n, 1))
