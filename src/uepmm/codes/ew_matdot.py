"""MatDot inside nested windows (c×r): UEP with one block product per packet.

The classes of the job's table (0 = most important) define nested windows as for EW-UEP:
window ``l`` is ``S_l`` = the sub-products of classes ``0..l``, of size ``s_l``.  Worker ``w``
draws window ``l`` with probability ``Γ_l`` and computes, at its own point ``x_w``, ONE product
of inner size ``s_l H / M`` (the factor form, :attr:`Encoding.factors`)::

    Y_w = (sum_{i in S_l} A_i x_w^(r(i))) (sum_{j in S_l} B_j x_w^(s_l - 1 - r(j))),

``r(i)`` the position of ``i`` in ``S_l``: MatDot (:mod:`uepmm.codes.matdot`) on the window's
blocks.  The coefficient of ``x^(s_l - 1)`` is the window's sum ``C_l = sum_{i in S_l} A_i B_i``
and the degree is ``2 s_l - 2``, so ``C_l`` is exact from ``2 s_l - 1`` packets of window ``l``
(a Vandermonde solve of their points, with MatDot's conditioning refusal: a system whose
condition number exceeds :data:`~uepmm.codes.matdot.MAX_CONDITION` is declined and the window
waits for its next packet).  Packets of different windows never combine (their cross terms
differ).  A window of one sub-product (``s_l = 1``) is that sub-product, exact from one packet.

The estimate (:class:`EWMatDotDecoder`, the scheme's own, whatever ``decoder=`` says): the sum
of the largest decoded window, ``C_hat = C_l*`` with ``l*`` the largest ``l`` decoded so far
(it contains every smaller window), zero before any.  With the sub-products modelled as
uncorrelated and zero-mean (the LMMSE prior, docs/beyond.md) this is also the LMMSE estimate
given the decoded window sums, since the sub-products outside ``S_l*`` are unknown and zero-mean;
packets of windows not yet decoded are not used.  ``recovered`` flags the sub-products of
``S_l*``: their sum is exact in ``C_hat``, not each one on its own.

Points: worker ``w`` evaluates at the ``w``-th of the ``W`` shifted Chebyshev points in Leja
order (:func:`~uepmm.codes.polynomial.chebyshev_leja_points`), the points MatDot uses, so a
point depends only on the worker (the decoder needs no encoding).  The rows-only paths ask
:meth:`EWMatDot.recovery_curve_from` (the decoder's decision replayed), as for MatDot.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..decoder_base import DecodeContext, DecodeSession
from .base import Code, Encoding, large_field_only
from .matdot import MatDotDecoder, RowsOnlyRefused, VandermondeDecision, require_float64, weighted_sum
from .polynomial import chebyshev_leja_points
from .uep import _draw_windows, _resolve_gamma, _validated_gamma

__all__ = ["EWMatDot", "EWMatDotDecoder", "largest_window_distribution", "window_sum_loss", "design_window_gamma"]


_ROWS_ONLY = (
    "code 'ew-matdot' decides recovery from each window's evaluation points and the conditioning of "
    "their Vandermonde system, not from coefficient rows: use EWMatDot.recovered_from(encoding, arrivals) "
    "or recovery_curve_from(encoding, arrivals) (worker indices in arrival order)"
)


@dataclass(frozen=True)
class EWMatDot(RowsOnlyRefused, Code):
    """MatDot inside nested (expanding) windows for c×r: one product per worker, window ``l``
    decoded from ``2 s_l − 1`` of its packets (module docstring).

    Parameters
    ----------
    gamma : tuple of float or None
        Window probabilities ``Γ_l`` (Table III for three classes when ``None``); with
        ``JobSpec(gamma="auto")`` they are designed for each job (:meth:`designed`).

    Examples
    --------
    Every worker draws the window of the top 3 sub-products (``Γ = (1, 0, 0)``): its sum is
    exact from ``2 · 3 − 1 = 5`` packets, each one block product.

    >>> import numpy as np
    >>> from uepmm import plan_job, coded_matmul
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 9)), rng.standard_normal((9, 3))
    >>> settings = dict(code="ew-matdot", partition="cxr", blocks=9, workers=8, gamma=(1.0, 0.0, 0.0), seed=0)
    >>> res = coded_matmul(A, B, **settings)
    >>> [entry.recovered for entry in res.timeline]  # sub-products in the decoded window, per packet
    [0, 0, 0, 0, 3, 3, 3, 3]
    >>> res.recovered.astype(int).tolist()
    [1, 1, 1, 0, 0, 0, 0, 0, 0]
    >>> plan = plan_job(A, B, **settings)
    >>> top = sum(plan.job.a_blocks[k] @ plan.job.b_blocks[k] for k in range(3))
    >>> bool(np.allclose(res.estimate, top))
    True
    """

    gamma: tuple[float, ...] | None = None
    name = "ew-matdot"
    rows_only_refusal = _ROWS_ONLY
    uses_window_probabilities = True
    class_aware = True
    expanding = True  # window l holds classes 0..l, as for EW
    designable_gamma = True  # gamma="auto": :meth:`designed`

    def window_probabilities(self, num_classes: int) -> np.ndarray:
        """The checked ``Γ`` for ``num_classes`` classes (Table III when ``gamma`` is None and L = 3)."""
        return _validated_gamma(None if self.gamma is None else tuple(self.gamma), num_classes)

    def for_layout(self, kind: str, grid: tuple[int, int]) -> EWMatDot:
        if kind != "cxr":
            raise ValueError(
                "code='ew-matdot' is for partition 'cxr' (C = sum_m A_m B_m); for 'rxc' the windows that cost "
                "one block product are code='ew' with classes='rectangles' and encoding='factor'"
            )
        return self

    def check(self, classes, workers):
        _resolve_gamma(self.gamma, classes)

    def packet_work(self, encoding, partition):
        return np.ones(encoding.workers)

    def cxr_packet_work(self, num_products: int) -> int:
        """Every packet is one block product (of inner size ``s_l H / M``)."""
        return 1

    def window_masks(self, classes) -> list[np.ndarray]:
        """Window ``l``: the sub-products of classes ``0..l`` (nested, as for EW)."""
        cls = classes.as_array()
        return [cls <= level for level in range(classes.num_classes)]

    def recovery_curve_from(self, encoding: Encoding, arrivals: np.ndarray) -> np.ndarray:
        """The decoder's own decision (:class:`WindowDecisions`) after each of the ``arrivals``."""
        arrivals = np.asarray(arrivals, dtype=np.int64)
        curve = np.zeros((arrivals.size + 1, encoding.num_products), dtype=bool)
        decisions = WindowDecisions(encoding.num_products, encoding.workers)
        for i, w in enumerate(arrivals.tolist()):
            decisions.add(encoding.generator[w], w)
            curve[i + 1] = decisions.recovered
        return curve

    def recovered_from(self, encoding: Encoding, arrivals: np.ndarray) -> np.ndarray:
        return self.recovery_curve_from(encoding, arrivals)[-1]

    def decoder_for(self, requested):
        return _DECODER

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        """``P_d,l(N)``: some window ``l' >= l`` has ``2 s_l' − 1`` of the ``N`` packets
        (:func:`largest_window_distribution` with every packet arrived; no conditioning refusal)."""
        large_field_only(self.name, q)
        gamma = self.window_probabilities(len(k))
        sizes = np.cumsum(k)
        out = np.empty((max_packets + 1, len(k)))
        for N in range(max_packets + 1):
            dist = largest_window_distribution(gamma, sizes, N, 1.0)[:-1]
            out[N] = np.cumsum(dist[::-1])[::-1]  # window l' >= l decoded
        return out

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return self.decoding_probabilities(k, max_packets)[:, -1]

    def designed(self, classes, energies: np.ndarray, workers: int, arrival: float) -> EWMatDot:
        """This code with ``Γ`` minimising :func:`window_sum_loss` for the job (``gamma="auto"``):
        ``energies`` the PS's prior sub-product energies, ``arrival`` the probability that a
        packet (one block product) has arrived by the deadline."""
        cls = classes.as_array()
        energies = np.asarray(energies, dtype=np.float64)
        total = float(energies.sum())
        sizes = tuple(int(np.count_nonzero(cls <= level)) for level in range(classes.num_classes))
        inside = np.asarray([energies[cls <= level].sum() for level in range(classes.num_classes)])
        tails = tuple(np.round(1.0 - inside / total, 4).tolist()) if total > 0 else (0.0,) * len(sizes)
        gamma = design_window_gamma(sizes, tails, int(workers), round(float(arrival), 4))
        return EWMatDot(gamma)

    def _encode(self, classes, workers, rng):
        cls = classes.as_array()
        gamma = None if self.gamma is None else tuple(self.gamma)
        windows = _draw_windows(gamma, classes.num_classes, workers, rng).astype(np.int64, copy=False)
        x = chebyshev_leja_points(workers)
        masks = self.window_masks(classes)
        K = cls.size
        generator = np.zeros((workers, K))
        factors = []
        for w in range(workers):
            members = np.flatnonzero(masks[windows[w]])  # S_l, r(i) = position in it
            s = members.size
            alpha, beta = np.zeros(K), np.zeros(K)
            alpha[members] = x[w] ** np.arange(s)  # A_i x^r(i)
            beta[members] = x[w] ** (s - 1 - np.arange(s))  # B_j x^(s - 1 - r(j))
            generator[w, members] = x[w] ** (s - 1)  # the coefficient of every P_i = A_i B_i, i in S_l
            factors.append((alpha, beta))
        return Encoding(generator, windows, tuple(factors))


