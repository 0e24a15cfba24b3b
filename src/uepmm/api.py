"""``coded_matmul``: the whole pipeline, and the :class:`Result` it returns.

    A, B ──importance order──> permuted A, B ──partition──> blocks ──classes──> code
         ──> job ──backend──> packets in arrival order ──decoder──> C_hat, report
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._validation import as_matrix, choice, positive_float, positive_int
from .backends import make_backend
from .backends.simulated import FIDELITIES
from .codes import Code, Encoding, make_code, to_factor_form
from .decoding import ProgressiveDecoder, RecoveryTracker
from .importance import (
    STATISTICS,
    ClassTable,
    ImportanceOrder,
    classes_by_rank,
    equal_counts,
    importance_order,
    product_scores_from_order,
)
from .job import Job
from .latency import Exponential, LatencyModel, paper_omega
from .loss import BlockLoss
from .partition import Partition, make_partition

__all__ = ["coded_matmul", "Result", "TimelineEntry", "Progress", "plan_job", "ENCODINGS"]

ENCODINGS = ("direct", "factor")
DEFAULT_CLASSES = 3


@dataclass(frozen=True)
class TimelineEntry:
    """The state right after one packet arrived."""

    time: float
    worker: int
    received: int
    recovered: int
    loss: float = math.nan  # normalized loss, when tracked


@dataclass(frozen=True)
class Progress:
    """Handed to ``on_packet`` after every packet: the entry and a way to build ``C_hat`` now."""

    entry: TimelineEntry
    recovered: np.ndarray
    estimate: Callable[[], np.ndarray]


@dataclass
class Result:
    """What ``coded_matmul`` returns.

    ``recovered[k]`` refers to sub-product ``k`` of ``partition`` (after the importance
    permutation); ``classes`` gives each one's class; ``estimate`` is ``C_hat`` in the
    original row/column order.
    """

    estimate: np.ndarray
    recovered: np.ndarray
    received: int
    timeline: list[TimelineEntry]
    classes: ClassTable
    partition: Partition
    encoding: Encoding
    order: ImportanceOrder
    report: dict[str, Any] = field(default_factory=dict)

    def loss(self, C: np.ndarray) -> float:
        """``||C - C_hat||_F^2`` (paper eq. 2)."""
        C = as_matrix(C, "C")
        if C.shape != self.estimate.shape:
            raise ValueError(f"C has shape {C.shape} but the estimate has shape {self.estimate.shape}; pass A @ B")
        return float(np.sum((C - self.estimate) ** 2, dtype=np.float64))

    def normalized_loss(self, C: np.ndarray) -> float:
        """``||C - C_hat||_F^2 / ||C||_F^2`` (0 when ``C`` is all zero and exactly recovered)."""
        loss = self.loss(C)
        total = float(np.sum(np.asarray(C, dtype=np.float64) ** 2))
        if total == 0.0:
            return 0.0 if loss == 0.0 else math.inf
        return loss / total

    def recovered_by_class(self) -> np.ndarray:
        """Fraction of each class's sub-products that were recovered."""
        cls = self.classes.as_array()
        return np.bincount(cls, weights=self.recovered, minlength=self.classes.num_classes) / np.bincount(cls)


@dataclass(frozen=True)
class _Plan:
    job: Job
    classes: ClassTable
    order: ImportanceOrder
    dtype: np.dtype  # of the product


