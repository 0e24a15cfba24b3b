"""Decoders: how the parameter server forms ``C_hat`` from the packets that arrived.

A :class:`Decoder` is chosen by name in the job specification (``decoder=``) and used by
every path that makes a coded product:

* the engine (:func:`uepmm.coded_matmul`, full and fast fidelity, every backend) opens a
  :class:`DecodeSession` per job and feeds it packets in arrival order;
* the lean training path asks :meth:`Decoder.reconstruction` for the ``K × K`` matrix ``M``
  with ``P_hat = M P`` (exact sub-products ``P``), which it applies in torch.

The rank decision (which ``e_k`` lie in the row space of the received rows) is
:func:`uepmm.decoding.recoverable` / :class:`uepmm.decoding.RecoveryTracker`; the payload
algebra of exact recovery is :class:`uepmm.decoding.ProgressiveDecoder`.

``"zero"`` (the paper's decoder): recovered sub-products exact, the others zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validation import choice
from .decoding import ProgressiveDecoder, RecoveryTracker
from .importance import ClassTable, ImportanceOrder
from .partition import Partition

__all__ = ["Decoder", "DecodeContext", "DecodeSession", "ZeroFillDecoder", "make_decoder", "DECODER_NAMES"]


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

    @property
    def num_products(self) -> int:
        return self.partition.num_products


class DecodeSession:
    """One job's decoding state: take packets in arrival order, give ``C_hat`` at any time."""

    recovered: np.ndarray  # (K,) bool: sub-products known exactly

    def add(self, row: np.ndarray, payload: np.ndarray | None) -> np.ndarray:  # pragma: no cover - interface
        """Take one packet (``payload`` is ``None`` in fast fidelity); return the newly recovered sub-products."""
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

    def start(self, context: DecodeContext) -> DecodeSession:  # pragma: no cover - interface
        raise NotImplementedError

    def reconstruction(
        self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext | None = None
    ) -> np.ndarray:
        """``M`` (``K × K``) with ``P_hat = M P`` for the received coefficient ``rows``."""
        raise NotImplementedError  # pragma: no cover - interface


class ZeroFillDecoder(Decoder):
    """The paper's decoder: recovered sub-products exact, the rest zero."""

    name = "zero"
    selects_exact_blocks = True

    def start(self, context: DecodeContext) -> DecodeSession:
        if context.exact is not None:
            return _ExactBlocksSession(context)
        return _ProgressiveSession(context)

    def reconstruction(
        self, rows: np.ndarray, recovered: np.ndarray, context: DecodeContext | None = None
    ) -> np.ndarray:
        return np.diag(np.asarray(recovered, dtype=np.float64))


class _ProgressiveSession(DecodeSession):
    """Full fidelity: real packets through :class:`ProgressiveDecoder`."""

    def __init__(self, context: DecodeContext):
        layout = context.partition
        self.context = context
        self.decoder = ProgressiveDecoder(
            layout.num_products, layout.product_shape, context.workers, context.dtype, aggregate=layout.kind == "cxr"
        )
        self.recovered = self.decoder.recovered

    def add(self, row: np.ndarray, payload: np.ndarray | None) -> np.ndarray:
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
        self.tracker = RecoveryTracker(context.num_products)
        self.recovered = self.tracker.recovered

    def add(self, row: np.ndarray, payload: np.ndarray | None) -> np.ndarray:
        return self.tracker.add(row)

    def estimate(self) -> np.ndarray:
        context, exact = self.context, self.context.exact
        products = [exact[k] if self.recovered[k] else None for k in range(context.num_products)]
        return context.order.assemble(context.partition, products, dtype=context.dtype)


_DECODERS: dict[str, Callable[[], Decoder]] = {"zero": ZeroFillDecoder}
#: Names of the registered decoders.
DECODER_NAMES = tuple(_DECODERS)


def make_decoder(decoder: str | Decoder) -> Decoder:
    """A :class:`Decoder` from its name (or the object itself)."""
    if isinstance(decoder, Decoder):
        return decoder
    return _DECODERS[choice(decoder, "decoder", DECODER_NAMES)]()