class WindowDecisions:
    """Per window (identified by its support, the row's non-zeros), a MatDot
    :class:`~uepmm.codes.matdot.VandermondeDecision` over the points of its arrivals;
    :attr:`recovered` is the largest decoded window (windows are nested)."""

    def __init__(self, num_products: int, workers: int):
        self.points = chebyshev_leja_points(workers)
        self.windows: dict[bytes, VandermondeDecision] = {}
        self.recovered = np.zeros(num_products, dtype=bool)
        self.best: np.ndarray | None = None  # the support of the largest decoded window
        self.new = np.empty(0, dtype=np.int64)  # what the last decoded window added

    def key(self, row: np.ndarray) -> tuple[bytes, np.ndarray] | None:
        """The row's window (``None`` when a decoded window already holds it: nothing to learn)."""
        support = np.flatnonzero(row)
        if self.recovered[support].all():
            return None
        return support.tobytes(), support

    def add(self, row: np.ndarray, worker: int | None) -> np.ndarray | None:
        """Take one arrival; the window's support when it becomes decodable (``None`` otherwise)."""
        if worker is None:
            raise ValueError(
                "the ew-matdot decoder needs the packet's worker (its evaluation point): add(row, payload, worker=w)"
            )
        found = self.key(row)
        if found is None:
            return None
        key, support = found
        decision = self.windows.get(key)
        if decision is None:
            decision = self.windows[key] = VandermondeDecision(support.size, self.points)
        if not decision.add(worker):
            return None
        self.new = support[~self.recovered[support]]
        self.recovered[support] = True
        self.best = support
        return support

    def decision(self, support: np.ndarray) -> VandermondeDecision:
        return self.windows[support.tobytes()]


