"""Arrivals and expected loss under ``cost="work"`` (a packet of ``s`` block products answers
after the sum of ``s`` i.i.d. latency draws, over ``Ω``; :mod:`uepmm.draw`).

* :func:`work_response_cdf`: ``P(T ≤ t)`` for a packet of work ``s``, in closed form where the
  sum of ``s`` draws has one: exponential (Gamma(``s``, rate)), shifted exponential
  (``s·shift`` + Gamma) and deterministic (``s·delay``).
* :func:`poisson_binomial`: the number of arrivals when the workers' probabilities differ
  (eq. 13's binomial becomes a Poisson-binomial).
* :func:`expected_loss_work`: eq. 13 with Theorem 1 (r×c, exact) or Theorem 2 (c×r, a bound).
  A worker draws window ``l`` with probability ``Γ_l`` and, given it, has arrived by ``t`` with
  probability ``F_l(t)`` (its work ``s_l``), independently of the others.  So the number of
  arrivals is Binomial(``W``, ``p(t) = Σ_l Γ_l F_l(t)``), and given ``N`` arrivals their windows
  are i.i.d. with ``Γ'_l(t) = Γ_l F_l(t) / p(t)``: the paper's formulas hold with ``Γ'(t)`` and
  ``p(t)``.  Codes without windows have one work ``s`` for every packet.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

from .._validation import choice, int_sequence, positive_int
from ..importance import ClassTable
from ..latency import Deterministic, Exponential, LatencyModel, ShiftedExponential
from .loss import PARTITIONS, _conditional_loss, _times
from .probabilities import THEORY_CODES, field_size

__all__ = ["work_response_cdf", "poisson_binomial", "arrival_distribution_work", "expected_loss_work"]


def work_response_cdf(latency: LatencyModel, work: Sequence[int] | int, t, omega: float = 1.0) -> np.ndarray:
    """``P(sum of s draws / Ω ≤ t)`` for each time and work: shape ``(len(t), len(work))``.

    Examples
    --------
    Unit draws that all take 1: a packet of work 2 answers at time 2.

    >>> import uepmm
    >>> from uepmm.theory import work_response_cdf
    >>> work_response_cdf(uepmm.Deterministic(1.0), [1, 2], [1.5, 2.5]).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    s = np.atleast_1d(np.asarray(work, dtype=np.float64))
    if np.any(s < 1) or np.any(s != np.rint(s)):
        raise ValueError(f"work must be whole block products >= 1, got {work!r}")
    x = _times(t)[:, None] * float(omega)
    if isinstance(latency, Exponential):
        return stats.gamma.cdf(x, a=s[None, :], scale=1.0 / latency.rate)
    if isinstance(latency, ShiftedExponential):
        return stats.gamma.cdf(x - s[None, :] * latency.shift, a=s[None, :], scale=1.0 / latency.rate)
    if isinstance(latency, Deterministic):
        return (x >= s[None, :] * latency.delay).astype(np.float64)
    raise ValueError(
        f"no closed form for the sum of {type(latency).__name__} draws; use the Monte Carlo "
        f"(coded_matmul or engine_loss_curves with cost='work', estimator 'sampled')"
    )


def poisson_binomial(probabilities: np.ndarray) -> np.ndarray:
    """``P(N = n)``, ``n = 0..W``, for independent workers with arrival probabilities ``(..., W)``.

    Examples
    --------
    >>> import numpy as np
    >>> from uepmm.theory import poisson_binomial
    >>> poisson_binomial(np.array([0.5, 1.0])).tolist()
    [0.0, 0.5, 0.5]
    """
    p = np.asarray(probabilities, dtype=np.float64)
    pmf = np.zeros(p.shape[:-1] + (p.shape[-1] + 1,))
    pmf[..., 0] = 1.0
    for w in range(p.shape[-1]):
        q = p[..., w, None]
        shifted = np.concatenate([np.zeros_like(q), pmf[..., :-1]], axis=-1)
        pmf = pmf * (1.0 - q) + shifted * q
    return pmf