def plan_job(
    A: np.ndarray,
    B: np.ndarray,
    *,
    code: str | Code = "ew",
    partition: str = "cxr",
    blocks: int | tuple[int, int] = 9,
    workers: int = 15,
    deadline: float = math.inf,
    latency: LatencyModel | None = Exponential(1.0),
    gamma: Sequence[float] | None = None,
    copies: int | None = None,
    classes: ClassTable | Sequence[int] | None = None,
    class_counts: Sequence[int] | None = None,
    statistic: str = "fro",
    reorder: bool = True,
    omega: float | str = "paper",
    encoding: str = "direct",
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
) -> _Plan:
    """Validate everything and build the job (importance, partition, classes, code)."""
    A = as_matrix(A, "A")
    B = as_matrix(B, "B")
    kind = choice(partition, "partition", ("rxc", "cxr"))
    layout = make_partition(A.shape, B.shape, kind, blocks)
    K = layout.num_products
    workers = positive_int(workers, "workers")
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float, np.floating, np.integer)):
        raise TypeError(f"deadline must be a number (use float('inf') to wait for every worker), got {deadline!r}")
    deadline = positive_float(deadline, "deadline", allow_zero=True, allow_inf=True)
    if latency is not None and not isinstance(latency, LatencyModel):
        raise TypeError(
            f"latency must be a uepmm latency model such as uepmm.Exponential(rate=1.0), or None; got {latency!r}"
        )
    statistic = choice(statistic, "statistic", STATISTICS)
    encoding = choice(encoding, "encoding", ENCODINGS)
    if isinstance(omega, str):
        if omega != "paper":
            raise ValueError(f"omega must be a positive number or 'paper' (K / workers, Remark 1), got {omega!r}")
        omega_value = paper_omega(K, workers)
    else:
        omega_value = positive_float(omega, "omega")
    code_obj = make_code(code, gamma=gamma, copies=copies)

    order = importance_order(A, B, kind, statistic) if reorder else ImportanceOrder.identity(kind, A, B, statistic)
    class_table = _class_table(classes, class_counts, order, layout)

    drawn_times = latency_seed = None
    if isinstance(seed, np.random.Generator):
        # one stream, used as given: the response times first, then the code
        code_rng = seed
        if latency is not None:
            drawn_times = latency.sample_response(seed, workers, omega_value)
    else:
        try:
            seeds = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"seed must be a non-negative int (or a sequence of them), a numpy SeedSequence, a numpy "
                f"Generator or None; got {seed!r} ({exc})"
            ) from None
        code_seed, latency_seed = seeds.spawn(2)
        code_rng = np.random.default_rng(code_seed)
    enc = code_obj.encode(class_table, workers, code_rng)
    if encoding == "factor":
        enc = to_factor_form(enc, layout, code_rng)
    a_perm, b_perm = (order.a_perm, order.b_perm) if reorder else (None, None)
    a_blocks, b_blocks = layout.a_blocks(A, a_perm), layout.b_blocks(B, b_perm)
    job = Job(layout, a_blocks, b_blocks, enc, latency, omega_value, deadline, latency_seed, drawn_times)
    return _Plan(job, class_table, order, np.result_type(A, B))


def _class_table(
    classes: ClassTable | Sequence[int] | None,
    class_counts: Sequence[int] | None,
    order: ImportanceOrder,
    layout: Partition,
) -> ClassTable:
    K = layout.num_products
    if classes is not None and class_counts is not None:
        raise ValueError("give either classes (a class per sub-product) or class_counts (k_1..k_L), not both")
    if classes is not None:
        table = classes if isinstance(classes, ClassTable) else ClassTable(tuple(_int_list(classes, "classes")))
        if table.num_products != K:
            raise ValueError(
                f"classes names {table.num_products} sub-products but the partition has K = {K}; "
                f"give one class per sub-product"
            )
        return table
    counts = equal_counts(K, DEFAULT_CLASSES) if class_counts is None else class_counts
    return classes_by_rank(product_scores_from_order(order, layout), counts)


def _int_list(values: Sequence[int], name: str) -> list[int]:
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of integer class indices, got {values!r}") from None
    if any(o != v for o, v in zip(out, values)):
        raise TypeError(f"{name} must hold integers, got {values!r}")
    return out


def coded_matmul(
    A: np.ndarray,
    B: np.ndarray,
    *,
    code: str | Code = "ew",
    partition: str = "cxr",
    blocks: int | tuple[int, int] = 9,
    workers: int = 15,
    deadline: float = math.inf,
    latency: LatencyModel | None = Exponential(1.0),
    gamma: Sequence[float] | None = None,
    copies: int | None = None,
    classes: ClassTable | Sequence[int] | None = None,
    class_counts: Sequence[int] | None = None,
    statistic: str = "fro",
    reorder: bool = True,
    omega: float | str = "paper",
    encoding: str = "direct",
    fidelity: str = "full",
    backend: Any = "simulated",
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    track_loss: bool = False,
    on_packet: Callable[[Progress], None] | None = None,
    **backend_options: Any,
) -> Result:
    """Approximate ``A @ B`` by ``deadline`` with a (UEP) coded distributed computation.

    Parameters
    ----------
    code : ``"uncoded" | "repetition" | "mds" | "now" | "ew"`` or a :class:`~uepmm.codes.Code`.
    partition : ``"rxc"`` (eq. 3: row blocks of A times column blocks of B) or ``"cxr"`` (eq. 4).
    blocks : r×c: ``(N, P)`` or ``K = N*N``; c×r: ``M``.
    workers : ``W``, one coded task each.
    deadline : ``T_max`` in the latency model's time unit; ``inf`` waits for every worker.
    latency : response-time model (``None``: everyone answers at time 0).
    gamma : window selection probabilities for NOW/EW (default Table III for 3 classes).
    copies : copies per sub-product for repetition (default ``workers / K``).
    classes : explicit class of every sub-product (after the importance permutation), or
    class_counts : ``(k_1..k_L)`` filled by rank of ``||A_i|| ||B_j||`` (default: 3 near-equal classes).
    statistic : ``"fro"`` (Frobenius norm) or ``"mean_abs"`` (Sec. VII) for the importance order.
    reorder : permute rows/columns by descending magnitude before partitioning (Sec. VII-C).
    omega : response-time scaling ``F(Ω t)``; ``"paper"`` is ``K / W`` (Remark 1).
    encoding : ``"direct"`` (DESIGN.md §2) or ``"factor"`` (eq. 11; r×c rectangle windows only).
    fidelity : ``"full"`` (real packets, real decoding) or ``"fast"`` (rank-only recovery plus exact blocks).
    backend : ``"simulated"`` (embedded virtual clock) or ``"dask"``; ``backend_options`` go to it.
    seed : seeds the code and the response times; same seed, same outcome in both fidelities.
        An int or ``SeedSequence`` is split into two independent streams (code, response
        times), so the same seed gives the same stragglers whatever the code; a numpy
        ``Generator`` is used as given: the response times are drawn first, then the code.
    track_loss : record the normalized loss after every packet in ``timeline`` (costs the exact products).
    on_packet : called with a :class:`Progress` after every packet.
    """
    fidelity = choice(fidelity, "fidelity", FIDELITIES)
    if not isinstance(track_loss, bool):
        raise TypeError(f"track_loss must be True or False, got {track_loss!r}")
    if on_packet is not None and not callable(on_packet):
        raise TypeError(f"on_packet must be a callable taking a uepmm.Progress, got {on_packet!r}")
    t0 = _time.perf_counter()
    plan = plan_job(
        A, B, code=code, partition=partition, blocks=blocks, workers=workers, deadline=deadline,
        latency=latency, gamma=gamma, copies=copies, classes=classes, class_counts=class_counts,
        statistic=statistic, reorder=reorder, omega=omega, encoding=encoding, seed=seed,
    )
    runner = make_backend(backend, fidelity, **backend_options)
    t_plan = _time.perf_counter() - t0
    return _execute(plan, runner, fidelity, track_loss, on_packet, t_plan)


