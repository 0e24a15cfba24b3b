"""The work model of a design (``cost="work"``): what each window costs and when it arrives.

A worker that draws window ``l`` computes ``s_l`` block products (``Code.packet_work``): in
c×r the window's size, in r×c the rank of its ``N × P`` coefficient pattern.  It answers
after the sum of ``s_l`` i.i.d. unit draws over ``Ω`` (:mod:`uepmm.draw`), so by a deadline
``t`` it has arrived with probability ``F_{s_l}(t)``.  The arrivals are then
Binomial(``W``, ``p(t) = Σ_l Γ_l F_{s_l}(t)``) and, given them, the arrived windows are
i.i.d. ``Γ'_l(t) = Γ_l F_{s_l}(t) / p(t)`` (:mod:`uepmm.theory.work`): every objective of
:mod:`uepmm.design.objectives` holds with ``Γ'`` and ``p`` in place of ``Γ`` and ``F``.

* :func:`window_work`: ``s_l`` of every window, and the work of an MDS packet, from the class
  table and the layout (r×c: the generic rank of a random matrix on the window's cells, which
  is the largest matching of its rows to its columns).
* :func:`work_cdfs`: ``F_s(t)`` for each deadline and work: closed forms
  (:func:`uepmm.theory.work.work_response_cdf`) where the sum of draws has one, else a seeded
  Monte Carlo of :data:`CDF_DRAWS` sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import choice
from ..codes import make_code
from ..importance import ClassTable
from ..latency import Deterministic, Exponential, LatencyModel, ShiftedExponential

__all__ = ["window_work", "work_cdfs", "CDF_DRAWS"]

#: Draws of the sum of unit times where it has no closed form (Pareto, Weibull, traces, schedules).
CDF_DRAWS = 200_000


def _pattern_rank(cells: np.ndarray, grid: tuple[int, int]) -> int:
    """Generic rank of a matrix with free entries on ``cells`` of the ``N × P`` grid (maximum matching)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    rows, cols = np.divmod(np.asarray(cells, dtype=np.int64), grid[1])
    pattern = csr_matrix((np.ones(rows.size), (rows, cols)), shape=grid)
    return int(np.count_nonzero(maximum_bipartite_matching(pattern, perm_type="column") >= 0))


def window_work(
    code: str, classes: ClassTable, partition: str, grid: tuple[int, int] | None = None
) -> tuple[tuple[int, ...], int]:
    """``(s_1..s_L, s_mds)``: block products of a packet of each window, and of an MDS packet.

    c×r: NOW ``k_l``, EW ``k_1 + … + k_l``, MDS ``K``.  r×c (``grid = (N, P)``, sub-product
    ``i`` at row ``i // P``, column ``i % P``): the rank of the window's pattern, what
    ``Code.packet_work`` measures on a drawn packet (with probability one), and ``min(N, P)``.

    Examples
    --------
    c×r with classes of 1, 2 and 3 sub-products: NOW windows cost their class, EW windows the
    classes up to theirs, an MDS packet all six:

    >>> import uepmm
    >>> from uepmm.design import window_work
    >>> classes = uepmm.ClassTable((0, 1, 1, 2, 2, 2))
    >>> window_work("now", classes, "cxr"), window_work("ew", classes, "cxr")
    (((1, 2, 3), 6), ((1, 3, 6), 6))
    """
    code = choice(code, "code", ("now", "ew"))
    partition = choice(partition, "partition", ("rxc", "cxr"))
    cls = classes.as_array()
    masks = make_code(code).window_masks(classes)
    if partition == "cxr":
        return tuple(int(m.sum()) for m in masks), int(cls.size)
    if grid is None or int(grid[0]) * int(grid[1]) != cls.size:
        raise ValueError(
            f"partition 'rxc' needs grid=(N, P) with N * P = {cls.size} sub-products (the window's work "
            f"is the rank of its N x P pattern), got grid={grid!r}"
        )
    grid = (int(grid[0]), int(grid[1]))
    return tuple(_pattern_rank(np.flatnonzero(m), grid) for m in masks), min(grid)


def work_cdfs(latency: LatencyModel, works: Sequence[int], deadlines: Sequence[float], omega: float,
              seed: int) -> np.ndarray:
    """``F_s(t)``, shape ``(len(deadlines), len(works))``: probability that a packet of work ``s``
    (the sum of ``s`` unit draws over ``Ω``) has answered by ``t``.

    Examples
    --------
    >>> import uepmm
    >>> from uepmm.design import work_cdfs
    >>> work_cdfs(uepmm.Deterministic(1.0), [1, 2], [1.5], omega=1.0, seed=0).tolist()
    [[1.0, 0.0]]
    """
    if isinstance(latency, (Exponential, ShiftedExponential, Deterministic)):
        from ..theory.work import work_response_cdf

        return np.clip(work_response_cdf(latency, list(works), list(deadlines), omega), 0.0, 1.0)
    s = np.asarray(works, dtype=np.int64)
    units = latency.sample(np.random.default_rng(seed), CDF_DRAWS * int(s.max())).reshape(int(s.max()), CDF_DRAWS)
    sums = np.cumsum(units, axis=0)[s - 1] / float(omega)  # (len(works), draws)
    t = np.asarray(deadlines, dtype=np.float64)
    return (sums[None, :, :] <= t[:, None, None]).mean(axis=2)
