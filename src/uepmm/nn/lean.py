"""The lean per-product path behind ``CodedLinear`` with ``fidelity="fast"``.

A training step has five or six coded products, so calling :func:`uepmm.coded_matmul`
for each (about 1.5-2.5 ms of planning and bookkeeping, and the operands copied to numpy)
would dominate the step.  This module does, per product, exactly the decisions that
``coded_matmul(..., fidelity="fast", backend="simulated", seed=product_rng(s))`` makes,
with the engine's own pieces, and computes the estimate in torch on the operands' device:

1. importance order (Sec. VII-C): per-row/column statistics (``mean_abs`` or ``fro``)
   computed where the operands live (numpy on a CPU tensor's memory, torch on other
   devices), then the engine's sort, :func:`uepmm.importance.order_from_line_stats`
   (what :func:`uepmm.importance.importance_order` does after its statistics);
2. class table: the engine's block scores from the sorted line statistics
   (:func:`uepmm.importance.product_scores_from_order`), then
   :func:`uepmm.importance.classes_by_rank`;
3. the unit response times, then the code draw, from one stream :func:`product_rng` ``(s)``:
   the pieces of :func:`uepmm.draw.draw_job` (:func:`~uepmm.draw.draw_unit_times`,
   :func:`~uepmm.draw.draw_encoding`, :func:`~uepmm.draw.response_times`), as
   :func:`uepmm.plan_job` draws them when given a numpy ``Generator`` as seed (with
   ``cost="equal"`` the code draw is skipped when no packet arrives; with ``cost="work"`` the
   times depend on the rows, so the code is always drawn); with adaptive packets
   (``JobSpec.adaptive``) the code is always drawn and the workers' later packets follow from the same
   stream, by :func:`uepmm.adaptive.adaptive_packets` as :func:`~uepmm.draw.draw_job` calls it
   (one row and one time per packet started);
4. the coefficient rows of the packets that arrive by the deadline, as the simulated
   backend delivers them, decided at once by the code's ``recoverable`` (for linear codes
   :func:`uepmm.recoverable`, the batch form
   of the rank-only decoder :class:`uepmm.RecoveryTracker` that ``coded_matmul`` feeds
   packet by packet; the tests check that both recover the same sub-products);
5. the estimate, by the spec's decoder (:mod:`uepmm.decoders`).  With fast fidelity and the
   zero-fill decoder (the only one today, ``selects_exact_blocks``) the recovered sub-products are exact, so
   ``C_hat`` is the exact product with the unrecovered sub-products removed: r×c, the
   exact ``A @ B`` with the unrecovered blocks zeroed (mask gathered through the row and
   column permutations); c×r, ``(A * d) @ B`` with ``d`` the indicator of the inner
   indices whose block was recovered.  This is the same matrix the engine assembles
   (the tests check it against ``coded_matmul`` to rounding).  A decoder that mixes blocks
   (LMMSE) gets its ``M`` from the engine's decoder, with the prior the spec names
   (``JobSpec.prior``: the diagonal energy prior, or the probe's Gram matrix formed as the
   engine forms it, :func:`uepmm.prior.prior_gram`), and ``M`` is applied in torch.

Device traffic: only the line statistics go to the host (one copy of ``rows + cols``
float64 values) and the block indicator comes back (a few hundred small integers); the
operands and the product stay on their device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ..adaptive import adaptive_packets
from ..decoders import DecodeContext, decoder_for_code
from ..design.auto import auto_code
from ..draw import draw_encoding, draw_unit_times, packet_work, response_times
from ..importance import (
    ClassRule,
    ClassTable,
    ImportanceOrder,
    classes_by_rank,
    energies_from_line_norms,
    order_from_line_stats,
    product_scores_from_order,
)
from ..partition import Partition, make_partition
from ..prior import prior_gram
from ..streams import product_rng
from .config import CodingConfig

__all__ = ["ProductRecord", "LeanPlanner", "lean_product", "product_rng"]

_NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}
#: ``gamma="auto"``: send the designs of the key cells next to each product's to a worker process
#: (:func:`uepmm.design.auto.auto_code` ``ahead=True``); what a product gets is the same either way.
#: Off by default: it spends more CPU than it saves the step (docs/design-gamma.md, "Designs made ahead").
AHEAD = False


@dataclass
class ProductRecord:
    """What one coded product did: the engine's decisions and, if tracked, its loss.

    ``recovered[k]`` refers to sub-product ``k`` of the importance-ordered partition, as in
    :class:`uepmm.Result`.  ``normalized_loss`` is ``||C - C_hat||_F^2 / ||C||_F^2`` for the
    product's (thresholded) operands, or NaN when the layer does not track losses.
    ``result`` is the engine's :class:`uepmm.Result` for products run through
    ``coded_matmul`` (full fidelity or the Dask backend), else ``None``.

    Examples
    --------
    A layer hands one record per backward product to ``on_product``:

    >>> import torch
    >>> from uepmm.nn import CodedLinear
    >>> records = []
    >>> layer = CodedLinear(6, 4, blocks=2, class_counts=(1, 1), gamma=(0.5, 0.5), workers=4,
    ...                     deadline=0.5, seed=0, track_loss=True, on_product=records.append)
    >>> x = torch.randn(18, 6, generator=torch.Generator().manual_seed(0), requires_grad=True)
    >>> layer(x).sum().backward()
    >>> sorted(r.product for r in records)
    ['grad_input', 'grad_weight']
    >>> all(r.normalized_loss >= 0.0 and r.received <= 4 for r in records)
    True
    """

    product: str  # "grad_input" (eq. 26) or "grad_weight" (eq. 27)
    layer_index: int
    step: int
    seed: int
    config: CodingConfig
    received: int
    recovered: np.ndarray
    scores: np.ndarray | None = None
    normalized_loss: float = math.nan
    result: Any = None
    response_times: np.ndarray | None = field(default=None, repr=False)

    @property
    def equation(self) -> int:
        """The paper's equation number of this product (26 or 27)."""
        return 26 if self.product == "grad_input" else 27

    @property
    def classes(self) -> ClassTable:
        """Class of every sub-product (as the engine ranks them)."""
        if self.result is not None:
            return self.result.classes
        if isinstance(self.config.classes, ClassRule):
            return self.config.classes.table(self.scores)
        return classes_by_rank(self.scores, self.config.counts)

    def engine_result(self, A: Any, B: Any, **overrides: Any):
        """Re-run this product through :func:`uepmm.coded_matmul` with the same seed.

        ``A``, ``B`` are the product's operands (eq. 26: ``G_(i+1)``, ``W``; eq. 27:
        ``X_i^T``, ``G_(i+1)``), thresholded as the layer did.  ``overrides`` change engine
        arguments (e.g. ``fidelity="full"`` to decode real packets).
        """
        from ..api import coded_matmul

        to_np = lambda t: t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)  # noqa: E731
        return coded_matmul(to_np(A), to_np(B), self.config, seed=product_rng(self.seed), **overrides)


