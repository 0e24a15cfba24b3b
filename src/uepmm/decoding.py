"""The progressive decoder (docs/design.md §5), one for every linear code.

Sub-product ``k`` is recoverable from the received coefficient rows ``G`` exactly when
``e_k`` lies in the row space of ``G``.  :class:`RecoveryTracker` keeps an orthonormal
basis of that row space, updated per packet (Gram-Schmidt with re-orthogonalisation on
the small ``K``-dimensional coefficient vectors), and reports which ``e_k`` have entered
it.  :class:`ProgressiveDecoder` adds the payload algebra: only when something becomes
recoverable does it solve ``G^T c = e_k`` (minimum norm) and form ``P_k = sum_i c_i Y_i``.

Tolerances: a row whose component outside the current row space is below
``rank_tol * ||g||`` adds no rank; ``e_k`` counts as recovered when its distance to the
row space, a column norm of ``I - Q^T Q`` (computed directly, not as ``1 - ||Q e_k||^2``), is below
``recover_tol`` (the complement ``I - Q^T Q`` is kept by rank-one downdates, ``O(K^2)``
per packet), and the solve's residual ``||G^T c - e_k||`` passes the same test.  With
continuous random coefficients a non-member sits at a distance of order one (below
``1e-9`` only with probability of that order), so a decoded block is exact or absent.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.linalg import lapack

from ._validation import positive_int

__all__ = ["RecoveryTracker", "ProgressiveDecoder", "recovery_coefficients", "recovery_curve", "recoverable"]

RANK_TOL = 1e-9
RECOVER_TOL = 1e-9


class RecoveryTracker:
    """Rank-only state: which of ``K`` sub-products the received rows determine.

    It keeps ``R = I - Q^T Q``, the projector onto the complement of the received row
    space (``Q``: an orthonormal basis of it), updated by a rank-one downdate per new
    direction.  A new row's new direction is ``R g`` (projected twice, which is classical
    Gram-Schmidt with re-orthogonalisation), and ``e_k`` is in the row space when column
    ``k`` of ``R`` vanishes.

    Examples
    --------
    ``P_0`` alone, then ``P_1 + P_2`` (nothing new is determined), then ``P_1 - P_2``:

    >>> import numpy as np, uepmm
    >>> tracker = uepmm.RecoveryTracker(3)
    >>> tracker.add(np.array([1.0, 0.0, 0.0])).tolist()
    [0]
    >>> tracker.add(np.array([0.0, 1.0, 1.0])).tolist()
    []
    >>> tracker.add(np.array([0.0, 1.0, -1.0])).tolist()
    [1, 2]
    """

    def __init__(self, num_products: int, *, rank_tol: float = RANK_TOL, recover_tol: float = RECOVER_TOL):
        self.num_products = positive_int(num_products, "num_products")
        self.rank_tol = rank_tol
        self.recover_tol = recover_tol
        self._residual = np.eye(self.num_products)  # I - Q^T Q: column k is e_k minus its projection
        self.rank = 0
        self.recovered = np.zeros(self.num_products, dtype=bool)

    def add(self, row: np.ndarray) -> np.ndarray:
        """Take one received coefficient row; return the sub-products it newly makes recoverable."""
        row = np.asarray(row, dtype=np.float64)
        if row.shape != (self.num_products,):
            raise ValueError(f"row has shape {row.shape}; a coefficient row has one entry per sub-product, "
                             f"shape ({self.num_products},)")
        norm2 = float(row @ row)
        if not math.isfinite(norm2):
            raise ValueError(f"row must be finite (and its squared norm representable), got {row.tolist()}")
        if norm2 == 0.0 or self.rank == self.num_products:
            return _NONE
        residual = self._residual
        v = residual @ (residual @ row)
        v_norm2 = float(v @ v)
        if v_norm2 <= self.rank_tol**2 * norm2:
            return _NONE
        v /= math.sqrt(v_norm2)
        residual -= np.outer(v, v)  # rank-one downdate of the projector complement
        self.rank += 1
        distance2 = np.einsum("ij,ij->j", residual, residual)
        new = np.flatnonzero((distance2 < self.recover_tol**2) & ~self.recovered)
        self.recovered[new] = True
        return new


_NONE = np.empty(0, dtype=np.int64)
_NONE.flags.writeable = False


def recoverable(rows: np.ndarray, *, rank_tol: float = RANK_TOL, recover_tol: float = RECOVER_TOL) -> np.ndarray:
    """``out[k]``: sub-product ``k`` is determined by all the coefficient ``rows`` together.

    The final decision of :class:`RecoveryTracker` in one step, for callers that need no
    per-packet timeline: an orthonormal basis ``Q`` of the row space from a QR
    factorisation with column pivoting of ``rows^T`` (LAPACK ``dgeqp3``; a pivot below
    ``rank_tol`` times the largest adds no rank), then the column norms of ``I - Q^T Q``
    against ``recover_tol``, as in the tracker.  The two can differ only for rows within
    about ``rank_tol`` of rank deficiency, which continuous random coefficients produce
    with probability of that order (the tests compare them on thousands of draws of
    every code).

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> rows = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    >>> uepmm.recoverable(rows).tolist()
    [True, False, False]
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"rows must be a 2-D array (packets x sub-products), got shape {rows.shape}")
    return _recoverable(rows, rank_tol, recover_tol)


