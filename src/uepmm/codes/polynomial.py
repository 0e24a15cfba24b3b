"""Polynomial codes (Yu, Maddah-Ali & Avestimehr, 2017) for the r×c partition.

Worker ``w`` gets an evaluation point ``x_w`` and computes ONE block product,
``(sum_n A_n x_w^n) (sum_p B_p x_w^(p N))`` (the factor form, :attr:`Encoding.factors`).
Its coefficient row over the ``K = N P`` sub-products ``k = n P + p`` is
``g_w[k] = x_w^(n + p N)``: the row of a Vandermonde matrix in the distinct exponents
``0..K-1``.  Any ``K`` packets from distinct points determine everything (a square
Vandermonde matrix of distinct nodes is invertible), so the recovery threshold is ``K``
and the generic decoders (rank decision, zero-fill, LMMSE) apply to these rows unchanged.

Evaluation points: ``x_j = cos((4j + 3) pi / (4W))``, ``j = 0..W-1``: the Chebyshev points
of the first kind on ``[-1, 1]`` with their angles shifted by a quarter spacing, handed to the
workers in Leja order (each next point maximises the product of its distances to the points
before it), so that the first ``m`` workers' points are spread over the interval for every
``m``.  Fixed rather than random points: the code is deterministic (the same rows for every
job), and Chebyshev-spaced points keep a real Vandermonde system far better conditioned than
random ones (median condition number of K = 9 of 13 points: about 2e3 against 1e6 for
uniform random points).  The shift removes the symmetric pairs ``±x`` of the plain Chebyshev
points: with pairs, the even and odd powers decouple, fewer than ``K`` packets recover some
sub-products, and the all-or-nothing self-description below would be wrong.  Its condition
number still grows exponentially with ``K`` (docs/comparison.md, "Polynomial codes:
conditioning"): real-valued polynomial codes are for small ``K``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .base import Encoding, ThresholdCode

__all__ = ["Polynomial", "chebyshev_leja_points"]


def chebyshev_leja_points(count: int) -> np.ndarray:
    """``count`` shifted Chebyshev points ``cos((4j + 3) pi / (4 count))`` on ``[-1, 1]`` in Leja order
    (a fresh copy: every job and every MatDot decision asks for them, the greedy order is computed once)."""
    return _leja_points(int(count)).copy()


@functools.lru_cache(maxsize=64)
def _leja_points(count: int) -> np.ndarray:
    nodes = np.cos((4 * np.arange(count) + 3) * np.pi / (4 * count))
    remaining = list(range(count))
    first = int(np.argmax(np.abs(nodes)))  # ties: the first (largest x)
    order = [first]
    remaining.remove(first)
    log_dist = np.zeros(count)
    while remaining:
        log_dist += np.log(np.abs(nodes - nodes[order[-1]]) + 1e-300)
        best = max(remaining, key=lambda j: log_dist[j])
        order.append(best)
        remaining.remove(best)
    return nodes[order]


@dataclass(frozen=True)
class Polynomial(ThresholdCode):
    """Polynomial code for r×c with the ``(N, P)`` grid (bound by :meth:`for_layout`).

    Examples
    --------
    r×c on a 2×2 grid: any 4 packets give ``C`` exactly.

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)), rng.standard_normal((6, 4))
    >>> res = uepmm.coded_matmul(A, B, code="polynomial", partition="rxc", blocks=(2, 2),
    ...                          workers=6, seed=0)
    >>> res.received, bool(np.allclose(res.estimate, A @ B))
    (4, True)
    """

    grid: tuple[int, int] | None = None
    name = "polynomial"
    deterministic = True
    adaptive_refusal = (
        "a new evaluation point would change the Chebyshev-Leja set the W workers' points come from, "
        "and the code's conditioning rests on that set; use code='mds' for fresh rows"
    )

    def for_layout(self, kind: str, grid: tuple[int, int]) -> Polynomial:
        if kind != "rxc":
            raise ValueError(
                "code='polynomial' is for partition 'rxc' (C = the N x P blocks A_n B_p); for 'cxr' "
                "(C = sum_m A_m B_m) use code='matdot'"
            )
        return Polynomial((int(grid[0]), int(grid[1])))

    def check(self, classes, workers):
        if self.grid is None:
            raise ValueError(
                "code 'polynomial' needs the r×c grid (N, P): build it through JobSpec(code='polynomial', "
                "partition='rxc', blocks=(N, P)) or Polynomial(grid=(N, P))"
            )
        if self.grid[0] * self.grid[1] != classes.num_products:
            raise ValueError(
                f"code 'polynomial' was built for the {self.grid[0]}x{self.grid[1]} grid, but the job has "
                f"K = {classes.num_products} sub-products"
            )

    def packet_work(self, encoding, partition):
        return np.ones(encoding.workers)

    def _encode(self, classes, workers, rng):
        N, P = self.grid
        x = chebyshev_leja_points(workers)
        alpha = x[:, None] ** np.arange(N)[None, :]  # x^n
        beta = x[:, None] ** (N * np.arange(P))[None, :]  # x^(p N)
        generator = (alpha[:, :, None] * beta[:, None, :]).reshape(workers, N * P)  # k = n P + p: x^(n + p N)
        factors = tuple((alpha[w].copy(), beta[w].copy()) for w in range(workers))
        return Encoding(generator, np.zeros(workers, dtype=np.int64), factors)