class _Layout:
    """A :class:`Partition` plus the index arrays the lean path needs (one per operand
    shapes, kept in :attr:`LeanPlanner.layouts`)."""

    def __init__(self, partition: Partition):
        self.partition = partition
        self.kind = partition.kind
        self.K = partition.num_products
        self.grid = partition.grid
        (_, a_sizes), (_, b_sizes) = partition.factor_blocks
        self.a_ids = np.repeat(np.arange(a_sizes.size), a_sizes)  # block of every line of A
        self.b_ids = np.repeat(np.arange(b_sizes.size), b_sizes)


class LeanPlanner:
    """The lean path for one :class:`CodingConfig`: per-configuration constants, and
    :meth:`product` for each multiplication.  :func:`lean_product` keeps one per config.

    Examples
    --------
    >>> import torch
    >>> from uepmm.nn import CodingConfig, LeanPlanner
    >>> g = torch.Generator().manual_seed(0)
    >>> A, B = torch.randn(6, 18, generator=g), torch.randn(18, 4, generator=g)
    >>> planner = LeanPlanner(CodingConfig(code="mds", deadline=float("inf")))
    >>> C_hat, info = planner.product(A, B, seed=0)
    >>> torch.allclose(C_hat, A @ B, atol=1e-5), info["received"]
    (True, 15)
    """

    def __init__(self, config: CodingConfig):
        if not isinstance(config, CodingConfig):
            raise TypeError(f"config must be a uepmm.nn.CodingConfig, got {type(config).__name__}")
        self.config = config
        self.code = config.code_object
        self.decoder = decoder_for_code(self.code, config.decoder_object)  # the scheme's own, if it has one
        # rows that depend on the data: the class table (NOW, EW) or the block norms (sampling)
        self.data_aware = self.code.class_aware or self.code.needs_energies
        self.workers = config.workers
        self.deadline = config.deadline
        self.counts = config.counts
        self.statistic = config.statistic
        self.reorder = config.reorder
        self.layouts: dict[tuple[torch.Size, torch.Size], _Layout] = {}
        self.uniform_table = config.uniform_classes
        # codes that draw nothing (uncoded, repetition) have fixed coefficient rows
        self.fixed_encoding = None
        if self.code.deterministic:
            self.fixed_encoding = draw_encoding(config, self.uniform_table, np.random.default_rng(0))
        self.fixed_generator = None if self.fixed_encoding is None else self.fixed_encoding.generator
        # rows that are unit vectors (uncoded, repetition): the recovered set is the union of the supports
        self.unit_rows = self.fixed_generator is not None and bool(
            np.all(np.count_nonzero(self.fixed_generator, axis=1) == 1)
        )

    def product(self, A: torch.Tensor, B: torch.Tensor, seed: int, *, track_loss: bool = False):
        """See :func:`lean_product`."""
        return _lean(self, A, B, seed, track_loss)