class EWMatDotDecoder(MatDotDecoder):
    """The ew-matdot estimate: the sum of the largest decoded window, zero before any (MatDot's
    decoder per window: exact blocks, a 0/1 selection of the recovered sub-products)."""

    name = "ew-matdot"

    def open_session(self, context: DecodeContext) -> DecodeSession:
        if context.exact is not None:
            return _FastSession(context)
        return _FullSession(context)


_DECODER = EWMatDotDecoder()


class _FastSession(DecodeSession):
    """Fast fidelity: the full decoder's decision (the same points), the exact sub-products' sum."""

    def __init__(self, context: DecodeContext):
        self.context = context
        self.decisions = WindowDecisions(context.num_products, context.workers)
        self.recovered = self.decisions.recovered

    @property
    def condition_number(self) -> float | None:
        best = self.decisions.best
        return None if best is None else self.decisions.decision(best).condition_number

    def add(self, row, payload, worker=None):
        support = self.decisions.add(row, worker)
        return np.empty(0, dtype=np.int64) if support is None else self.decisions.new

    def estimate(self) -> np.ndarray:
        context = self.context
        blocks = [context.exact[k] if self.recovered[k] else None for k in range(context.num_products)]
        return context.order.assemble(context.partition, blocks, dtype=context.dtype)


