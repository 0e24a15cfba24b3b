"""Analytic decoding probabilities ``P_d,l(N)`` (paper eqs. 14-15, docs/design.md "Decoding probabilities").

For ``N`` received packets whose windows are multinomial(``N``, ``gamma``):

* NOW: class ``l`` is decoded iff ``n_l >= k_l`` (eq. 14), a binomial tail, since ``n_l`` is
  marginally Binomial(``N``, ``gamma_l``).
* EW: with ``K_l = k_1 + ... + k_l`` and ``R_l = min(R_{l-1} + n_l, K_l)``, window ``l`` is
  complete iff ``R_l = K_l`` and class ``l`` is decoded iff some window ``j >= l`` is complete.
  A forward and a backward dynamic programme over classes, never an enumeration of the
  compositions of ``N``.
* MDS: every class iff ``N >= K``.
* uncoded / repetition: the probability that a *given* sub-product is recovered (at least one
  of its copies arrived), the same for every class.

The functions here take checked arguments; each code's
:meth:`~uepmm.codes.Code.decoding_probabilities` calls the one that describes it, and
:func:`decoding_probabilities` is the public entry that validates and asks the code.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import special, stats

from .._validation import choice, int_sequence, positive_float, positive_int, probability_vector
from ..codes.base import Code, make_code  # the interface and its registry; the code modules call this one

__all__ = [
    "THEORY_CODES",
    "decoding_probabilities",
    "now_probabilities",
    "ew_probabilities",
    "now_all_decoded",
    "repetition_all_decoded",
    "repetition_probabilities",
    "field_size",
    "require_window_probabilities",
]


#: Codes with an analytic decoding probability.
THEORY_CODES = ("now", "ew", "mds", "uncoded", "repetition", "matdot")


def field_size(q: object) -> float:
    """The checked field size ``q`` (``math.inf`` is the paper's large-field limit)."""
    q = positive_float(q, "q", allow_inf=True)
    if q < 2:
        raise ValueError(
            f"q is the field size and must be >= 2 (or math.inf for the paper's large-field limit), got {q}"
        )
    return q


# --------------------------------------------------------------------------- binomial helpers


def _log_factorials(n: int) -> np.ndarray:
    """``log(i!)`` for ``i = 0..n``."""
    return special.gammaln(np.arange(n + 1, dtype=np.float64) + 1.0)


def _binom_pmf(count: np.ndarray, total: np.ndarray, p: float, log_fact: np.ndarray) -> np.ndarray:
    """``P(Binomial(total, p) = count)``, broadcast, 0 where ``count > total``; log-space."""
    p = min(max(p, 0.0), 1.0)
    count, total = np.broadcast_arrays(count, total)
    valid = (count >= 0) & (count <= total)
    if p == 0.0:
        return (valid & (count == 0)).astype(np.float64)
    if p == 1.0:
        return (valid & (count == total)).astype(np.float64)
    c = np.where(valid, count, 0)
    t = np.where(valid, total, 0)
    log_pmf = log_fact[t] - log_fact[c] - log_fact[t - c] + c * math.log(p) + (t - c) * math.log1p(-p)
    return np.where(valid, np.exp(log_pmf), 0.0)


def _binom_columns(rows: int, cols: int, p: float) -> np.ndarray:
    """``B[m, n] = P(Binomial(m, p) = n)`` for ``m < rows`` and ``n < cols``."""
    m = np.arange(rows)[:, None]
    n = np.arange(cols)[None, :]
    return _binom_pmf(n, m, p, _log_factorials(rows))


def _binom_tail_columns(rows: int, cols: int, p: float) -> np.ndarray:
    """``S[m, x] = P(Binomial(m, p) >= x)`` for ``m < rows`` and ``x < cols``."""
    m = np.arange(rows)[:, None]
    x = np.arange(cols)[None, :]
    return stats.binom.sf(x - 1, m, min(max(p, 0.0), 1.0))


def _split_probability(part: float, rest: float) -> float:
    """Probability that a packet of a group falls in ``part`` (1 if the group has mass 0)."""
    total = part + rest
    if total <= 0.0:
        return 1.0
    return min(max(part / total, 0.0), 1.0)


def _full_rank(rows: np.ndarray, cols: int, q: float) -> np.ndarray:
    """P(a uniform ``rows × cols`` matrix over GF(q) has rank ``cols``) = prod_i (1 - q^(i-rows))."""
    rows = np.asarray(rows, dtype=np.float64)
    if math.isinf(q):
        return (rows >= cols).astype(np.float64)
    out = np.ones_like(rows)
    for i in range(cols):
        out *= -np.expm1(np.minimum(i - rows, 0.0) * math.log(q))
    return np.where(rows >= cols, out, 0.0)


# --------------------------------------------------------------------------- NOW


def now_probabilities(k: Sequence[int], gamma: np.ndarray, max_packets: int, q: float = math.inf) -> np.ndarray:
    """Eqs. 14-15: ``n_l`` is marginally Binomial(N, gamma_l); decoded iff ``n_l >= k_l``."""
    N = np.arange(max_packets + 1)
    out = np.empty((N.size, len(k)))
    for level, (k_l, g_l) in enumerate(zip(k, gamma)):
        if math.isinf(q):
            out[:, level] = stats.binom.sf(k_l - 1, N, g_l)
        else:
            n = np.arange(max_packets + 1)
            pmf = stats.binom.pmf(n[None, :], N[:, None], g_l)  # [N, n_l]
            out[:, level] = pmf @ _full_rank(n, k_l, q)
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------- EW
#
# Deficit form of the rank recursion: D_l = K_l - R_l = max(D_{l-1} + k_l - n_l, 0), D_0 = 0.
# Window l is complete iff D_l = 0.  For finite q the packets of window l are uniform vectors
# of GF(q)^{K_l} and the row space so far lies inside GF(q)^{K_l}, so each packet lowers a
# deficit d by one with probability 1 - q^(-d): a Markov chain that tends to the
# deterministic recursion as q -> inf.
#
# Conditioning on N: given that m packets fell in windows 1..j, window j holds
# Binomial(m, gamma_j / s_j) of them (s_j = gamma_1 + ... + gamma_j) and the rest are
# multinomial over 1..j-1; symmetrically from the right with tail sums.  Hence
#   a_j(m, d) = P(D_j = d | m packets in windows 1..j)                  (forward)
#   h_l(r, d) = P(some window j >= l complete | D_{l-1} = d,
#                 r packets in windows l..L)                          (backward)
#   P_d,l(N)  = sum_m Binom(N, s_{l-1})(m) sum_d a_{l-1}(m, d) h_l(N - m, d).
# Every DP entry is a probability (binomial weights are evaluated in log space), so W in the
# hundreds is numerically stable.


def _deficit_steps(k_l: int, K_prev: int, W: int, q: float):
    """Yield ``T_n[d, e] = P(D_l = e | D_{l-1} = d, n packets in window l)``, n = 0..W (finite q)."""
    K_l = K_prev + k_l
    size = K_l + 1
    step = np.zeros((size, size))
    delta = np.arange(size)
    stay = np.exp(-delta * math.log(q))  # q^(-delta); 1 at delta = 0
    step[delta, delta] = stay
    step[delta[1:], delta[1:] - 1] = 1.0 - stay[1:]
    current = np.eye(size)[k_l : K_l + 1]  # start at delta = d + k_l
    for _ in range(W + 1):
        yield current
        current = current @ step


def _ew_forward(k: Sequence[int], gamma: np.ndarray, W: int, q: float) -> list[np.ndarray]:
    """``a[j]`` (``j = 0..L-1``), shape ``(W+1, K_j+1)``: deficit law after windows ``1..j``."""
    prefix = np.concatenate(([0.0], np.cumsum(gamma)))
    a = np.zeros((W + 1, 1))
    a[:, 0] = 1.0  # no window yet: deficit 0 (rows m > 0 carry zero weight)
    out = [a]
    K_prev = 0
    for j, k_j in enumerate(k[:-1]):
        K_j = K_prev + k_j
        p = _split_probability(gamma[j], prefix[j])
        new = np.zeros((W + 1, K_j + 1))
        if math.isinf(q):
            B = _binom_columns(W + 1, W + 1, p)
            for n in range(min(K_j, W + 1)):
                # the deficit stays positive iff d' + k_j - n >= 1, i.e. d' >= n - k_j + 1
                lo = max(0, n - k_j + 1)
                new[n:, lo + k_j - n : K_j + 1 - n] += B[n:, n, None] * a[: W + 1 - n, lo:]
            # window j completes iff n >= d' + k_j: weight of {d' <= n - k_j}, summed over n
            # directly (not as a complement) so that impossible events stay exactly 0
            below = np.cumsum(a, axis=1)
            rows = np.arange(W + 1)[:, None]
            cols = np.arange(W + 1)[None, :]
            top = np.minimum(cols - k_j, K_prev)
            ok = (cols <= rows) & (top >= 0)
            reach = np.where(ok, below[np.where(ok, rows - cols, 0), np.where(ok, top, 0)], 0.0)
            new[:, 0] = np.sum(B * reach, axis=1)
        else:
            B = _binom_columns(W + 1, W + 1, p)
            for n, T_n in enumerate(_deficit_steps(k_j, K_prev, W, q)):
                new[n:] += B[n:, n, None] * (a[: W + 1 - n] @ T_n)
        a = new
        out.append(a)
        K_prev = K_j
    return out


def _ew_backward(k: Sequence[int], gamma: np.ndarray, W: int, q: float) -> list[np.ndarray]:
    """``h[l]`` (``l = 0..L-1``), shape ``(W+1, K_{l-1}+1)``: P(some window ``j >= l`` completes)."""
    L = len(k)
    cum = np.concatenate(([0], np.cumsum(k)))
    suffix = np.concatenate((np.cumsum(gamma[::-1])[::-1], [0.0]))
    h_next = np.zeros((W + 1, cum[L] + 1))  # beyond window L nothing completes
    out: list[np.ndarray] = [np.empty(0)] * L
    for l in range(L - 1, -1, -1):
        k_l, K_prev, K_l = k[l], int(cum[l]), int(cum[l + 1])
        p = _split_probability(gamma[l], suffix[l + 1])
        if math.isinf(q):
            # window l completes iff n >= d + k_l; otherwise the deficit is d + k_l - n >= 1
            h = _binom_tail_columns(W + 1, K_l + 1, p)[:, k_l:].copy()
            B = _binom_columns(W + 1, K_l, p)
            for n in range(min(K_l, W + 1)):
                lo = max(0, n - k_l + 1)
                h[n:, lo:] += B[n:, n, None] * h_next[: W + 1 - n, lo + k_l - n : K_l + 1 - n]
        else:
            B = _binom_columns(W + 1, W + 1, p)
            g = h_next.copy()
            g[:, 0] = 1.0  # deficit 0 after window l: window l is complete
            h = np.zeros((W + 1, K_prev + 1))
            for n, T_n in enumerate(_deficit_steps(k_l, K_prev, W, q)):
                h[n:] += B[n:, n, None] * (g[: W + 1 - n] @ T_n.T)
        out[l] = np.clip(h, 0.0, 1.0)
        h_next = out[l]
    return out


def ew_probabilities(k: Sequence[int], gamma: np.ndarray, max_packets: int, q: float = math.inf) -> np.ndarray:
    """EW-UEP (the analogue of eq. 14 for expanding windows, [16] eqs. 6-9; module docstring)."""
    W, L = max_packets, len(k)
    forward = _ew_forward(k, gamma, W, q)
    backward = _ew_backward(k, gamma, W, q)
    prefix = np.concatenate(([0.0], np.cumsum(gamma)))
    N = np.arange(W + 1)[:, None]
    m = np.arange(W + 1)[None, :]
    valid = m <= N
    r = np.where(valid, N - m, 0)
    rows = np.broadcast_to(m, r.shape)
    log_fact = _log_factorials(W)
    out = np.empty((W + 1, L))
    for l in range(L):
        joint = forward[l] @ backward[l].T  # [m, r]
        split = _split_probability(prefix[l], 1.0 - prefix[l])
        weight = _binom_pmf(m, N, split, log_fact)  # [N, m], 0 for m > N
        out[:, l] = np.sum(weight * joint[rows, r], axis=1)
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------- baselines


def repetition_probabilities(k: Sequence[int], copies: int, max_packets: int) -> np.ndarray:
    """1 - C(rK - r, N) / C(rK, N) = 1 - prod_{i<r} (rK - N - i) / (rK - i); r = 1 (uncoded) is N / K."""
    tasks, r = sum(k) * copies, copies
    N = np.arange(max_packets + 1, dtype=np.float64)
    missing = np.ones_like(N)
    for i in range(r):
        missing *= np.maximum(tasks - N - i, 0.0) / (tasks - i)
    return np.repeat((1.0 - missing)[:, None], len(k), axis=1)


# --------------------------------------------------------------------------- everything decoded


def now_all_decoded(k: Sequence[int], gamma: np.ndarray, max_packets: int) -> np.ndarray:
    """``P(n_l >= k_l for every l | N)``, ``N = 0..max_packets`` (large field): a DP over classes.

    ``f_l(m)``: the probability that classes ``l..L`` all decode given ``m`` packets in windows
    ``l..L``; class ``l`` takes Binomial(``m``, ``gamma_l / sum_{i>=l} gamma_i``) of them.
    """
    W = max_packets
    suffix = np.concatenate((np.cumsum(gamma[::-1])[::-1], [0.0]))
    f = np.ones(W + 1)  # no class left: certain
    for level in range(len(k) - 1, -1, -1):
        p = _split_probability(gamma[level], suffix[level + 1])
        B = _binom_columns(W + 1, W + 1, p)  # B[m, j] = P(j of m packets fall in window l)
        new = np.zeros(W + 1)
        for j in range(k[level], W + 1):
            new[j:] += B[j:, j] * f[: W + 1 - j]
        f = new
    return np.clip(f, 0.0, 1.0)


def repetition_all_decoded(k: Sequence[int], copies: int, max_packets: int) -> np.ndarray:
    """``P(every sub-product has a copy among the N received of rK tasks)`` (inclusion-exclusion)."""
    K = sum(k)
    tasks = copies * K
    log_fact = _log_factorials(tasks)
    N = np.arange(max_packets + 1)

    def log_choose(n: np.ndarray, r: np.ndarray) -> np.ndarray:
        return log_fact[n] - log_fact[r] - log_fact[n - r]

    out = np.zeros(N.size)
    for j in range(K + 1):
        left = tasks - copies * j
        ok = N <= left
        term = np.where(ok, np.exp(log_choose(np.full_like(N, left), np.where(ok, N, 0)) - log_choose(
            np.full_like(N, tasks), N)), 0.0)
        out += (-1) ** j * math.comb(K, j) * term
    return np.clip(out, 0.0, 1.0)


def require_window_probabilities(code: Code, gamma: Sequence[float] | None) -> None:
    """The analysis needs ``Gamma`` stated: raise if a windowed code has none."""
    if code.uses_window_probabilities and gamma is None and getattr(code, "gamma", None) is None:
        raise ValueError(
            f"gamma is required for code={code.name!r}: one window selection probability per class, "
            f"e.g. gamma=(0.40, 0.35, 0.25) for 3 classes"
        )


def decoding_probabilities(
    code: str | Code,
    k: Sequence[int],
    gamma: Sequence[float] | None = None,
    max_packets: int | None = None,
    copies: int | None = None,
    q: float = math.inf,
) -> np.ndarray:
    """``P_d,l(N)`` for ``N = 0..max_packets`` received packets; shape ``(max_packets+1, L)``.

    ``code`` is a code's name (one of :data:`THEORY_CODES`) or a :class:`~uepmm.codes.Code`;
    ``k = (k_1..k_L)`` sub-products per class
    (class 0 the most important); ``gamma`` the window selection probabilities (required
    for ``now``/``ew``, ignored otherwise but validated if given).

    * ``now``: eqs. 14-15 (exact for q = inf).
    * ``ew``: docs/design.md: ``R_l = min(R_{l-1} + n_l, K_l)``, class ``l`` decoded iff some
      window ``j >= l`` is complete.  Forward/backward DP over classes on
      (packets, rank deficit): ``O(L W^2 K)`` time for q = inf, no enumeration.
    * ``mds``: 1 for every class iff ``N >= K``.
    * ``matdot`` (c×r): 1 for every class iff ``N >= 2K - 1`` (:mod:`uepmm.codes.matdot`).
    * ``uncoded``: W = K workers, each one distinct sub-product; the ``N`` received are a
      uniform ``N``-subset, so a *given* sub-product is recovered with probability ``N/K``.
    * ``repetition``: ``copies`` = r tasks per sub-product, W = rK; a given sub-product is
      recovered with probability ``1 - C(rK-r, N) / C(rK, N)``.

    For ``uncoded``/``repetition`` the entry is the per-sub-product recovery probability
    (recoveries within a class are not all-or-nothing); for ``now``/``ew``/``mds`` it is the
    probability that the whole class is decoded, which is the same thing per sub-product.
    Either way eq. 17 with these entries is the exact expected loss (linearity).

    ``max_packets`` defaults to the number of tasks for ``mds`` (K), ``uncoded`` (K) and
    ``repetition`` (rK) and is required for the rateless ``now``/``ew``.

    Finite field ``q`` (``now``/``ew`` only; default ``math.inf`` is the paper's case):
    coding coefficients are uniform over GF(q) (zero included).  NOW: a class with
    ``n_l >= k_l`` packets decodes with probability ``prod_{i<k_l} (1 - q^(i-n_l))``.  EW:
    the rank of the packets of windows ``1..j`` is tracked exactly as a Markov chain (a
    packet of window ``l`` raises rank ``R`` with probability ``1 - q^(R-K_l)``), and class
    ``l`` counts as decoded iff some window ``j >= l`` has full rank ``K_j`` (window
    decoding as in [16]).  Limits: sub-products that an ideal decoder could recover from a
    rank-deficient window by chance are not counted, so for finite q this is a lower bound
    on what a least-squares decoder recovers; the finite-q EW path costs ``O(L W^2 K^2)``.

    Examples
    --------
    Row ``N`` is the probability that each class is decoded after ``N`` packets.  MDS
    decodes everything from ``K`` packets; EW with two classes of one sub-product each:

    >>> from uepmm.theory import decoding_probabilities
    >>> decoding_probabilities("mds", [1, 1, 1], max_packets=3)[:, 0].tolist()
    [0.0, 0.0, 0.0, 1.0]
    >>> decoding_probabilities("ew", [1, 1], gamma=[0.5, 0.5], max_packets=2).tolist()
    [[0.0, 0.0], [0.5, 0.0], [1.0, 0.75]]
    """
    k = int_sequence(k, "k")
    K = sum(k)
    q = field_size(q)
    if isinstance(code, Code):
        code_obj = code
    else:
        code_obj = make_code(choice(code, "code", THEORY_CODES), gamma=gamma, copies=copies)
    require_window_probabilities(code_obj, gamma)
    if gamma is not None and not code_obj.uses_window_probabilities:
        probability_vector(gamma, "gamma", len(k))
    tasks = code_obj.task_count(K)
    if tasks is None and code_obj.deterministic and code_obj.recovery_threshold(K) is None:  # repetition, no copies: 2
        tasks = 2 * K
    if max_packets is None:
        max_packets = tasks if tasks is not None else code_obj.recovery_threshold(K)
        if max_packets is None:
            raise ValueError(
                f"max_packets is required for code={code_obj.name!r} (a rateless code has no natural number of "
                f"packets); pass e.g. max_packets=30"
            )
    max_packets = positive_int(max_packets, "max_packets", minimum=0)
    if tasks is not None and max_packets > tasks:
        raise ValueError(
            f"max_packets={max_packets} exceeds the {tasks} tasks of code={code_obj.name!r}; use max_packets <= {tasks}"
        )
    return code_obj.decoding_probabilities(k, max_packets, q=q, workers=tasks)