def _execute(plan: _Plan, runner: Any, fidelity: str, track_loss: bool, on_packet, t_plan: float) -> Result:
    job, layout = plan.job, plan.job.partition
    K = layout.num_products
    dtype = plan.dtype
    exact = layout.block_products(job.a_blocks, job.b_blocks) if (fidelity == "fast" or track_loss) else None
    pricing = BlockLoss(layout, exact) if track_loss else None
    if fidelity == "full":
        decoder = ProgressiveDecoder(K, layout.product_shape, job.workers, dtype, aggregate=layout.kind == "cxr")
        tracker = decoder.tracker
    else:
        decoder, tracker = None, RecoveryTracker(K)

    def products() -> list[np.ndarray | None]:
        if decoder is not None:
            return decoder.products
        return [exact[k] if tracker.recovered[k] else None for k in range(K)]

    def estimate() -> np.ndarray:
        if decoder is not None and decoder.aggregate:  # c×r: C_hat is the decoded sum itself
            return decoder.total.copy() if decoder.total is not None else np.zeros(layout.c_shape, dtype)
        return plan.order.assemble(layout, products(), dtype=dtype)

    timeline: list[TimelineEntry] = []
    erasures: list[dict[str, Any]] = []
    decode_seconds = 0.0
    received = 0
    for packet in runner.packets(job):
        if packet.status != "ok":
            erasures.append({"worker": packet.worker, "time": packet.time, "status": packet.status})
            continue
        received += 1
        row = job.encoding.generator[packet.worker]
        t1 = _time.perf_counter()
        if decoder is not None and packet.payload is not None:
            decoder.add(row, packet.payload)
        else:
            tracker.add(row)
        decode_seconds += _time.perf_counter() - t1
        loss = float(pricing.normalized(tracker.recovered)) if pricing is not None else math.nan
        entry = TimelineEntry(packet.time, packet.worker, received, int(tracker.recovered.sum()), loss)
        timeline.append(entry)
        if on_packet is not None:
            on_packet(Progress(entry, tracker.recovered.copy(), estimate))
        if tracker.recovered.all():
            break  # C is complete: the parameter server stops waiting (the backend cancels the rest)
    t2 = _time.perf_counter()
    result_estimate = estimate()
    report = {
        "backend": getattr(runner, "name", type(runner).__name__),
        "fidelity": fidelity,
        "omega": job.omega,
        "deadline": job.deadline,
        "workers": job.workers,
        "erasures": erasures,
        "plan_seconds": t_plan,
        "decode_seconds": decode_seconds + (_time.perf_counter() - t2),
    }
    report.update(getattr(runner, "last_report", {}) or {})
    return Result(
        estimate=result_estimate,
        recovered=tracker.recovered.copy(),
        received=received,
        timeline=timeline,
        classes=plan.classes,
        partition=layout,
        encoding=job.encoding,
        order=plan.order,
        report=report,
    )
