"""Decoders: how the parameter server forms ``C_hat`` from the packets that arrived.

A :class:`Decoder` is chosen by name in the job specification (``decoder=``) and used by
every path that makes a coded product:

* the engine (:func:`uepmm.coded_matmul`, full and fast fidelity, every backend) opens a
  :class:`DecodeSession` per job and feeds it packets in arrival order;
* the lean training path asks :meth:`Decoder.reconstruction` for the ``K × K`` matrix ``M``
  with ``P_hat = M P`` (exact sub-products ``P``), which it applies in torch.

The recovery decision is the code's (:meth:`uepmm.codes.Code.recovery_tracker`; for linear
codes the rank decision :func:`uepmm.decoding.recoverable` / :class:`uepmm.decoding.RecoveryTracker`);
the payload algebra of exact recovery is :class:`uepmm.decoding.ProgressiveDecoder`.  A code
whose estimate the scheme defines (MatDot, norm-weighted sampling) replaces the requested
decoder by its own (:meth:`uepmm.codes.Code.decoder_for`); callers use
:func:`decoder_for_code` and report the decoder that ran.

Decoders (docs/design.md §5; docs/beyond.md for the measurements):

* ``"zero"`` (the paper's): recovered sub-products exact, the others zero.
* ``"lmmse"``: the linear MMSE estimate ``P_hat = S G^T (G S G^T)^+ Y`` under a diagonal prior
  ``S`` of sub-product energies from the block norms (``E||A_i B_j||^2 ≈ ||A_i||^2 ||B_j||^2 / H``).
  Recovered sub-products stay exact; the others get the best linear guess from the packets that
  mix them.  It assumes uncorrelated zero-mean sub-products; where they are correlated (a Gram
  matrix ``X X^T``, sub-products with a common mean) it can lose to zero-fill.
* ``"unbiased"``: recovered sub-products scaled so that ``E[C_hat | N] = C`` (see
  :class:`UnbiasedDecoder`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ._validation import choice
from .decoding import ProgressiveDecoder, RecoveryTracker, _combine_chunked, recoverable
from .importance import ClassTable, ImportanceOrder
from .partition import Partition

if TYPE_CHECKING:  # codes/ defines scheme-owned decoders on top of this module: no import cycle
    from .codes import Code

__all__ = [
    "Decoder", "DecodeContext", "DecodeSession", "ZeroFillDecoder", "LMMSEDecoder", "UnbiasedDecoder", "make_decoder",
    "DECODER_NAMES", "decoder_for_code",
]


@dataclass(frozen=True)
class DecodeContext:
    """What a decoder may use besides the packets: the layout, the order (to place blocks in
    ``C``), the product's dtype, the class table, the parameter server's importance scores
    of the sub-products, and (fast fidelity) the exact sub-products."""

    partition: Partition
    order: ImportanceOrder
    dtype: np.dtype
    workers: int
    classes: ClassTable
    scores: np.ndarray | None = None
    exact: np.ndarray | None = None  # (K, *product_shape), fast fidelity only
    energies: np.ndarray | None = None  # prior E||P_k||_F^2 (decoders with needs_energies)
    code: Code | None = None  # the job's code (decoders that use its decoding probabilities)

    @property
    def num_products(self) -> int:
        return self.partition.num_products


class DecodeSession:
    """One job's decoding state: take packets in arrival order, give ``C_hat`` at any time."""

    recovered: np.ndarray  # (K,) bool: sub-products known exactly

    def add(  # pragma: no cover - interface
        self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None
    ) -> np.ndarray:
        """Take one packet (``payload`` is ``None`` in fast fidelity) from ``worker`` (decoders that need
        the worker's evaluation point, e.g. MatDot); return the newly recovered sub-products."""
        raise NotImplementedError

    def estimate(self) -> np.ndarray:  # pragma: no cover - interface
        """``C_hat`` now, in the original row and column order."""
        raise NotImplementedError

    @property
    def complete(self) -> bool:
        """Everything is recovered: later packets cannot change ``C_hat``."""
        return bool(self.recovered.all())


