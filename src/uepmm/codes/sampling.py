"""Norm-weighted sampling (Drineas, Kannan & Mahoney, 2006): approximate ``A @ B`` from whatever arrives.

Each worker draws ONE sub-product ``k`` i.i.d. with probability
``p_k ∝ ||A-block|| ||B-block||`` (Frobenius norms of the two factor blocks of ``P_k``: c×r
``A_m``, ``B_m``; r×c ``A_n``, ``B_p``) and computes that block product.  From the ``n`` packets
that arrived (indices ``k_1..k_n``) the estimate is

    C_hat = (1/n) sum_t P_(k_t) / p_(k_t)      (r×c: each term placed in its own block),

and ``C_hat = 0`` for ``n = 0``.  Each term has mean ``sum_k p_k P_k / p_k = C``, and the arrival
times are drawn independently of the sampled indices, so ``E[C_hat | n] = C`` for every
``n >= 1``.  Its error is :func:`uepmm.theory.sampling_expected_loss`,
``(1/n) (sum_k ||P_k||^2 / p_k - ||C||^2)``.

The probabilities depend on the data: :meth:`Sampling.with_energies` binds them per job from
the parameter server's sub-product energies (``||A_i||^2 ||B_j||^2 / H_k``,
:func:`uepmm.importance.energies_from_line_norms`, so the PS never needs the full product).

What ``Result.recovered`` means here: row ``w`` is the unit vector of the sub-product worker
``w`` sampled, so the generic rank decision marks the sampled sub-products, and those are indeed
known exactly at the PS (a packet IS ``P_k``).  The estimate, however, is always the unbiased
one above (``decoder=`` is ignored; ``report["decoder"]`` is ``"sampling"``), never the exact
blocks, so it is not exact even with ``deadline=inf``, and the PS never stops early: the
session is never ``complete`` (stopping once every ``k`` was seen would make ``n`` depend on
the sampled indices, and the estimate biased).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..decoder_base import DecodeContext, Decoder, DecodeSession
from ..partition import Partition
from .base import Code, Encoding

__all__ = ["Sampling", "SamplingDecoder", "sampling_probabilities"]


def sampling_probabilities(energies: np.ndarray, partition: Partition) -> np.ndarray:
    """``p_k ∝ ||A-block|| ||B-block||`` from the prior energies ``||A_i||^2 ||B_j||^2 / H_k``
    (uniform when every block product is zero)."""
    energies = np.asarray(energies, dtype=np.float64)
    if partition.kind == "rxc":
        inner = np.full(energies.size, float(partition.a_shape[1]))
    else:
        inner = partition.factor_blocks[0][1].astype(np.float64)  # the inner lines of block m
    weights = np.sqrt(np.maximum(energies, 0.0) * inner)
    total = weights.sum()
    if not total > 0:
        return np.full(energies.size, 1.0 / energies.size)
    return weights / total


@dataclass(frozen=True)
class Sampling(Code):
    """Norm-weighted sampling with replacement, both partitions; ``probabilities`` bound per job.

    Examples
    --------
    An unbiased estimate from whatever arrived; it is bound to the job's block norms, and it
    is never exact by construction, so its loss stays positive here even with every packet:

    >>> import numpy as np, uepmm
    >>> from uepmm.codes import Sampling
    >>> Sampling().needs_energies
    True
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    >>> res = uepmm.coded_matmul(A, B, code="sampling", partition="cxr", blocks=3, workers=6, seed=0)
    >>> res.received, res.normalized_loss(A @ B) > 0
    (6, True)
    """

    probabilities: tuple[float, ...] | None = None
    name = "sampling"
    adaptive_refusal = "its unbiased estimate counts a fixed number W of samples"
    needs_energies = True

    def with_energies(self, energies, partition):
        if energies is None:
            raise ValueError("code 'sampling' needs the sub-product energies (the block norms) to bind p_k")
        return Sampling(tuple(float(v) for v in sampling_probabilities(energies, partition)))

    def check(self, classes, workers):
        if self.probabilities is not None and len(self.probabilities) != classes.num_products:
            raise ValueError(
                f"code 'sampling' has {len(self.probabilities)} probabilities but the job has "
                f"K = {classes.num_products} sub-products"
            )

    def packet_work(self, encoding, partition):
        return np.ones(encoding.workers)

    def cxr_packet_work(self, num_products: int) -> int:
        return 1

    def decoder_for(self, requested):
        return _DECODER

    def _encode(self, classes, workers, rng):
        if self.probabilities is None:
            raise ValueError(
                "code 'sampling' draws with probabilities from the block norms: run it through "
                "uepmm.plan_job / coded_matmul (which bind them), or Sampling(probabilities=...)"
            )
        K = classes.num_products
        picked = rng.choice(K, size=workers, p=np.asarray(self.probabilities))
        generator = np.zeros((workers, K))
        generator[np.arange(workers), picked] = 1.0
        return Encoding(generator, picked.astype(np.int64))


def _probabilities(context: DecodeContext) -> np.ndarray:
    code = context.code
    p = getattr(code, "probabilities", None)
    if p is None:
        raise ValueError(
            "the sampling decoder needs the job's bound code (DecodeContext.code = Sampling(probabilities))"
        )
    return np.asarray(p, dtype=np.float64)


class SamplingDecoder(Decoder):
    """The sampling estimate ``(1/n) sum_t P_(k_t) / p_(k_t)``: ``M = diag(c_k / (n p_k))``
    with ``c_k`` the number of arrived packets that sampled ``k``."""

    name = "sampling"
    diagonal = True

    def open_session(self, context: DecodeContext) -> DecodeSession:
        return _SamplingSession(context)

    def scales(self, rows, recovered, context):
        rows = np.asarray(rows)
        n = rows.shape[0]
        p = _probabilities(context)
        if n == 0:
            return np.zeros(p.size)
        counts = np.count_nonzero(rows, axis=0)
        return np.where(counts > 0, counts / (n * np.maximum(p, 1e-300)), 0.0)


_DECODER = SamplingDecoder()


class _SamplingSession(DecodeSession):
    """Running sums of ``P_k / p_k`` (full: the real packets; fast: counts on the exact sub-products)."""

    def __init__(self, context: DecodeContext):
        self.context = context
        self.p = _probabilities(context)
        K = context.num_products
        self.recovered = np.zeros(K, dtype=bool)
        self.counts = np.zeros(K, dtype=np.int64)
        self.n = 0
        self.full = context.exact is None
        self._sums: dict[int, np.ndarray] = {}  # r×c: per block; c×r: key 0 holds the whole sum

    @property
    def complete(self) -> bool:
        return False  # more samples always change the estimate (module docstring)

    def add(self, row: np.ndarray, payload: np.ndarray | None, worker: int | None = None) -> np.ndarray:
        if self.full and payload is None:
            raise ValueError("full fidelity needs every packet's payload; use fidelity='fast' for rank-only runs")
        k = int(np.flatnonzero(row)[0])
        self.n += 1
        self.counts[k] += 1
        if self.full:
            key = 0 if self.context.partition.kind == "cxr" else k
            term = payload * (row[k] * self.p[k]) ** -1  # the packet is row[k] * P_k
            if key in self._sums:
                self._sums[key] += term
            else:
                self._sums[key] = np.array(term, dtype=self.context.dtype)
        new = np.empty(0, dtype=np.int64) if self.recovered[k] else np.array([k])
        self.recovered[k] = True
        return new

    def estimate(self) -> np.ndarray:
        context, layout = self.context, self.context.partition
        if self.n == 0:
            return np.zeros(layout.c_shape, context.dtype)
        if not self.full:
            scale = np.divide(self.counts, self.n * self.p, out=np.zeros(self.p.size), where=self.counts > 0)
            blocks = [scale[k] * context.exact[k] if self.counts[k] else None for k in range(layout.num_products)]
            return context.order.assemble(layout, blocks, dtype=context.dtype)
        if layout.kind == "cxr":
            return (self._sums[0] / self.n).astype(context.dtype, copy=False)
        blocks = [self._sums[k] / self.n if k in self._sums else None for k in range(layout.num_products)]
        return context.order.assemble(layout, blocks, dtype=context.dtype)