def arrival_distribution_work(latency: LatencyModel, t, work: Sequence[int], omega: float = 1.0) -> np.ndarray:
    """``P(N(t) = n)`` for workers of known work ``work`` (one per worker): ``(len(t), W + 1)``.

    Examples
    --------
    Two workers of work 1 and 2 with unit draws of exactly 1: by ``t = 1.5`` only the first.

    >>> import uepmm
    >>> from uepmm.theory import arrival_distribution_work
    >>> arrival_distribution_work(uepmm.Deterministic(1.0), [1.5], [1, 2]).tolist()
    [[0.0, 1.0, 0.0]]
    """
    return poisson_binomial(work_response_cdf(latency, work, t, omega))


def expected_loss_work(
    code: str,
    k: Sequence[int],
    gamma: Sequence[float] | None,
    latency: LatencyModel,
    times,
    workers: int,
    class_energy: Sequence[float],
    partition: str = "cxr",
    omega: float | None = None,
    work: Sequence[int] | int | None = None,
    normalize: bool = False,
) -> np.ndarray:
    """``E[L(t)]`` under ``cost="work"`` (module docstring), shape ``(len(times),)``.

    ``work``: NOW/EW, the work of each window (default for c×r: NOW ``k_l``, EW ``k_1 + … + k_l``;
    r×c needs it, the rank of each window's pattern); other codes, the one work of every packet
    (default for c×r: ``K`` for MDS, 1 for uncoded and repetition).

    Examples
    --------
    A c×r MDS packet costs ``K = 3`` unit draws, so with unit draws of exactly 1 nothing
    arrives before ``t = 3`` (the value is Theorem 2's bound, ``M`` times the energy):

    >>> import uepmm
    >>> from uepmm.theory import expected_loss_work
    >>> expected_loss_work("mds", [1, 1, 1], None, uepmm.Deterministic(1.0), [2.5, 3.5], workers=3,
    ...                    class_energy=[1.0, 1.0, 1.0], omega=1.0).tolist()
    [9.0, 0.0]
    """
    from ..codes.base import make_code

    partition = choice(partition, "partition", PARTITIONS)
    k = int_sequence(k, "k")
    workers = positive_int(workers, "workers")
    K, L = sum(k), len(k)
    code_obj = make_code(choice(code, "code", THEORY_CODES), gamma=gamma)
    table = ClassTable(tuple(level for level, size in enumerate(k) for _ in range(size)))
    code_obj.check(table, workers)
    omega = K / workers if omega is None else float(omega)
    t = _times(times)
    if code_obj.uses_window_probabilities:
        if gamma is None:
            raise ValueError(f"code {code!r} needs gamma (window probabilities)")
        if work is None:
            if partition == "rxc":
                raise ValueError("partition 'rxc': give work= (the rank of each window's N x P pattern)")
            work = np.asarray([int(mask.sum()) for mask in code_obj.window_masks(table)])  # the window sizes
        s = np.asarray(work, dtype=np.int64).reshape(-1)
        if s.size != L:
            raise ValueError(f"work must give one work per window ({L}), got {work!r}")
        g = np.asarray(code_obj.window_probabilities(L))
        F = work_response_cdf(latency, s, t, omega)  # [T, L]
        out = np.empty(t.size)
        for i in range(t.size):
            joint = g * F[i]
            p = float(joint.sum())
            if p <= 0.0:
                P = np.zeros((workers + 1, L))
                pmf = np.zeros(workers + 1)
                pmf[0] = 1.0
            else:
                effective = make_code(code_obj.name, gamma=tuple((joint / p).tolist()))
                P = effective.decoding_probabilities(k, workers, q=field_size(math.inf), workers=workers)
                pmf = stats.binom.pmf(np.arange(workers + 1), workers, min(p, 1.0))
            out[i] = pmf @ _conditional_loss(P, k, class_energy, partition, bool(normalize))
        return out
    if work is None:
        if partition == "rxc":
            raise ValueError("partition 'rxc': give work= (block products per packet)")
        work = code_obj.cxr_packet_work(K)
    s = int(np.asarray(work).reshape(-1)[0])
    P = code_obj.decoding_probabilities(k, workers, q=field_size(math.inf), workers=workers)
    F = work_response_cdf(latency, [s], t, omega)[:, 0]
    pmf = stats.binom.pmf(np.arange(workers + 1)[None, :], workers, F[:, None])
    return pmf @ _conditional_loss(P, k, class_energy, partition, bool(normalize))