class Decoder:
    """Base class of the decoders (module docstring)."""

    name = "decoder"
    #: ``C_hat`` is the exact product restricted to the recovered sub-products (a 0/1 mask).
    selects_exact_blocks = False
    #: ``M`` is diagonal: each recovered sub-product scaled, nothing mixed (:meth:`scales`).
    diagonal = False
    #: The decoder uses the prior sub-product energies (``context.energies``).
    needs_energies = False

    def start(self, context: DecodeContext) -> DecodeSession:
        """A session for one job: the job's code's own decoder's where the scheme defines the
        estimate (e.g. MatDot: never the rank decision), else :meth:`open_session`."""
        own = decoder_for_code(context.code, self)
        if own is not self:
            return own.start(context)
        return self.open_session(context)

    def open_session(self, context: DecodeContext) -> DecodeSession:
        """This decoder's session (subclasses with their own sessions override this, not :meth:`start`)."""
        return _LinearSession(self, context)

    def reconstruction(
        self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext | None = None
    ) -> np.ndarray:
        """``M`` (``K × K``) with ``P_hat = M P`` for the received coefficient ``rows``."""
        if self.diagonal:
            return np.diag(self.scales(rows, recovered, context))
        return self.weights(rows, context) @ rows

    def scales(self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext) -> np.ndarray:
        """Diagonal decoders: the factor of every sub-product (0 where not recovered)."""
        raise NotImplementedError  # pragma: no cover - interface

    def weights(self, rows: np.ndarray, context: DecodeContext) -> np.ndarray:
        """Mixing decoders: ``W`` (``K × n``) with ``P_hat = W Y``."""
        raise NotImplementedError  # pragma: no cover - interface


class ZeroFillDecoder(Decoder):
    """The paper's decoder: recovered sub-products exact, the rest zero."""

    name = "zero"
    selects_exact_blocks = True
    diagonal = True

    def open_session(self, context: DecodeContext) -> DecodeSession:
        if context.exact is not None:
            return _ExactBlocksSession(context)
        return _ProgressiveSession(context)

    def scales(self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext | None = None) -> np.ndarray:
        return np.asarray(recovered, dtype=np.float64)


class LMMSEDecoder(Decoder):
    """Linear MMSE: ``P_hat = S G^T (G S G^T)^+ Y`` with the energy prior ``S`` (:mod:`uepmm.estimation`);
    the recovered sub-products are solved on ``G`` itself, exact whatever their energy."""

    name = "lmmse"
    needs_energies = True

    def weights(self, rows: np.ndarray, context: DecodeContext) -> np.ndarray:
        from .estimation import lmmse_weights

        if context.energies is None:
            raise ValueError("decoder 'lmmse' needs the sub-product energies (DecodeContext.energies)")
        return _exact_where_recovered(lmmse_weights(rows, context.energies), rows, context)


