"""Analytic decoding probabilities and expected loss (paper Sec. V, eqs. 13-19).

Everything here is closed form or a small dynamic programme; nothing is simulated.

Decoding probabilities ``P_d,l(N)`` (paper eqs. 14-15 and DESIGN.md §4), for ``N``
received packets whose windows are multinomial(``N``, ``gamma``):

* ``now``: class ``l`` is decoded iff ``n_l >= k_l`` (eq. 14), so ``P_d,l(N)`` is a
  binomial tail, since ``n_l`` is marginally Binomial(``N``, ``gamma_l``).
* ``ew``: with ``K_l = k_1 + ... + k_l`` and ``R_l = min(R_{l-1} + n_l, K_l)``, window
  ``l`` is complete iff ``R_l = K_l`` and class ``l`` is decoded iff some window ``j >= l``
  is complete.  Computed by a forward and a backward dynamic programme over classes (see
  :func:`decoding_probabilities`), never by enumerating compositions of ``N``.
* ``mds``: every class iff ``N >= K``.
* ``uncoded`` / ``repetition``: the probability that a *given* sub-product is recovered
  (at least one of its copies arrived), the same for every class.

Loss: eq. 13 (arrivals), eq. 16/17 (Theorem 1, r×c, exact), eq. 18/19 (Theorem 2, c×r,
an upper bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special, stats

from ._validation import choice, int_sequence, positive_float, positive_int, probability_vector
from .latency import LatencyModel

__all__ = [
    "THEORY_CODES",
    "PARTITIONS",
    "decoding_probabilities",
    "arrival_distribution",
    "sub_product_energy",
    "total_energy",
    "conditional_loss_rxc",
    "conditional_loss_bound_cxr",
    "expected_loss",
    "expected_loss_vs_packets",
    "sec6_class_energy",
]

#: Codes with an analytic decoding probability.
THEORY_CODES = ("now", "ew", "mds", "uncoded", "repetition")
#: Partitionings: row-times-column (Theorem 1) and column-times-row (Theorem 2).
PARTITIONS = ("rxc", "cxr")

#: Sec. VI variances of the entries of high / medium / low blocks.
_SEC6_VARIANCES = (10.0, 1.0, 0.1)


@dataclass(frozen=True)
class _CodeParams:
    """Validated arguments of :func:`decoding_probabilities`."""

    code: str
    k: tuple[int, ...]
    gamma: np.ndarray | None
    max_packets: int
    copies: int
    q: float


# --------------------------------------------------------------------------- validation


def _field_size(q: object) -> float:
    q = positive_float(q, "q", allow_inf=True)
    if q < 2:
        raise ValueError(f"q is the field size and must be >= 2 (or math.inf for the paper's large-field limit), got {q}")
    return q


def _validate(
    code: object,
    k: object,
    gamma: object,
    max_packets: object,
    copies: object,
    q: object,
) -> _CodeParams:
    code = choice(code, "code", THEORY_CODES)
    k = int_sequence(k, "k")
    K = sum(k)
    q = _field_size(q)
    if copies is not None and code != "repetition":
        raise ValueError(f"copies={copies!r} only applies to code='repetition'; leave copies=None for code={code!r}")
    reps = 1
    if code == "repetition":
        reps = 2 if copies is None else positive_int(copies, "copies")
    if not math.isinf(q) and code not in ("now", "ew"):
        raise ValueError(
            f"q={q:g} (a finite field) only applies to the random linear codes 'now' and 'ew'; "
            f"use q=math.inf for code={code!r}"
        )
    if code in ("now", "ew"):
        if gamma is None:
            raise ValueError(
                f"gamma is required for code={code!r}: one window selection probability per class, "
                f"e.g. gamma=(0.40, 0.35, 0.25) for 3 classes"
            )
        gamma_arr = probability_vector(gamma, "gamma", len(k))
        gamma_arr = gamma_arr / gamma_arr.sum()  # exact normalisation of a 1e-9-close sum
    else:
        gamma_arr = None if gamma is None else probability_vector(gamma, "gamma", len(k))
    if max_packets is None:
        if code in ("now", "ew"):
            raise ValueError(
                f"max_packets is required for code={code!r} (a rateless code has no natural number of "
                f"packets); pass e.g. max_packets=30"
            )
        max_packets = K * reps
    max_packets = positive_int(max_packets, "max_packets", minimum=0)
    if code in ("uncoded", "repetition") and max_packets > K * reps:
        raise ValueError(
            f"max_packets={max_packets} exceeds the {K * reps} tasks of code={code!r} "
            f"(W = copies * K = {reps} * {K}); use max_packets <= {K * reps}"
        )
    return _CodeParams(code, k, gamma_arr, max_packets, reps, q)


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


def _now_probabilities(p: _CodeParams) -> np.ndarray:
    """Eqs. 14-15: ``n_l`` is marginally Binomial(N, gamma_l); decoded iff ``n_l >= k_l``."""
    N = np.arange(p.max_packets + 1)
    out = np.empty((N.size, len(p.k)))
    for level, (k_l, g_l) in enumerate(zip(p.k, p.gamma)):
        if math.isinf(p.q):
            out[:, level] = stats.binom.sf(k_l - 1, N, g_l)
        else:
            n = np.arange(p.max_packets + 1)
            pmf = stats.binom.pmf(n[None, :], N[:, None], g_l)  # [N, n_l]
            out[:, level] = pmf @ _full_rank(n, k_l, p.q)
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


def _ew_probabilities(p: _CodeParams) -> np.ndarray:
    """EW-UEP, DESIGN.md §4 (the analogue of eq. 14 for expanding windows, [16] eqs. 6-9)."""
    W, L = p.max_packets, len(p.k)
    forward = _ew_forward(p.k, p.gamma, W, p.q)
    backward = _ew_backward(p.k, p.gamma, W, p.q)
    prefix = np.concatenate(([0.0], np.cumsum(p.gamma)))
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


def _mds_probabilities(p: _CodeParams) -> np.ndarray:
    N = np.arange(p.max_packets + 1)
    return np.repeat((N >= sum(p.k)).astype(np.float64)[:, None], len(p.k), axis=1)


def _repetition_probabilities(p: _CodeParams) -> np.ndarray:
    """1 - C(rK - r, N) / C(rK, N) = 1 - prod_{i<r} (rK - N - i) / (rK - i); r = 1 is N / K."""
    tasks, r = sum(p.k) * p.copies, p.copies
    N = np.arange(p.max_packets + 1, dtype=np.float64)
    missing = np.ones_like(N)
    for i in range(r):
        missing *= np.maximum(tasks - N - i, 0.0) / (tasks - i)
    return np.repeat((1.0 - missing)[:, None], len(p.k), axis=1)


# --------------------------------------------------------------------------- public API


def decoding_probabilities(
    code: str,
    k: Sequence[int],
    gamma: Sequence[float] | None = None,
    max_packets: int | None = None,
    copies: int | None = None,
    q: float = math.inf,
) -> np.ndarray:
    """``P_d,l(N)`` for ``N = 0..max_packets`` received packets; shape ``(max_packets+1, L)``.

    ``code`` is one of :data:`THEORY_CODES`; ``k = (k_1..k_L)`` sub-products per class
    (class 0 the most important); ``gamma`` the window selection probabilities (required
    for ``now``/``ew``, ignored otherwise but validated if given).

    * ``now``: eqs. 14-15 (exact for q = inf).
    * ``ew``: DESIGN.md §4: ``R_l = min(R_{l-1} + n_l, K_l)``, class ``l`` decoded iff some
      window ``j >= l`` is complete.  Forward/backward DP over classes on
      (packets, rank deficit): ``O(L W^2 K)`` time for q = inf, no enumeration.
    * ``mds``: 1 for every class iff ``N >= K``.
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
    """
    params = _validate(code, k, gamma, max_packets, copies, q)
    if params.code == "now":
        return _now_probabilities(params)
    if params.code == "ew":
        return _ew_probabilities(params)
    if params.code == "mds":
        return _mds_probabilities(params)
    return _repetition_probabilities(params)


def arrival_distribution(
    latency: LatencyModel,
    t: float | Sequence[float] | np.ndarray,
    workers: int,
    omega: float = 1.0,
) -> np.ndarray:
    """``P_N(t)(w)`` for ``w = 0..W`` (eq. 13): Binomial(``W``, ``F(Ω t)``) per time.

    ``t`` is a time or a 1-D array of times; the result has shape ``(len(t), W+1)`` (one
    row for a scalar).  ``F(Ω t)`` is ``latency.response_cdf(t, omega)`` (Remark 1).
    """
    if not isinstance(latency, LatencyModel):
        raise TypeError(f"latency must be a uepmm.latency.LatencyModel (e.g. Exponential(1.0)), got {type(latency).__name__}")
    workers = positive_int(workers, "workers")
    times = _times(t)
    F = np.clip(latency.response_cdf(times, omega), 0.0, 1.0)
    w = np.arange(workers + 1)
    return stats.binom.pmf(w[None, :], workers, F[:, None])


def _times(t: object) -> np.ndarray:
    if isinstance(t, (str, bytes)) or t is None:
        raise TypeError(f"t must be a time or a 1-D sequence of times, got {t!r}")
    try:
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"t must be a time or a 1-D sequence of times, got {t!r}") from None
    if times.ndim != 1:
        raise ValueError(f"t must be a time or a 1-D sequence of times, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ValueError("t must contain finite times only")
    return times


def sub_product_energy(U: int, H: int, Q: int, var_a: float, var_b: float) -> float:
    """``E||P_k||_F^2 = U H Q σ_A² σ_B²`` for i.i.d. zero-mean blocks (eq. 12)."""
    U = positive_int(U, "U")
    H = positive_int(H, "H")
    Q = positive_int(Q, "Q")
    var_a = positive_float(var_a, "var_a", allow_zero=True)
    var_b = positive_float(var_b, "var_b", allow_zero=True)
    return float(U * H * Q) * var_a * var_b


def _energies(class_energy: object, L: int) -> np.ndarray:
    try:
        e = np.asarray(class_energy, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"class_energy must be a sequence of {L} non-negative numbers, got {class_energy!r}") from None
    if e.ndim != 1 or e.size != L:
        raise ValueError(
            f"class_energy must have one entry per class ({L}), got shape {e.shape}; "
            f"give E||P_k||_F^2 of a sub-product of each class"
        )
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise ValueError(f"class_energy entries must be finite and >= 0, got {class_energy!r}")
    return e


def _probabilities(probs: object, L: int) -> np.ndarray:
    try:
        P = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("probs must be an array of decoding probabilities, shape (packets, L) or (L,)") from None
    if P.ndim not in (1, 2) or P.shape[-1] != L:
        raise ValueError(f"probs must have shape (packets, {L}) or ({L},) to match k, got {P.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < 0) or np.any(P > 1):
        raise ValueError("probs must be probabilities in [0, 1]")
    return P


def total_energy(k: Sequence[int], class_energy: Sequence[float]) -> float:
    """``E||C||_F^2 = sum_l k_l e_l``.

    r×c: the blocks of ``C`` are disjoint.  c×r: ``C = sum_m P_m`` and, with independent
    zero-mean blocks (Assumption 1), the cross terms ``E<P_m, P_m'>`` vanish, so the same sum.
    """
    k = int_sequence(k, "k")
    return float(np.dot(k, _energies(class_energy, len(k))))


def conditional_loss_rxc(probs: np.ndarray, k: Sequence[int], class_energy: Sequence[float]) -> np.ndarray:
    """Eq. 17: ``E[||C - C_hat||² | N = w] = sum_l k_l (1 - P_d,l(w)) e_l``.

    ``class_energy[l]`` = ``E||P_k||_F^2`` of a sub-product of class ``l`` (eq. 12:
    ``U H Q σ²_{l,A} σ²_{l,B}``; any per-class value is accepted).  If a class mixes
    sub-products of different energies pass their mean: only ``k_l e_l`` enters.
    ``probs`` has shape ``(packets, L)`` (result per row) or ``(L,)`` (a scalar array).
    """
    k = int_sequence(k, "k")
    e = _energies(class_energy, len(k))
    P = _probabilities(probs, len(k))
    return (1.0 - P) @ (np.asarray(k, dtype=np.float64) * e)


def conditional_loss_bound_cxr(
    probs: np.ndarray,
    k: Sequence[int],
    class_energy: Sequence[float],
    num_blocks: int | None = None,
) -> np.ndarray:
    """Eq. 19: the c×r bound ``M sum_l k_l (1 - P_d,l(w)) e_l`` (``M`` defaults to ``K``).

    From ``||sum_m X_m||² <= M sum_m ||X_m||²`` (eqs. 20-22).  Under Assumption 1 with
    independent zero-mean blocks the exact conditional loss is eq. 17 itself, so the bound
    is loose by the factor ``M``.
    """
    k = int_sequence(k, "k")
    M = sum(k) if num_blocks is None else positive_int(num_blocks, "num_blocks")
    return M * conditional_loss_rxc(probs, k, class_energy)


def _conditional_loss(P: np.ndarray, k: tuple[int, ...], class_energy: object, partition: str, normalize: bool) -> np.ndarray:
    if partition == "rxc":
        loss = conditional_loss_rxc(P, k, class_energy)
    else:
        loss = conditional_loss_bound_cxr(P, k, class_energy)
    if normalize:
        total = total_energy(k, class_energy)
        if total == 0.0:
            raise ValueError("class_energy is all zero, so E||C||_F^2 = 0; the normalised loss is undefined")
        loss = loss / total
    return loss


def expected_loss_vs_packets(
    code: str,
    k: Sequence[int],
    gamma: Sequence[float] | None,
    class_energy: Sequence[float],
    max_packets: int | None = None,
    partition: str = "rxc",
    copies: int | None = None,
    q: float = math.inf,
    normalize: bool = False,
) -> np.ndarray:
    """Conditional loss for ``N = 0..max_packets`` received packets (Fig. 10).

    ``partition="rxc"``: eq. 17 (exact); ``"cxr"``: the eq. 19 bound.  With
    ``normalize=True`` divided by ``E||C||_F^2 = sum_l k_l e_l`` (:func:`total_energy`).
    MDS and the baselines use the same formula with their own probabilities.
    """
    partition = choice(partition, "partition", PARTITIONS)
    P = decoding_probabilities(code, k, gamma, max_packets, copies, q)
    return _conditional_loss(P, tuple(k), class_energy, partition, bool(normalize))


def expected_loss(
    code: str,
    k: Sequence[int],
    gamma: Sequence[float] | None,
    latency: LatencyModel,
    times: float | Sequence[float] | np.ndarray,
    workers: int,
    class_energy: Sequence[float],
    partition: str = "rxc",
    omega: float | None = None,
    copies: int | None = None,
    q: float = math.inf,
    normalize: bool = False,
) -> np.ndarray:
    """``E[L(t)]`` for each time: eq. 13 combined with eq. 17 (Theorem 1, eq. 16, exact for
    r×c) or with eq. 19 (Theorem 2, eq. 18, an upper bound for c×r); shape ``(len(times),)``.

    ``omega`` defaults to ``K / W`` (Remark 1).  ``uncoded`` needs ``workers == K``;
    ``repetition`` needs ``workers == copies * K`` (``copies`` defaults to ``workers / K``).
    """
    partition = choice(partition, "partition", PARTITIONS)
    k = int_sequence(k, "k")
    workers = positive_int(workers, "workers")
    K = sum(k)
    name = choice(code, "code", THEORY_CODES)
    if name == "uncoded" and workers != K:
        raise ValueError(f"code='uncoded' uses one worker per sub-product: workers must be K = {K}, got {workers}")
    if name == "repetition":
        if copies is None:
            if workers % K:
                raise ValueError(f"code='repetition' needs workers = copies * K; workers={workers} is not a multiple of K = {K}")
            copies = workers // K
        elif positive_int(copies, "copies") * K != workers:
            raise ValueError(f"code='repetition' needs workers = copies * K = {copies * K}, got workers={workers}")
    if omega is None:
        omega = K / workers
    P = decoding_probabilities(name, k, gamma, workers, copies, q)
    conditional = _conditional_loss(P, k, class_energy, partition, bool(normalize))
    return arrival_distribution(latency, times, workers, omega) @ conditional


def sec6_class_energy(partition: str) -> np.ndarray:
    """Per-class ``E||P_k||_F^2`` of the Sec. VI synthetic setting (k = (3, 3, 3)).

    Entries of high/medium/low blocks are N(0, 10) / N(0, 1) / N(0, 0.1).
    r×c: U = Q = 300, H = 900; classes {HH, HM, MH}, {MM, HL, LH}, {ML, LM, LL}; a class's
    energy is the mean of its members' ``U H Q σ_a² σ_b²``, which keeps eq. 17 exact since
    only ``k_l e_l`` (the members' sum) enters: 81e6 × (40, 1, 0.07).
    c×r: U = Q = 900, H = 100, M = 9; classes HH, MM, LL: 81e6 × (100, 1, 0.01).
    """
    partition = choice(partition, "partition", PARTITIONS)
    v = _SEC6_VARIANCES
    if partition == "rxc":
        members = (((0, 0), (0, 1), (1, 0)), ((1, 1), (0, 2), (2, 0)), ((1, 2), (2, 1), (2, 2)))
        return np.asarray(
            [np.mean([sub_product_energy(300, 900, 300, v[a], v[b]) for a, b in cls]) for cls in members]
        )
    return np.asarray([sub_product_energy(900, 100, 900, v[s], v[s]) for s in range(3)])