@lru_cache(maxsize=64)
def _planner(config: CodingConfig) -> LeanPlanner:
    return LeanPlanner(config)


def _line_stats(
    A: torch.Tensor, B: torch.Tensor, kind: str, statistic: str, on_host: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Row/column statistics of A and B as float64 arrays on the host.

    CPU operands (``mean_abs``): summed by numpy on the tensors' memory, no copy (fewer
    and cheaper calls than torch's for these small matrices); otherwise reduced by torch
    on the device, and one device->host copy of ``rows + cols`` values.  Accumulated in the
    operands' precision (the engine accumulates in float64): for float32 operands the
    order can differ from ``coded_matmul``'s only between rows or columns whose
    statistics agree to about 1e-7 relative.
    """
    a_dim, b_dim = (1, 0) if kind == "rxc" else (0, 1)
    host = A.device.type == "cpu" if on_host is None else on_host
    if statistic == "mean_abs":  # sums, divided by the (common) line length in float64
        if host:
            sa_np = np.abs(A.detach().numpy()).sum(axis=a_dim)
            sb_np = np.abs(B.detach().numpy()).sum(axis=b_dim)
        else:
            sa_np, sb_np = _to_host(A.abs().sum(dim=a_dim), B.abs().sum(dim=b_dim))
        return np.divide(sa_np, A.shape[a_dim], dtype=np.float64), np.divide(sb_np, B.shape[b_dim], dtype=np.float64)
    if host:  # numpy on the tensors' memory: cheaper than torch's norm for these small matrices
        a_np, b_np = A.detach().numpy(), B.detach().numpy()
        sa_np = np.einsum("ij,ij->j" if a_dim == 0 else "ij,ij->i", a_np, a_np, dtype=np.float64)
        sb_np = np.einsum("ij,ij->j" if b_dim == 0 else "ij,ij->i", b_np, b_np, dtype=np.float64)
        return np.sqrt(sa_np), np.sqrt(sb_np)
    sa, sb = torch.linalg.vector_norm(A, dim=a_dim), torch.linalg.vector_norm(B, dim=b_dim)
    sa_np, sb_np = _to_host(sa, sb)
    return sa_np.astype(np.float64), sb_np.astype(np.float64)


def _to_host(sa: torch.Tensor, sb: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Both statistic vectors in one device->host copy."""
    both = torch.cat((sa, sb)).cpu().numpy()
    return both[: sa.shape[0]], both[sa.shape[0] :]


def lean_product(
    A: torch.Tensor,
    B: torch.Tensor,
    config: CodingConfig,
    seed: int,
    *,
    track_loss: bool = False,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """``C_hat`` for ``A @ B`` as ``coded_matmul(A, B, config, seed=product_rng(seed))``
    with ``fidelity="fast"`` would produce it, computed in torch.

    Returns the estimate and a dict (``received``, ``recovered``, ``scores``,
    ``normalized_loss``, ``response_times``) for a :class:`ProductRecord`.  Work that
    cannot change the outcome is skipped: with no packet by the deadline nothing is
    recovered whatever the code; for codes that ignore the classes (uncoded,
    repetition, MDS) the importance statistics are computed only when some but not all
    sub-products are recovered (they only place the blocks).  ``scores`` is ``None``
    when they were not computed.

    Examples
    --------
    No packet by the deadline: nothing is recovered and the zero-fill estimate is zero.

    >>> import torch
    >>> from uepmm.nn import CodingConfig, lean_product
    >>> g = torch.Generator().manual_seed(0)
    >>> A, B = torch.randn(6, 18, generator=g), torch.randn(18, 4, generator=g)
    >>> C_hat, info = lean_product(A, B, CodingConfig(deadline=0.0), seed=0)
    >>> info["received"], bool((C_hat == 0).all())
    (0, True)
    >>> C_hat, info = lean_product(A, B, CodingConfig(code="mds", deadline=float("inf")), seed=0)
    >>> torch.allclose(C_hat, A @ B, atol=1e-5)
    True
    """
    return _planner(config).product(A, B, seed, track_loss=track_loss)


def _lean(plan: LeanPlanner, A: torch.Tensor, B: torch.Tensor, seed: int, track_loss: bool):
    layout = plan.layouts.get((A.shape, B.shape))
    if layout is None:
        if A.dim() != 2 or B.dim() != 2 or A.shape[1] != B.shape[0]:
            raise ValueError(
                f"lean_product needs 2-D operands with matching inner size, got {tuple(A.shape)} @ {tuple(B.shape)}"
            )
        partition = make_partition(tuple(A.shape), tuple(B.shape), plan.config.partition, plan.config.blocks)
        layout = plan.layouts[(A.shape, B.shape)] = _Layout(partition)

    # one stream (plan_job with a Generator): the unit response times first, then the code
    rng = product_rng(seed)
    units = draw_unit_times(plan.config, rng)
    order = scores = code = encoding = energies = None
    table = plan.uniform_table
    if plan.config.cost == "work" or plan.config.adaptive:  # the times depend on the packets: the code first
        if plan.data_aware:
            order, scores = _importance(plan, A, B, layout)
            table, code, encoding, energies = _class_aware_encoding(plan, A, B, layout, order, scores, rng)
        else:
            encoding = plan.fixed_encoding or draw_encoding(plan.config, plan.uniform_table, rng, layout.partition)
        work = packet_work(plan.config, encoding, layout.partition, code) if plan.config.cost == "work" else None
        times = response_times(plan.config, units, work)
        if plan.config.adaptive:  # the later packets, as draw_job draws them (same stream, same rule)
            more = adaptive_packets(plan.config, code or plan.code, table, encoding, times, layout.partition, units,
                                    rng)
            encoding, times = more.encoding, more.times
    else:
        times = response_times(plan.config, units)
    arrived = times <= plan.deadline
    received = int(np.count_nonzero(arrived))
    arrivals = np.flatnonzero(arrived)
    arrivals = arrivals[np.argsort(times[arrivals], kind="stable")]  # who arrived, in arrival order
    info: dict[str, Any] = {"received": received, "scores": scores, "response_times": times}

    recovered = None
    if received == 0:
        recovered = np.zeros(layout.K, dtype=bool)
    elif not plan.data_aware:
        if encoding is None:
            encoding = plan.fixed_encoding or draw_encoding(plan.config, plan.uniform_table, rng, layout.partition)
        recovered = _recover(plan, encoding, arrivals)
    elif encoding is not None:
        recovered = (code or plan.code).recovered_from(encoding, arrivals)
    generator = None if encoding is None else encoding.generator
    a_perm = b_perm = None
    n_recovered = -1 if recovered is None else int(np.count_nonzero(recovered))
    mixes = received > 0 and not plan.decoder.selects_exact_blocks  # the estimate is not a 0/1 selection
    if order is None and (recovered is None or (plan.reorder and 0 < n_recovered < layout.K) or mixes):
        order, info["scores"] = _importance(plan, A, B, layout)
    if order is not None and plan.reorder:
        a_perm, b_perm = order.a_perm, order.b_perm
    if recovered is None:
        # class table, code draw, then the arrived packets' rows through the rank decision
        table, code, encoding, energies = _class_aware_encoding(plan, A, B, layout, order, info["scores"], rng)
        generator = encoding.generator
        recovered = (code or plan.code).recovered_from(encoding, arrivals)
        n_recovered = int(np.count_nonzero(recovered))

    info["recovered"] = recovered
    if mixes:
        estimate, loss = _decode(plan, A, B, layout, generator[arrived], recovered, order, table, code, energies,
                                 track_loss, generator.shape[0])
    else:
        estimate, loss = _assemble(A, B, layout, recovered, n_recovered, a_perm, b_perm, track_loss)
    info["normalized_loss"] = loss
    return estimate, info


def _importance(plan: LeanPlanner, A: torch.Tensor, B: torch.Tensor, layout: _Layout):
    """The importance order (the sort of :func:`uepmm.importance.importance_order`) and the block scores."""
    sa, sb = _line_stats(A, B, layout.kind, plan.statistic)
    if plan.reorder:
        order = order_from_line_stats(layout.kind, sa, sb, plan.statistic)
    else:
        order = ImportanceOrder(layout.kind, np.arange(sa.size), np.arange(sb.size), plan.statistic, sa, sb)
    return order, product_scores_from_order(order, layout.partition)


def _class_aware_encoding(plan, A, B, layout, order, scores, rng):
    """The class table from the scores, the code (``gamma="auto"``: designed for this product), its rows,
    and the sub-products' energies when they were needed (else ``None``; :func:`_decode` reuses them)."""
    if isinstance(plan.config.classes, ClassRule):  # e.g. classes="rectangles": the rule's table of these scores
        table = plan.config.classes.table(scores)
    else:
        table = _class_table(np.argsort(-scores, kind="stable").tobytes(), plan.counts)
    code = energies = None
    if plan.config.auto_gamma:  # Γ designed for this product (uepmm.design.auto)
        energies = _energies(A, B, layout, order)
        code = auto_code(plan.config, table, energies, ahead=AHEAD)
    elif plan.code.needs_energies:  # e.g. sampling probabilities from the block norms
        energies = _energies(A, B, layout, order)
        code = plan.code.with_energies(energies, layout.partition)
    return table, code, draw_encoding(plan.config, table, rng, layout.partition, code), energies


def _decode(plan, A, B, layout, rows, recovered, order, table, code, energies, track_loss, packets):
    """``C_hat`` by a decoder other than zero-fill: its ``M`` (``P_hat = M P``) applied in torch
    (``packets``: the rows the job started, ``W`` or with adaptive packets more, as the engine counts them).

    A diagonal ``M`` is a weighted mask (the zero-fill path with weights); otherwise c×r needs
    only ``1^T M`` (``C_hat = sum_j (sum_k M_kj) P_j``) and r×c mixes the blocks of ``A @ B``.
    """
    if plan.decoder.needs_energies and energies is None:
        energies = _energies(A, B, layout, order)
    gram = _prior_gram(plan, A, B, layout, order) if plan.decoder.needs_energies else None
    context = DecodeContext(
        layout.partition, order, np.dtype(_NUMPY_DTYPE.get(A.dtype, np.float64)), packets, table,
        None, None, energies, code or plan.code, gram, spec=plan.config,
    )
    a_perm, b_perm = (order.a_perm, order.b_perm) if plan.reorder else (None, None)
    if plan.decoder.diagonal:
        weights = plan.decoder.scales(rows, recovered, context)
    else:
        M = plan.decoder.reconstruction(rows, recovered, context)
        if layout.kind == "cxr":
            weights = M.sum(axis=0)
        elif np.count_nonzero(M - np.diag(np.diag(M))) == 0:  # nothing mixed (e.g. unit rows): a weighted mask
            weights = np.diag(M).copy()
        else:
            return _mix_blocks(A, B, layout, M, order, track_loss)
    return _assemble(A, B, layout, weights, _count_for(weights, layout.K), a_perm, b_perm, track_loss)


def _energies(A: torch.Tensor, B: torch.Tensor, layout: _Layout, order: ImportanceOrder) -> np.ndarray:
    """The PS's energy prior of every sub-product (:func:`uepmm.importance.energies_from_line_norms`)."""
    if order.statistic == "fro":
        a_norms, b_norms = order.a_line_stats, order.b_line_stats
    else:
        a_norms, b_norms = _line_stats(A, B, layout.kind, "fro")
        a_norms, b_norms = a_norms[order.a_perm], b_norms[order.b_perm]
    return energies_from_line_norms(a_norms, b_norms, layout.partition)


def _prior_gram(plan: LeanPlanner, A: torch.Tensor, B: torch.Tensor, layout: _Layout,
                order: ImportanceOrder) -> np.ndarray | None:
    """LMMSE's prior Gram matrix for ``JobSpec.prior`` (``None``: the diagonal prior), as the engine's
    :func:`uepmm.planning.plan_from_order` forms it: :func:`uepmm.prior.prior_gram` on the blocks of the
    importance-ordered operands (numpy views of CPU tensors; a host copy from other devices).  A probe
    costs ``2 q`` matrix-vector products per block (``q = JobSpec.probes``), no block product."""
    config = plan.config
    if config.prior == "diagonal":
        return None
    to_np = lambda t: t.detach().cpu().numpy()  # noqa: E731 (no copy for a CPU tensor)
    a_perm, b_perm = (order.a_perm, order.b_perm) if plan.reorder else (None, None)
    partition = layout.partition
    a_blocks, b_blocks = partition.a_blocks(to_np(A), a_perm), partition.b_blocks(to_np(B), b_perm)
    pairs = [partition.factors(k) for k in range(layout.K)]
    return prior_gram(config.prior, a_blocks, b_blocks, pairs, config.probes, config.probe_seed)[0]


def _count_for(weights: np.ndarray, K: int) -> int:
    """What :func:`_assemble`'s shortcuts read: 0 (all weights 0), ``K`` (all 1), else 1."""
    if not weights.any():
        return 0
    return K if np.all(weights == 1.0) else 1


def _mix_blocks(A, B, layout, M, order, track_loss):
    """r×c ``C_hat`` with block ``k = sum_j M[k, j] P_j``: the blocks of the exact ``A @ B`` in
    importance order, zero-padded to one shape (as the engine pads them), mixed, and read back
    in the original order -- four row/column gathers and one small matrix product."""
    rows_n, cols_p = layout.grid
    exact = _mm(A, B)
    U, Q = exact.shape
    (a_starts, a_sizes), (b_starts, b_sizes) = layout.partition.factor_blocks
    u_max, q_max = int(a_sizes.max()), int(b_sizes.max())
    row_idx, row_pos = _padded_lines(order.a_perm, a_starts, a_sizes, u_max, U)
    col_idx, col_pos = _padded_lines(order.b_perm, b_starts, b_sizes, q_max, Q)
    padded = torch.nn.functional.pad(exact, (0, 1, 0, 1))  # line U / Q is the zero padding
    blocks = padded.index_select(0, _to_index(row_idx, A)).index_select(1, _to_index(col_idx, A))
    blocks = blocks.reshape(rows_n, u_max, cols_p, q_max).transpose(1, 2).reshape(rows_n * cols_p, u_max * q_max)
    mixed = _to(torch.from_numpy(M), A) @ blocks
    mixed = mixed.reshape(rows_n, cols_p, u_max, q_max).transpose(1, 2).reshape(rows_n * u_max, cols_p * q_max)
    estimate = mixed.index_select(0, _to_index(row_pos, A)).index_select(1, _to_index(col_pos, A))
    return estimate, (_ratio(exact - estimate, exact) if track_loss else math.nan)


def _padded_lines(perm, starts, sizes, width, pad) -> tuple[np.ndarray, np.ndarray]:
    """``index``: the original line at every padded position (``pad`` for padding), block by
    block in importance order; ``position``: where every original line sits in that layout."""
    index = np.full((sizes.size, width), pad, dtype=np.int64)
    position = np.empty(perm.size, dtype=np.int64)
    for n, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist())):
        lines = perm[start : start + size]
        index[n, :size] = lines
        position[lines] = n * width + np.arange(size)
    return index.ravel(), position


