"""MatDot codes (Dutta, Fahim, Haddadpour, Jeong, Cadambe & Grover, 2019) for the c×r partition.

``C = sum_m A_m B_m`` (``K = M`` inner blocks).  Worker ``w`` gets a point ``x_w`` and computes
ONE product of inner size ``H / M`` (the factor form, :attr:`Encoding.factors`,
:func:`uepmm.worker.factor_product`)::

    Y_w = (sum_i A_i x_w^i) (sum_j B_j x_w^(M-1-j)) = sum_{d=0}^{2M-2} C_d x_w^d,

a matrix polynomial of degree ``2M - 2`` whose coefficient of ``x^(M-1)`` is ``C`` (the terms
``i = j``).  Any ``2M - 1`` packets from distinct points determine all ``2M - 1`` coefficients
(a square Vandermonde system), so ``C`` is exact from ``2M - 1`` packets; before that the
cross terms ``A_i B_j`` (``i != j``) cannot be told apart from ``C`` and nothing is recovered.
The estimate is the scheme's own (:class:`MatDotDecoder`, whatever ``decoder=`` says): it
solves the Vandermonde system of the arrived points for the ``x^(M-1)`` coefficient and combines
the packets once.  A decoded ``C`` is exact or absent: a system whose condition number exceeds
:data:`MAX_CONDITION` (``1e8``) is declined, and the decoder waits for the next packet, solving
the taller system of all arrivals in the least-squares sense (more points, better conditioned).
The rows-only paths (the lean training path, the figure Monte Carlo, ``uepmm compare``) ask
:meth:`MatDot.recovered_from` / :meth:`MatDot.recovery_curve_from` with the arriving workers, which
replay exactly the decoder's decision (the same points, the same conditioning test); the
rows-only hooks (:meth:`MatDot.recoverable` and friends) refuse, since a count of packets would
be optimistic (at ``M = 9``, ``W = 30`` about one run in five needs more than ``2M - 1`` packets).

Coefficient rows (:attr:`Encoding.generator`): row ``w`` holds the true coefficient of each
sub-product ``P_m = A_m B_m`` in ``Y_w``, ``x_w^(M-1)`` for every ``m``.  They are honest about
``P_m`` but silent about the cross terms, so the generic rank decision must not be run on them
(it would report nothing recovered, ever); every caller asks the code.

Points: :func:`~uepmm.codes.polynomial.chebyshev_leja_points`, as for the polynomial code and
for the same reasons: deterministic, Chebyshev spacing keeps the real Vandermonde system far
better conditioned than random points, and the Leja order spreads the first arrivals over
``[-1, 1]``.  The condition number still grows exponentially with ``2M - 1`` (docs/comparison.md,
"MatDot: conditioning").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..decoder_base import DecodeContext, Decoder, DecodeSession
from .base import Code, Encoding, large_field_only
from .polynomial import chebyshev_leja_points

__all__ = [
    "MatDot", "MatDotDecoder", "VandermondeDecision", "require_float64", "matdot_weights", "weighted_sum",
    "MAX_CONDITION",
]


_ROWS_ONLY = (
    "code 'matdot' decides recovery from the arrivals' evaluation points and the conditioning of their "
    "Vandermonde system, not from coefficient rows: use MatDot.recovered_from(encoding, arrivals) or "
    "recovery_curve_from(encoding, arrivals) (worker indices in arrival order)"
)


class RowsOnlyRefused:
    """For codes whose packets no row over the ``K`` sub-products describes (cross terms ``A_i B_j``):
    the rows-only recovery decisions raise ``rows_only_refusal``; callers use
    :meth:`~uepmm.codes.Code.recovered_from` / ``recovery_curve_from`` with the arrivals."""

    rows_only_refusal = _ROWS_ONLY

    def recovery_tracker(self, num_products: int):
        raise ValueError(self.rows_only_refusal)

    def recoverable(self, rows: np.ndarray) -> np.ndarray:
        raise ValueError(self.rows_only_refusal)

    def recovery_curve(self, rows: np.ndarray) -> np.ndarray:
        raise ValueError(self.rows_only_refusal)


@dataclass(frozen=True)
class MatDot(RowsOnlyRefused, Code):
    """MatDot code for c×r: one product of inner size ``H / M`` per worker, threshold ``2M - 1``.

    Examples
    --------
    c×r with ``M = 3``: exact from ``2M - 1 = 5`` packets.

    >>> import numpy as np
    >>> from uepmm import coded_matmul
    >>> from uepmm.codes import MatDot
    >>> MatDot().recovery_threshold(3)
    5
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    >>> res = coded_matmul(A, B, code="matdot", partition="cxr", blocks=3, workers=6, seed=0)
    >>> res.received, bool(np.allclose(res.estimate, A @ B))
    (5, True)
    """

    name = "matdot"
    adaptive_refusal = "its decoder ties each packet to the evaluation point of its worker (W points fixed per job)"
    deterministic = True

    def for_layout(self, kind: str, grid: tuple[int, int]) -> MatDot:
        if kind != "cxr":
            raise ValueError(
                "code='matdot' is for partition 'cxr' (C = sum_m A_m B_m); for 'rxc' (C = the N x P blocks "
                "A_n B_p) use code='polynomial'"
            )
        return self

    def check(self, classes, workers):
        need = self.recovery_threshold(classes.num_products)
        if workers < need:
            M = classes.num_products
            raise ValueError(
                f"code 'matdot' with M = {M} blocks needs workers >= 2M - 1 = {need} (any 2M - 1 packets decode, "
                f"fewer never do), got workers={workers}; use workers>={need} or blocks<={(workers + 1) // 2}"
            )

    def recovery_threshold(self, num_products: int) -> int:
        return 2 * int(num_products) - 1

    def packet_work(self, encoding, partition):
        return np.ones(encoding.workers)

    def cxr_packet_work(self, num_products: int) -> int:
        return 1

    def recovery_curve_from(self, encoding: Encoding, arrivals: np.ndarray) -> np.ndarray:
        """The decoder's own decision (:class:`VandermondeDecision`: the arrivals' points and the conditioning
        of their system) after each of the ``arrivals`` (worker indices in arrival order)."""
        arrivals = np.asarray(arrivals, dtype=np.int64)
        curve = np.zeros((arrivals.size + 1, encoding.num_products), dtype=bool)
        decision = VandermondeDecision(encoding.num_products, chebyshev_leja_points(encoding.workers))
        for i, w in enumerate(arrivals.tolist()):
            if decision.add(w):
                curve[i + 1 :] = True
                break
        return curve

    def recovered_from(self, encoding: Encoding, arrivals: np.ndarray) -> np.ndarray:
        return self.recovery_curve_from(encoding, arrivals)[-1]

    def decoder_for(self, requested):
        return _DECODER

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        large_field_only(self.name, q)
        return np.repeat(self.all_decoded_probability(k, max_packets)[:, None], len(k), axis=1)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return (np.arange(max_packets + 1) >= self.recovery_threshold(sum(k))).astype(np.float64)

    def _encode(self, classes, workers, rng):
        M = classes.num_products
        x = chebyshev_leja_points(workers)
        alpha = x[:, None] ** np.arange(M)[None, :]  # A_i x^i
        beta = x[:, None] ** (M - 1 - np.arange(M))[None, :]  # B_j x^(M-1-j)
        generator = np.repeat((x ** (M - 1))[:, None], M, axis=1)  # the coefficient of every P_m = A_m B_m
        factors = tuple((alpha[w].copy(), beta[w].copy()) for w in range(workers))
        return Encoding(generator, np.zeros(workers, dtype=np.int64), factors)


#: The largest condition number of the Vandermonde system the decoder accepts (docs/comparison.md,
#: "MatDot: conditioning": up to it the measured error stays below about 1e-8 relative).
MAX_CONDITION = 1e8


def matdot_weights(points: np.ndarray, M: int) -> tuple[np.ndarray, float]:
    """Weights ``w`` with ``C = sum_i w_i Y_i`` from ``n >= 2M - 1`` distinct ``points``, and the
    condition number of ``V[i, d] = x_i^d`` (``n × (2M - 1)``).  ``V^T w = e_(M-1)`` is solved
    exactly for ``n = 2M - 1`` and in the minimum-norm sense beyond (every packet helps, the
    tall system is better conditioned), with one step of iterative refinement."""
    points = np.asarray(points, dtype=np.float64)
    degree = 2 * M - 1
    if points.size < degree:
        raise ValueError(f"MatDot with M = {M} decodes from at least 2M - 1 = {degree} points, got {points.size}")
    V = points[:, None] ** np.arange(degree)[None, :]
    target = np.zeros(degree)
    target[M - 1] = 1.0
    weights = np.linalg.lstsq(V.T, target, rcond=None)[0]
    weights += np.linalg.lstsq(V.T, target - V.T @ weights, rcond=None)[0]
    return weights, float(np.linalg.cond(V))


_CHUNK = 1 << 15  # elements per slice: the output slice stays in cache while every packet passes


def weighted_sum(weights: np.ndarray, packets: list[np.ndarray], out: np.ndarray) -> None:
    """``out += sum_i weights[i] packets[i]``, slice by slice with element-wise ``axpy``.

    One output, so no BLAS call: :func:`uepmm.decoding._combine_chunked`'s one-row GEMM per
    slice measured 10-20x slower on a loaded machine with multithreaded BLAS
    (benchmarks/bench_decode_cost.py), the element-wise form is not affected.
    """
    flat = out.reshape(-1)
    flats = [np.ascontiguousarray(p, dtype=out.dtype).reshape(-1) for p in packets]
    scratch = np.empty(min(_CHUNK, flat.size), out.dtype)
    for lo in range(0, flat.size, _CHUNK):
        hi = min(lo + _CHUNK, flat.size)
        acc, tmp = flat[lo:hi], scratch[: hi - lo]
        for w, f in zip(weights.tolist(), flats):
            np.multiply(f[lo:hi], w, out=tmp)
            acc += tmp


def require_float64(dtype, code: str) -> None:
    """Refuse packets less precise than float64 for a code that decodes through a Vandermonde solve."""
    if np.finfo(np.result_type(dtype, np.float16)).eps > np.finfo(np.float64).eps:
        raise ValueError(
            f"code={code!r} decodes through a Vandermonde system whose condition number (up to "
            f"{MAX_CONDITION:.0e}) multiplies the packets' rounding: {np.dtype(dtype).name} packets "
            f"would give C with errors of about 1e-3, not an exact C; pass float64 inputs "
            f"(A.astype(np.float64), B.astype(np.float64)) or use another code"
        )


class VandermondeDecision:
    """Which arrivals the decoder solves from: the first ``n >= 2M - 1`` whose system has
    condition number at most :data:`MAX_CONDITION` (until then nothing is recovered).

    ``points``: every worker's evaluation point (indexed by worker); MatDot's and each window
    of :mod:`uepmm.codes.ew_matdot` (there ``M`` is the window's size) use it."""

    def __init__(self, M: int, points: np.ndarray):
        self.M = M
        self.points_all = points
        self.points: list[float] = []
        self.weights: np.ndarray | None = None
        self.condition_number: float | None = None

    def add(self, worker: int | None) -> bool:
        """Take one arrival; ``True`` when it makes ``C`` decodable (:attr:`weights` then set)."""
        if worker is None:
            raise ValueError(
                "the MatDot decoder needs the packet's worker (its evaluation point): add(row, payload, worker=w)"
            )
        if self.weights is not None:
            return False
        self.points.append(float(self.points_all[worker]))
        if len(self.points) < 2 * self.M - 1:
            return False
        weights, self.condition_number = matdot_weights(np.asarray(self.points), self.M)
        if self.condition_number > MAX_CONDITION:
            return False  # not resolvable to about 1e-8: wait for a better-conditioned (taller) system
        self.weights = weights
        return True


class MatDotDecoder(Decoder):
    """MatDot's own estimate: ``C`` from the first ``2M - 1`` packets, zero before (fast
    fidelity: the exact sub-products once the threshold is reached)."""

    name = "matdot"
    selects_exact_blocks = True
    diagonal = True

    def open_session(self, context: DecodeContext) -> DecodeSession:
        if context.exact is not None:
            return _MatDotFastSession(context)
        return _MatDotSession(context)

    def scales(self, rows, recovered, context=None):
        return np.asarray(recovered, dtype=np.float64)


_DECODER = MatDotDecoder()


class _MatDotFastSession(DecodeSession):
    """Fast fidelity: the full decoder's decision (the same points), the exact sub-products' sum."""

    def __init__(self, context: DecodeContext):
        self.context = context
        self.decision = VandermondeDecision(context.num_products, chebyshev_leja_points(context.workers))
        self.recovered = np.zeros(context.num_products, dtype=bool)

    @property
    def condition_number(self) -> float | None:
        return self.decision.condition_number

    def add(self, row, payload, worker=None):
        if not self.decision.add(worker):
            return np.empty(0, dtype=np.int64)
        self.recovered[:] = True
        return np.arange(self.recovered.size)

    def estimate(self) -> np.ndarray:
        context = self.context
        if not self.recovered.any():
            return np.zeros(context.partition.c_shape, context.dtype)
        return context.order.assemble(context.partition, list(context.exact), dtype=context.dtype)


class _MatDotSession(DecodeSession):
    """Full fidelity: keep the packets and their points; solve once decodable (module docstring), then stop."""

    def __init__(self, context: DecodeContext):
        if context.partition.kind != "cxr":
            raise ValueError("the MatDot decoder is for partition 'cxr'; use code='polynomial' for 'rxc'")
        require_float64(context.dtype, "matdot")
        self.context = context
        self.M = context.num_products
        self.decision = VandermondeDecision(self.M, chebyshev_leja_points(context.workers))
        self.recovered = np.zeros(self.M, dtype=bool)
        self._payloads: list[np.ndarray] = []
        self.total: np.ndarray | None = None

    @property
    def condition_number(self) -> float | None:
        return self.decision.condition_number

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        if payload is None:
            raise ValueError("full fidelity needs every packet's payload; use fidelity='fast' for rank-only runs")
        if self.total is not None:
            return np.empty(0, dtype=np.int64)
        self._payloads.append(payload)
        if not self.decision.add(worker):
            return np.empty(0, dtype=np.int64)
        total = np.zeros(self.context.partition.product_shape, self.context.dtype)
        weighted_sum(self.decision.weights, self._payloads, total)
        self.total, self._payloads = total, []
        self.recovered[:] = True
        return np.arange(self.M)

    def estimate(self) -> np.ndarray:
        if self.total is None:
            return np.zeros(self.context.partition.c_shape, self.context.dtype)
        return self.total.copy()
