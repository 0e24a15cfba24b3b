"""The decoder interface: :class:`Decoder`, :class:`DecodeSession` and :class:`DecodeContext`.

What every decoder and every code's own decoder (MatDot's, sampling's) builds on; the
decoders chosen by name (zero fill, LMMSE, unbiased) and their registry
(:func:`uepmm.decoders.make_decoder`) are in :mod:`uepmm.decoders`, on top of the codes.
This module imports no code: a code is a type hint here (``if TYPE_CHECKING:``), and a
decoder asks the job's code through its methods (:meth:`uepmm.codes.Code.decoder_for`,
:meth:`~uepmm.codes.Code.recovery_tracker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .decoding import ProgressiveDecoder, RecoveryTracker, _combine_chunked
from .importance import ClassTable, ImportanceOrder
from .partition import Partition

if TYPE_CHECKING:  # the codes build on this module (their own decoders): a type hint only
    from .codes.base import Code

__all__ = ["Decoder", "DecodeContext", "DecodeSession", "decoder_for_code"]


@dataclass(frozen=True)
class DecodeContext:
    """What a decoder may use besides the packets: the layout, the order (to place blocks in
    ``C``), the product's dtype, the class table, the parameter server's importance scores
    of the sub-products, (fast fidelity) the exact sub-products, and the job's specification
    (its cost model, latency, ``Ω`` and deadline: what decides which packets arrive)."""

    partition: Partition
    order: ImportanceOrder
    dtype: np.dtype
    workers: int
    classes: ClassTable
    scores: np.ndarray | None = None
    exact: np.ndarray | None = None  # (K, *product_shape), fast fidelity only
    energies: np.ndarray | None = None  # prior E||P_k||_F^2 (decoders with needs_energies)
    code: Code | None = None  # the job's code (decoders that use its decoding probabilities)
    gram: np.ndarray | None = None  # prior R_kl = <P_k, P_l>_F (K × K, JobSpec.prior); replaces energies
    #: the job's :class:`uepmm.JobSpec` (decoders that use its arrival model: cost, latency, ``Ω``,
    #: deadline; ``None``: the paper's, ``cost="equal"``); not imported here (the spec builds on decoders)
    spec: Any = None

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
    """Base class of the decoders (:mod:`uepmm.decoders`).

    Examples
    --------
    A decoder maps the received coefficient rows to ``M`` with ``P_hat = M P``:

    >>> import numpy as np, uepmm
    >>> rows = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # P_0, and P_1 + P_2
    >>> M = uepmm.make_decoder("zero").reconstruction(rows, uepmm.recoverable(rows))
    >>> M.tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """

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
        self.check(context)
        return self.open_session(context)

    def check(self, context: DecodeContext) -> None:
        """Raise ``ValueError`` before any packet if this decoder cannot decode this job (every
        session, the cluster's too, starts with it); the default accepts every job."""

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


def decoder_for_code(code: Code | None, requested: Decoder) -> Decoder:
    """The decoder that forms ``C_hat`` for ``code`` when ``requested`` was asked for
    (:meth:`uepmm.codes.Code.decoder_for`; ``requested`` when there is no code)."""
    return requested if code is None else code.decoder_for(requested)


def _tracker(context: DecodeContext):
    """The code's per-packet recovery decision (the rank decision without a code)."""
    if context.code is None:
        return RecoveryTracker(context.num_products)
    return context.code.recovery_tracker(context.num_products)


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