@lru_cache(maxsize=4096)
def _class_table(ranking: bytes, counts: tuple[int, ...]) -> ClassTable:
    """:func:`uepmm.importance.classes_by_rank` for sub-products already ranked (``ranking``:
    the bytes of the ``intp`` order, best first; cached, as a layer sees few rankings)."""
    position = np.argsort(np.frombuffer(ranking, dtype=np.intp))
    return classes_by_rank(-position.astype(np.float64), counts)


def _recover(plan: LeanPlanner, encoding, arrivals: np.ndarray) -> np.ndarray:
    """What the packets of ``arrivals`` (in arrival order) determine (:meth:`~uepmm.codes.Code.recovered_from`).

    When every row is a unit vector (uncoded and repetition codes, ``plan.unit_rows``) the
    recovered set is the union of the supports (``e_k`` is in the span of unit vectors
    iff it is one of them), which needs no factorisation.
    """
    if plan.unit_rows:
        return (encoding.generator[arrivals] != 0).any(axis=0)
    return plan.code.recovered_from(encoding, arrivals)


def _mm(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``A @ B``; when ``A`` is a transposed view (eq. 27's ``X^T``) as ``(B^T A^T)^T``, which
    is what torch's own linear backward computes and is faster on CPU."""
    if not A.is_contiguous() and A.t().is_contiguous():
        return (B.t() @ A.t()).t()
    return A @ B


def _assemble(
    A: torch.Tensor,
    B: torch.Tensor,
    layout: _Layout,
    recovered: np.ndarray,
    n_recovered: int,
    a_perm: np.ndarray | None,
    b_perm: np.ndarray | None,
    track_loss: bool,
) -> tuple[torch.Tensor, float]:
    if n_recovered == 0:
        estimate = A.new_zeros((A.shape[0], B.shape[1]))
        return estimate, (_ratio(_mm(A, B), None) if track_loss else math.nan)
    if n_recovered == layout.K:
        return _mm(A, B), (0.0 if track_loss else math.nan)
    if layout.kind == "rxc":
        rows, cols = layout.grid
        row_of, col_of = layout.a_ids, layout.b_ids
        if a_perm is not None:  # original row a_perm[j] sits at sorted position j
            row_of = np.empty_like(row_of)
            row_of[a_perm] = layout.a_ids
            col_of = np.empty_like(col_of)
            col_of[b_perm] = layout.b_ids
        exact = _mm(A, B)
        grid = recovered.reshape(rows, cols)
        transposed = not exact.is_contiguous()  # (B^T A^T)^T: build the mask transposed
        mask = _block_mask(grid.T, col_of, row_of, A) if transposed else _block_mask(grid, row_of, col_of, A)
        target = exact.t() if transposed else exact
        estimate = target * mask if track_loss else target.mul_(mask)
        if transposed:
            estimate = estimate.t()
        return estimate, (_ratio(exact - estimate, exact) if track_loss else math.nan)
    block_of = layout.a_ids
    if a_perm is not None:
        block_of = np.empty_like(block_of)
        block_of[a_perm] = layout.a_ids
    keep = _to(torch.from_numpy(recovered[block_of].astype(_NUMPY_DTYPE.get(A.dtype, np.float64))), A)
    # (A diag(keep)) B: scale whichever operand is smaller
    if A.numel() <= B.numel():
        estimate = _mm(A * keep, B)
    else:
        estimate = _mm(A, B * keep[:, None])
    if not track_loss:
        return estimate, math.nan
    exact = _mm(A, B)
    return estimate, _ratio(exact - estimate, exact)


def _block_mask(
    grid: np.ndarray, row_of: np.ndarray, col_of: np.ndarray, like: torch.Tensor, on_host: bool | None = None
) -> torch.Tensor:
    """``mask[i, j] = grid[row_of[i], col_of[j]]`` as a tensor like ``like``: a row gather of
    the thin table ``grid[:, col_of]`` (numpy on the host for CPU tensors, on the device
    otherwise, so that only the table and the row indices travel)."""
    table = np.take(grid.astype(_NUMPY_DTYPE.get(like.dtype, np.float64)), col_of, axis=1)  # (blocks, lines)
    if like.device.type == "cpu" if on_host is None else on_host:
        return _to(torch.from_numpy(np.take(table, row_of, axis=0)), like)
    return torch.index_select(_to(torch.from_numpy(table), like), 0, _to_index(row_of, like))


def _to(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if t.device == like.device and t.dtype == like.dtype:
        return t
    return t.to(device=like.device, dtype=like.dtype)


def _to_index(ids: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    t = torch.from_numpy(ids)
    return t if t.device == like.device else t.to(like.device)


def _ratio(missing: torch.Tensor, exact: torch.Tensor | None) -> float:
    """``||missing||^2 / ||exact||^2`` (``exact=None``: ``missing`` is the whole product)."""
    num = float(torch.sum(missing.double() ** 2))
    den = num if exact is None else float(torch.sum(exact.double() ** 2))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den