class _FullSession(_FastSession):
    """Full fidelity: each window's packets until it decodes, then its sum (one combination)."""

    def __init__(self, context: DecodeContext):
        if context.partition.kind != "cxr":
            raise ValueError("the ew-matdot decoder is for partition 'cxr'; use code='ew' with classes='rectangles'")
        require_float64(context.dtype, "ew-matdot")
        super().__init__(context)
        self._payloads: dict[bytes, list[np.ndarray]] = {}
        self.total: np.ndarray | None = None

    def add(self, row, payload, worker=None):
        if payload is None:
            raise ValueError("full fidelity needs every packet's payload; use fidelity='fast' for rank-only runs")
        found = self.decisions.key(row)
        if found is None:
            return np.empty(0, dtype=np.int64)
        self._payloads.setdefault(found[0], []).append(payload)
        support = self.decisions.add(row, worker)
        if support is None:
            return np.empty(0, dtype=np.int64)
        total = np.zeros(self.context.partition.product_shape, self.context.dtype)
        weighted_sum(self.decisions.decision(support).weights, self._payloads.pop(found[0]), total)
        self.total = total
        for key in [k for k in self._payloads if self.recovered[np.frombuffer(k, dtype=np.intp)].all()]:
            del self._payloads[key]  # smaller windows, now inside the decoded one
        return self.decisions.new

    def estimate(self) -> np.ndarray:
        if self.total is None:
            return np.zeros(self.context.partition.c_shape, self.context.dtype)
        return self.total.copy()


def largest_window_distribution(gamma, sizes, workers: int, arrival: float) -> np.ndarray:
    """``out[l]``: probability that the largest decoded window is ``l`` (``out[L]``: none is), with
    no conditioning refusal.

    Each of the ``W`` workers has arrived with probability ``arrival`` and drew window ``l`` with
    probability ``Γ_l``; window ``l`` (``sizes[l]`` sub-products) decodes once ``2 s_l − 1`` of its
    packets arrived.  Exact: the windows are visited from the largest down, carrying the
    distribution of the workers taken by the windows above (all undecoded); given ``j`` of them,
    window ``l`` gets ``Binomial(W − j, Γ_l p / (1 − p Σ_{l' > l} Γ_l'))`` of the others.
    """
    from scipy.stats import binom

    gamma = np.clip(np.asarray(gamma, dtype=np.float64), 0.0, None)
    gamma = gamma / gamma.sum()
    W, p = int(workers), float(arrival)
    out = np.zeros(gamma.size + 1)
    taken = np.zeros(W + 1)
    taken[0] = 1.0  # P(j workers in the windows above, none of them decoded)
    above = 0.0
    n = np.arange(W + 1)
    for level in reversed(range(gamma.size)):
        free = 1.0 - p * above
        share = 0.0 if free <= 0 else min(1.0, gamma[level] * p / free)
        need = 2 * int(sizes[level]) - 1
        pmf = binom.pmf(n[None, :], (W - n)[:, None], share)  # [j, m]: m of the W - j others in window l
        out[level] = taken @ pmf[:, need:].sum(axis=1)
        nxt = np.zeros(W + 1)
        for m in range(min(need, W + 1)):
            nxt[m:] += taken[: W + 1 - m] * pmf[: W + 1 - m, m]
        taken = nxt
        above += gamma[level]
    out[-1] = taken.sum()
    return out


def window_sum_loss(gamma, sizes, tails, workers: int, arrival: float) -> float:
    """Expected normalised loss of the nested-window estimate (no conditioning refusal): the
    energy share ``tails[l]`` outside the largest decoded window ``l``
    (:func:`largest_window_distribution`), 1 when none is decoded."""
    dist = largest_window_distribution(gamma, sizes, workers, arrival)
    return float(dist[:-1] @ np.asarray(tails, dtype=np.float64) + dist[-1])


@functools.lru_cache(maxsize=256)
def design_window_gamma(sizes: tuple[int, ...], tails: tuple[float, ...], workers: int, arrival: float) -> tuple:
    """``Γ`` minimising :func:`window_sum_loss` (SLSQP on the simplex from the uniform start and
    from each window alone; cached on the rounded inputs)."""
    from scipy.optimize import minimize

    L = len(sizes)
    objective = functools.partial(window_sum_loss, sizes=sizes, tails=tails, workers=workers, arrival=arrival)
    starts = [np.full(L, 1.0 / L)] + [np.where(np.arange(L) == level, 0.9, 0.1 / max(L - 1, 1)) for level in range(L)]
    best, best_loss = starts[0], objective(starts[0])
    for start in starts if L > 1 else []:
        found = minimize(objective, start, method="SLSQP", bounds=[(0.0, 1.0)] * L,
                         constraints=({"type": "eq", "fun": lambda g: g.sum() - 1.0},))
        value = objective(found.x)
        if value < best_loss - 1e-12:
            best, best_loss = found.x, value
    best = np.clip(best, 0.0, None)
    best[best < 1e-6] = 0.0
    return tuple(float(g) for g in best / best.sum())