def _recoverable(rows: np.ndarray, rank_tol: float = RANK_TOL, recover_tol: float = RECOVER_TOL) -> np.ndarray:
    """:func:`recoverable` for a checked 2-D float64 array (the lean training path's call)."""
    K = rows.shape[1]
    if rows.shape[0] == 0:
        return np.zeros(K, dtype=bool)
    factors, _, tau, _, info = lapack.dgeqp3(rows.T)
    pivots = np.abs(factors.diagonal()).tolist()  # |R_ii|, largest first (at most K: Python is quicker)
    if not pivots[0] > 0.0:  # all rows zero (or not finite)
        return np.zeros(K, dtype=bool)
    rank = sum(p > rank_tol * pivots[0] for p in pivots)
    basis, _, info2 = lapack.dorgqr(factors[:, :rank], tau[:rank])
    if info != 0 or info2 != 0:  # pragma: no cover - LAPACK argument errors only
        raise RuntimeError(f"LAPACK QR failed (dgeqp3 info={info}, dorgqr info={info2})")
    residual = basis @ basis.T  # the projector onto the row space ...
    residual -= _identity(K)  # ... minus I: column k is minus (e_k's distance vector)
    return np.square(residual, out=residual).sum(axis=0) < recover_tol**2


@functools.lru_cache(maxsize=64)
def _identity(K: int) -> np.ndarray:
    out = np.eye(K)
    out.flags.writeable = False
    return out


def recovery_coefficients(rows: np.ndarray, new: np.ndarray, tracker: RecoveryTracker) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm ``c`` with ``G^T c = e_k`` for the newly recoverable ``k`` in ``new``.

    Returns the sub-products whose solve's residual passes ``tracker.recover_tol`` and their
    coefficients (``n × len``: packet ``i``'s weight in ``P_k``); the others are marked not
    recovered in ``tracker`` (numerically not determined: a decoded block is exact or absent).
    """
    targets = np.zeros((rows.shape[1], new.size))
    targets[new, np.arange(new.size)] = 1.0
    coeffs = np.linalg.lstsq(rows.T, targets, rcond=None)[0]
    residual = np.linalg.norm(rows.T @ coeffs - targets, axis=0)
    ok = residual < tracker.recover_tol
    tracker.recovered[new[~ok]] = False
    return new[ok], coeffs[:, ok]


def recovery_curve(rows: np.ndarray, **tolerances: float) -> np.ndarray:
    """``out[i, k]``: sub-product ``k`` recoverable from the first ``i`` rows (``i = 0..n``).

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> rows = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, -1.0]])
    >>> uepmm.recovery_curve(rows).sum(axis=1).tolist()  # recovered after 0, 1, 2, 3 rows
    [0, 1, 1, 3]
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"rows must be a 2-D array (packets x sub-products), got shape {rows.shape}")
    tracker = RecoveryTracker(rows.shape[1], **tolerances)
    out = np.zeros((rows.shape[0] + 1, rows.shape[1]), dtype=bool)
    for i, row in enumerate(rows, 1):
        tracker.add(row)
        out[i] = tracker.recovered
    return out