def _exact_where_recovered(weights: np.ndarray, rows: np.ndarray, context: DecodeContext) -> np.ndarray:
    """``weights`` with the rows of the recovered sub-products replaced by the minimum-norm solve of
    ``G^T c = e_k`` on the received rows themselves, so that a recovered sub-product is exact.

    The LMMSE's rank decision is on ``G S^(1/2)``: for a sub-product many decades weaker than the
    largest (energy ratios near ``1 / rank_tol^2``) it can drop a direction that the rank decision on
    ``G`` keeps, and the block reported recovered would be only approximate.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape[0] == 0:
        return weights
    decided = context.code.recoverable(rows) if context.code is not None else recoverable(rows)
    done = np.flatnonzero(decided)
    if done.size:
        targets = np.zeros((rows.shape[1], done.size))
        targets[done, np.arange(done.size)] = 1.0
        weights = np.array(weights, dtype=np.float64)
        weights[done] = np.linalg.lstsq(rows.T, targets, rcond=None)[0].T
    return weights


class UnbiasedDecoder(Decoder):
    """Recovered sub-products scaled so that ``E[C_hat | N] = C`` given ``N`` packets.

    With ``q(N)`` the probability that everything is recovered and ``p_k(N)`` that
    sub-product ``k`` is (the code's analytic probabilities, :mod:`uepmm.theory`): when
    everything is recovered, ``C_hat = C``; otherwise a recovered ``P_k`` is scaled by
    ``1 / P(k recovered | N, not everything) = (1 - q) / (p_k - q)``.  Then
    ``E[C_hat_k | N] = q P_k + (p_k - q) P_k (1 - q) / (p_k - q) / (1 - q) (1 - q) = P_k``
    wherever ``p_k(N) > q(N)`` ("everything" implies "k").  The variance grows as that
    conditional probability falls, so it is clipped from below at ``min_probability``
    (a scale of at most ``1 / min_probability``).  Clipping, and sub-products that ``N``
    packets cannot recover at all (``p_k(N) = 0``), are where it is biased.
    """

    name = "unbiased"
    diagonal = True

    def __init__(self, min_probability: float = 0.02):
        if isinstance(min_probability, bool) or not 0.0 < float(min_probability) <= 1.0:
            raise ValueError(f"min_probability must be in (0, 1], got {min_probability!r}")
        self.min_probability = float(min_probability)

    def scales(self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext) -> np.ndarray:
        recovered = np.asarray(recovered, dtype=bool)
        if recovered.all() or not recovered.any():
            return recovered.astype(np.float64)
        if context.code is None:
            raise ValueError("decoder 'unbiased' needs the job's code (DecodeContext.code)")
        n = int(rows.shape[0])
        per_class, everything = _recovery_probabilities(context.code, context.classes.counts, context.workers)
        p = per_class[n][context.classes.as_array()]
        q = everything[n]
        conditional = np.where(p > q, (p - q) / max(1.0 - q, 1e-300), 0.0)
        return np.where(recovered, 1.0 / np.maximum(conditional, self.min_probability), 0.0)


@functools.lru_cache(maxsize=256)
def _recovery_probabilities(code: Code, counts: tuple[int, ...], workers: int) -> tuple[np.ndarray, np.ndarray]:
    """``P_d,l(N)`` and ``P(everything | N)`` for ``N = 0..workers`` (cached per code and classes)."""
    per_class = code.decoding_probabilities(counts, workers, workers=workers)
    everything = code.all_decoded_probability(counts, workers, workers=workers)
    return per_class, everything


def decoder_for_code(code: Code | None, requested: Decoder) -> Decoder:
    """The decoder that forms ``C_hat`` for ``code`` when ``requested`` was asked for
    (:meth:`uepmm.codes.Code.decoder_for`; ``requested`` when there is no code)."""
    return requested if code is None else code.decoder_for(requested)


def _tracker(context: DecodeContext):
    """The code's per-packet recovery decision (the rank decision without a code)."""
    if context.code is None:
        return RecoveryTracker(context.num_products)
    return context.code.recovery_tracker(context.num_products)


class _ProgressiveSession(DecodeSession):
    """Full fidelity: real packets through :class:`ProgressiveDecoder`."""

    def __init__(self, context: DecodeContext):
        layout = context.partition
        self.context = context
        self.decoder = ProgressiveDecoder(
            layout.num_products, layout.product_shape, context.workers, context.dtype, aggregate=layout.kind == "cxr"
        )
        self.recovered = self.decoder.recovered

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        if payload is None:
            raise ValueError("full fidelity needs every packet's payload; use fidelity='fast' for rank-only runs")
        return self.decoder.add(row, payload)

    def estimate(self) -> np.ndarray:
        decoder, context = self.decoder, self.context
        if decoder.aggregate:  # c×r: C_hat is the decoded sum itself
            return (
                decoder.total.copy()
                if decoder.total is not None
                else np.zeros(context.partition.c_shape, context.dtype)
            )
        return context.order.assemble(context.partition, decoder.products, dtype=context.dtype)


class _ExactBlocksSession(DecodeSession):
    """Fast fidelity: the rank decision alone, recovered blocks taken from the exact sub-products."""

    def __init__(self, context: DecodeContext):
        self.context = context
        self.tracker = _tracker(context)
        self.recovered = self.tracker.recovered

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        return self.tracker.add(row)

    def estimate(self) -> np.ndarray:
        context, exact = self.context, self.context.exact
        products = [exact[k] if self.recovered[k] else None for k in range(context.num_products)]
        return context.order.assemble(context.partition, products, dtype=context.dtype)


class _LinearSession(DecodeSession):
    """A decoder's ``M`` (fast: exact sub-products) or ``W`` (full: real packets), applied
    when the estimate is asked for; recovered flags from the rank decision as always."""

    def __init__(self, decoder: Decoder, context: DecodeContext):
        self.decoder, self.context = decoder, context
        K = context.num_products
        self.full = context.exact is None
        # diagonal decoders scale exactly recovered blocks: keep them (per block, also in c×r)
        self.progressive = None
        if self.full and decoder.diagonal:
            layout = context.partition
            self.progressive = ProgressiveDecoder(K, layout.product_shape, context.workers, context.dtype)
            self.tracker = self.progressive.tracker
        else:
            self.tracker = _tracker(context)
        self.recovered = self.tracker.recovered
        self._rows = np.zeros((context.workers, K))
        self._payloads: list[np.ndarray] = []
        self._count = 0

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        if self.full and payload is None:
            raise ValueError("full fidelity needs every packet's payload; use fidelity='fast' for rank-only runs")
        self._rows[self._count] = row
        self._count += 1
        if self.progressive is not None:
            return self.progressive.add(row, payload)
        if self.full:
            self._payloads.append(payload)
        return self.tracker.add(row)

    def estimate(self) -> np.ndarray:
        context, decoder = self.context, self.decoder
        layout, K = context.partition, context.num_products
        rows = self._rows[: self._count]
        if decoder.diagonal:
            scale = decoder.scales(rows, self.recovered, context)
            source = self.progressive.products if self.progressive is not None else context.exact
            blocks = [source[k] * source[k].dtype.type(scale[k]) if scale[k] != 0.0 else None for k in range(K)]
            return context.order.assemble(layout, blocks, dtype=context.dtype)
        if self.full:
            mix, packets = decoder.weights(rows, context), self._payloads  # P_hat = W Y
        else:
            mix, packets = decoder.weights(rows, context) @ rows, list(context.exact)  # P_hat = M P
        if not packets:
            return np.zeros(layout.c_shape, context.dtype)
        if layout.kind == "cxr":  # C_hat = sum_k P_hat_k: one weighted sum of the packets
            total = np.zeros((1, *layout.product_shape), context.dtype)
            _combine_chunked(mix.sum(axis=0)[:, None], packets, total)
            return total[0]
        blocks = _mix(mix, packets, layout.product_shape, context.dtype)
        return context.order.assemble(layout, blocks, dtype=context.dtype)


def _mix(
    mix: np.ndarray, packets: list[np.ndarray], shape: tuple[int, ...], dtype: np.dtype
) -> list[np.ndarray | None]:
    """Block ``k`` = ``sum_i mix[k, i] packets[i]`` over the packets it really uses (NOW's
    LMMSE weights vanish outside a block's own windows), ``None`` for an all-zero row."""
    scale = np.abs(mix).max() if mix.size else 0.0
    out: list[np.ndarray | None] = []
    for row in mix:
        used = np.flatnonzero(np.abs(row) > 1e-14 * scale)
        if used.size == 0:
            out.append(None)
            continue
        block = np.empty((1, *shape), dtype)
        _combine_chunked(row[used, None], [packets[i] for i in used], block, accumulate=False)
        out.append(block[0])
    return out


_DECODERS: dict[str, Callable[[], Decoder]] = {
    "zero": ZeroFillDecoder,
    "lmmse": LMMSEDecoder,
    "unbiased": UnbiasedDecoder,
}
#: Names of the registered decoders.
DECODER_NAMES = tuple(_DECODERS)


def make_decoder(decoder: str | Decoder) -> Decoder:
    """A :class:`Decoder` from its name (or the object itself)."""
    if isinstance(decoder, Decoder):
        return decoder
    return _DECODERS[choice(decoder, "decoder", DECODER_NAMES)]()