class ProgressiveDecoder:
    """Full decoder: keeps the received rows and packets and solves for recoverable blocks.

    ``capacity`` is the most packets it will be given (the number of workers).  Packets
    are kept by reference (no copy).  With ``aggregate=True`` (c×r, where ``C_hat`` is the
    *sum* of the recovered sub-products) it keeps only that running sum: each decoding
    event then costs one pass over the packets involved instead of one per sub-product.

    Examples
    --------
    Packets ``P_0 + P_1`` and ``P_0 - P_1`` recover both sub-products exactly:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> P = rng.standard_normal((2, 3, 3))
    >>> decoder = uepmm.ProgressiveDecoder(2, (3, 3), capacity=2)
    >>> decoder.add(np.array([1.0, 1.0]), P[0] + P[1]).tolist()
    []
    >>> decoder.add(np.array([1.0, -1.0]), P[0] - P[1]).tolist()
    [0, 1]
    >>> bool(np.allclose(decoder.products[1], P[1]))
    True
    """

    def __init__(
        self,
        num_products: int,
        product_shape: tuple[int, ...],
        capacity: int,
        dtype: np.dtype | type = np.float64,
        *,
        aggregate: bool = False,
        **tolerances: float,
    ):
        self.tracker = RecoveryTracker(num_products, **tolerances)
        self.product_shape = tuple(product_shape)
        self.dtype = np.dtype(dtype)
        self.aggregate = aggregate
        self._rows = np.zeros((positive_int(capacity, "capacity"), self.tracker.num_products))
        self._packets: list[np.ndarray] = []
        self.products: list[np.ndarray | None] = [None] * self.tracker.num_products
        self.total: np.ndarray | None = None  # sum of recovered sub-products (aggregate mode)

    @property
    def recovered(self) -> np.ndarray:
        return self.tracker.recovered

    @property
    def count(self) -> int:
        return len(self._packets)

    def add(self, row: np.ndarray, packet: np.ndarray) -> np.ndarray:
        """Take one packet ``Y = sum_k row[k] P_k``; return the newly recovered sub-products."""
        i = self.count
        if i == self._rows.shape[0]:
            raise ValueError(f"decoder capacity {self._rows.shape[0]} exceeded; one packet per worker")
        packet = np.asarray(packet)  # no copy of an array
        if packet.shape != self.product_shape:
            raise ValueError(f"packet has shape {packet.shape}, expected {self.product_shape}")
        new = self.tracker.add(row)  # checks the row first
        self._rows[i] = row
        self._packets.append(packet)
        if new.size == 0:
            return new
        new, coeffs = recovery_coefficients(self._rows[: self.count], new, self.tracker)
        if new.size:
            self._combine(new, coeffs)
        return new

    def _combine(self, new: np.ndarray, coeffs: np.ndarray) -> None:
        scale = np.max(np.abs(coeffs), axis=0)
        used = np.flatnonzero(np.any(np.abs(coeffs) > 1e-14 * scale, axis=1))
        packets = [self._packets[i] for i in used]
        if self.aggregate:
            weights = coeffs[used].sum(axis=1, keepdims=True)  # C_hat gains the sum of the new blocks
            if self.total is None:
                self.total = np.zeros(self.product_shape, self.dtype)
            _combine_chunked(weights, packets, self.total[None])
            return
        solved = np.empty((new.size, *self.product_shape), self.dtype)
        _combine_chunked(coeffs[used], packets, solved, accumulate=False)
        for j, k in enumerate(new):
            self.products[k] = solved[j]


_CHUNK = 1 << 15  # elements per packet slice: a few slices of this size stay in cache
#: Least precision of the decoding combinations (the weights, solved in float64, are rounded
#: to it, and the sums are done in it): float32 packets are combined in float32.  Sums in
#: float64 were under 2 % more accurate and 2.7x slower; the packets' own rounding dominates
#: (docs/performance.md, "Float32 end to end", ``benchmarks/bench_float32.py``).
DECODE_WORK_DTYPE = np.dtype(np.float32)


def _combine_chunked(
    weights: np.ndarray, packets: list[np.ndarray], out: np.ndarray, accumulate: bool = True, work_dtype=None
) -> None:
    """``out[j] (+)= sum_i weights[i, j] * packets[i]``, slice by slice.

    Working on cache-sized slices reads every packet once and writes every output once
    (a plain loop of ``axpy`` or a stack-then-GEMM would pass over the data several times).
    ``work_dtype`` (default :data:`DECODE_WORK_DTYPE`): the precision of the weights and of
    the sums; float32 packets are widened slice by slice, ``out`` keeps its dtype.
    """
    work = np.promote_types(out.dtype, DECODE_WORK_DTYPE if work_dtype is None else work_dtype)
    flat_out = out.reshape(out.shape[0], -1)
    flats = [np.asarray(p).reshape(-1) for p in packets]
    w = weights.T.astype(work, copy=False)  # (outputs, packets)
    size = flat_out.shape[1]
    for lo in range(0, size, _CHUNK):
        hi = min(lo + _CHUNK, size)
        part = w @ np.stack([f[lo:hi] for f in flats]).astype(work, copy=False)
        if accumulate:
            flat_out[:, lo:hi] += part
        else:
            flat_out[:, lo:hi] = part
