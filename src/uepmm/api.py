"""``coded_matmul``: the whole pipeline, and the :class:`Result` it returns.

    A, B ──importance order──> permuted A, B ──partition──> blocks ──classes──> code
         ──> job ──backend──> packets in arrival order ──decoder──> C_hat, report
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import planning
from ._validation import as_matrix, is_dask_array
from .backends import make_backend
from .codes import Encoding
from .decoders import DecodeContext, decoder_for_code
from .importance import ClassTable, ImportanceOrder
from .loss import BlockLoss
from .partition import Partition
from .planning import JobPlan, _spec_from
from .planning import needs_energies as needs_energies  # moved to planning.py; still importable here
from .planning import plan_from_order as plan_from_order
from .recommend import auto_base, is_auto, plan_auto
from .scheme import Scheme, get_scheme
from .spec import ENCODINGS, JobSpec
from .streams import SeedLike

__all__ = ["coded_matmul", "Result", "TimelineEntry", "Progress", "plan_job", "JobPlan", "JobSpec", "ENCODINGS"]


@dataclass(frozen=True)
class TimelineEntry:
    """The state right after one packet arrived.

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=2, workers=2,
    ...                          latency=uepmm.Schedule((0.5, 2.0)), omega=1.0, seed=0,
    ...                          decoder="zero", track_loss=True)
    >>> [(e.time, e.worker, e.received, e.recovered) for e in res.timeline]
    [(0.5, 0, 1, 1), (2.0, 1, 2, 2)]
    >>> res.timeline[-1].loss == 0.0
    True
    """

    time: float
    worker: int
    received: int
    recovered: int
    loss: float = math.nan  # normalized loss, when tracked


@dataclass(frozen=True)
class Progress:
    """Handed to ``on_packet`` after every packet: the entry and a way to build ``C_hat`` now.

    Examples
    --------
    ``on_packet`` sees the state after every packet and can build the estimate so far:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> seen = []
    >>> res = uepmm.coded_matmul(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0,
    ...                          on_packet=seen.append)
    >>> [p.entry.received for p in seen]
    [1, 2]
    >>> bool(np.allclose(seen[-1].estimate(), A @ B))
    True
    """

    entry: TimelineEntry
    recovered: np.ndarray
    estimate: Callable[[], np.ndarray]  # a lazy dask.array for dask.array inputs


@dataclass
class Result:
    """What ``coded_matmul`` returns.

    ``recovered[k]`` refers to sub-product ``k`` of ``partition`` (after the importance
    permutation); ``classes`` gives each one's class; ``estimate`` is ``C_hat`` in the
    original row/column order.  ``report`` has, besides the backend's own entries,
    ``condition_number`` (``σ_max / σ_min`` of the received coefficient rows, when every
    sub-product was recovered) and, with ``cost="work"`` or the Dask backend, ``packet_work``
    (the model's block products per worker, next to Dask's measured ``compute_seconds``).
    With ``dask.array`` inputs ``estimate`` is a ``dask.array`` on ``client``'s cluster, and
    :meth:`loss` / :meth:`normalized_loss` are computed there (docs/distributed.md).

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=2, workers=2,
    ...                          latency=uepmm.Schedule((0.5, 2.0)), omega=1.0, deadline=1.0,
    ...                          decoder="zero", reorder=False, seed=0)
    >>> res.received, res.estimate.shape
    (1, (6, 5))
    >>> C = A @ B
    >>> bool(np.isclose(res.loss(C), np.sum((C - A[:, :2] @ B[:2]) ** 2)))
    True
    >>> sorted(res.recovered_by_class().tolist())  # two classes of one block each, one recovered
    [0.0, 1.0]
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
    client: Any = field(default=None, repr=False, compare=False)  # where a dask.array estimate lives

    def loss(self, C: np.ndarray) -> float:
        """``||C - C_hat||_F^2`` (paper eq. 2)."""
        if is_dask_array(C) or is_dask_array(self.estimate):  # summed on the cluster: two floats come back
            from .backends._dask_arrays import cluster_losses

            return cluster_losses(C, self.estimate, self.client)[0]
        C = as_matrix(C, "C")  # a sparse C (A @ B of sparse factors) is densified
        if C.shape != self.estimate.shape:
            raise ValueError(f"C has shape {C.shape} but the estimate has shape {self.estimate.shape}; pass A @ B")
        return float(np.sum((C - self.estimate) ** 2, dtype=np.float64))

    def normalized_loss(self, C: np.ndarray) -> float:
        """``||C - C_hat||_F^2 / ||C||_F^2`` (0 when ``C`` is all zero and exactly recovered)."""
        if is_dask_array(C) or is_dask_array(self.estimate):
            from .backends._dask_arrays import cluster_losses

            loss, total = cluster_losses(C, self.estimate, self.client)
        else:
            C = as_matrix(C, "C")
            loss = self.loss(C)
            total = float(np.sum(np.asarray(C, dtype=np.float64) ** 2))
        if total == 0.0:
            return 0.0 if loss == 0.0 else math.inf
        return loss / total

    def recovered_by_class(self) -> np.ndarray:
        """Fraction of each class's sub-products that were recovered."""
        cls = self.classes.as_array()
        return np.bincount(cls, weights=self.recovered, minlength=self.classes.num_classes) / np.bincount(cls)


def plan_job(
    A: np.ndarray, B: np.ndarray, spec: JobSpec | None = None, *, seed: SeedLike = None,
    scheme: str | Scheme | None = None, **settings: Any,
) -> JobPlan:
    """Importance order, partition, class table and the one draw (:func:`uepmm.planning.plan_job`).

    ``spec`` is a :class:`JobSpec`; ``settings`` are its fields (they override ``spec``'s);
    ``scheme`` as in :func:`coded_matmul` (``"auto"``: :func:`uepmm.recommend.plan_auto`, and
    ``plan.choice`` holds the ranking).

    Examples
    --------
    The same seed gives the same stragglers whatever the code; ``scheme="auto"`` plans the
    scheme with the least predicted loss at the deadline:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> mds = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0)
    >>> ew = uepmm.plan_job(A, B, code="ew", gamma=(0.5, 0.5), partition="cxr", blocks=2, workers=3, seed=0)
    >>> bool(np.array_equal(mds.job.times, ew.job.times))
    True
    >>> auto = uepmm.plan_job(A, B, scheme="auto", partition="cxr", blocks=2, workers=4, deadline=1.0, seed=0)
    >>> auto.choice.best.scheme.name in uepmm.SCHEMES
    True
    """
    if is_auto(scheme):
        return plan_auto(A, B, spec, seed=seed, **settings)
    return planning.plan_job(A, B, spec, seed=seed, scheme=scheme, **settings)


def coded_matmul(
    A: np.ndarray,
    B: np.ndarray,
    spec: JobSpec | None = None,
    *,
    seed: SeedLike = None,
    track_loss: bool = False,
    on_packet: Callable[[Progress], None] | None = None,
    scheme: str | Scheme | None = None,
    **settings: Any,
) -> Result:
    """Approximate ``A @ B`` by the deadline with a (UEP) coded distributed computation.

    Parameters
    ----------
    A, B : array_like
        The factors (numpy arrays, scipy sparse matrices, or ``dask.array`` s with
        ``backend="dask"``).
    spec : JobSpec, optional
        The job's settings; ``settings`` are its fields, which override ``spec``'s:
        ``code``, ``partition``, ``blocks``, ``workers``, ``deadline``, ``latency``, ``gamma``,
        ``copies``, ``classes``, ``class_counts``, ``statistic``, ``reorder``, ``omega``,
        ``encoding``, ``fidelity``, ``backend``, ``decoder``, ``cost``, ``adaptive`` (see :class:`JobSpec`).
    seed : int, SeedSequence or Generator, optional
        Seeds the response times and the code (:mod:`uepmm.streams`): an int or
        ``SeedSequence`` is split into two independent streams (code, response times), so
        the same seed gives the same stragglers whatever the code; a numpy ``Generator`` is
        used as given: the response times first, then the code.
    track_loss : bool
        Record the normalized loss after every packet in ``timeline`` (costs the exact products).
    on_packet : callable, optional
        Called with a :class:`Progress` after every packet.
    scheme : str or Scheme, optional
        A scheme name (:data:`uepmm.SCHEMES`, e.g. ``"ew+"``) or a :class:`uepmm.Scheme`: its
        code, decoder, Γ, classes, encoding and task rule (:meth:`Scheme.spec`), ``spec`` the
        template and ``settings`` the job (``workers`` is the ``W`` it is given).  A setting the
        scheme fixes must agree with it (``scheme="ew+", decoder="zero"`` is a ``ValueError``);
        ``report["scheme"]`` names it.  ``scheme="auto"`` runs the scheme with the least loss
        predicted at the deadline from the matrices' statistics (:mod:`uepmm.recommend`; needs
        ``workers >= 2`` and a deadline ``> 0``; code, decoder, gamma and copies are its to choose):
        ``report["scheme"]`` names the one chosen and ``report["auto"]`` has its settings (code,
        decoder, Γ, class sizes) and every candidate's predicted loss.
    **settings
        :class:`JobSpec` fields; other keywords go to the backend (``client``, ``address``,
        ``time_unit`` for Dask).

    Returns
    -------
    Result
        The estimate, what was recovered, the timeline and a report.

    Notes
    -----
    With ``backend="dask"``, ``A`` and ``B`` may be ``dask.array`` s: they stay on the cluster
    and the estimate is a ``dask.array`` there (docs/distributed.md, "Data that lives on the cluster").

    Examples
    --------
    With every worker waited for, an MDS code with at least ``K`` workers returns ``C``:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((60, 40)), rng.standard_normal((40, 50))
    >>> res = uepmm.coded_matmul(A, B, code="mds", partition="cxr", blocks=4, workers=8, seed=0)
    >>> bool(res.recovered.all()), bool(np.allclose(res.estimate, A @ B))
    (True, True)

    At a deadline only the packets that arrived count.  Two uncoded workers, one answering
    at 0.5 and one at 2.0, stopped at 1.0 with the paper's zero-fill decoder: the estimate is
    the first block product alone.

    >>> res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=2, workers=2,
    ...                          latency=uepmm.Schedule((0.5, 2.0)), omega=1.0, deadline=1.0,
    ...                          decoder="zero", reorder=False, seed=0)
    >>> res.received, res.recovered.tolist()
    (1, [True, False])
    >>> bool(np.allclose(res.estimate, A[:, :20] @ B[:20]))
    True
    >>> 0 < res.normalized_loss(A @ B) < 1
    True
    """
    if not isinstance(track_loss, bool):
        raise TypeError(f"track_loss must be True or False, got {track_loss!r}")
    if on_packet is not None and not callable(on_packet):
        raise TypeError(f"on_packet must be a callable taking a uepmm.Progress, got {on_packet!r}")
    t0 = _time.perf_counter()
    auto = is_auto(scheme)
    if auto:
        spec, backend_options = auto_base(spec, dict(settings))
    else:
        spec, backend_options = _spec_from(spec, dict(settings), scheme)
    if isinstance(spec.backend, str) and spec.backend == "simulated" and backend_options:
        raise TypeError(
            f"backend 'simulated' takes no options {sorted(backend_options)}: client/address/time_unit are for "
            f"backend='dask', and the job settings are {list(JobSpec.field_names())}"
        )
    if auto and (is_dask_array(A) or is_dask_array(B)):
        raise ValueError("scheme='auto' reads the line norms of numpy or scipy factors; with dask.array inputs "
                         "name a scheme (uepmm recommend ranks them on a sample of your data)")
    if is_dask_array(A) or is_dask_array(B):  # the data stays on the cluster
        from .backends._dask_arrays import plan_on_cluster

        plan, runner = plan_on_cluster(A, B, spec, seed, backend_options, track_loss)
    else:
        plan = plan_auto(A, B, spec, seed=seed) if auto else planning.plan_job(A, B, spec, seed=seed)
        runner = make_backend(spec.backend, spec.fidelity, **backend_options)
    t_plan = _time.perf_counter() - t0
    result = _execute(plan, runner, track_loss, on_packet, t_plan)
    if auto:
        result.report["scheme"] = plan.choice.best.scheme.name
        result.report["auto"] = plan.choice.report()
    elif scheme is not None:
        result.report["scheme"] = get_scheme(scheme).name
    return result


def _execute(plan: JobPlan, runner: Any, track_loss: bool, on_packet, t_plan: float) -> Result:
    job, layout, spec = plan.job, plan.job.partition, plan.spec
    exact = layout.block_products(job.a_blocks, job.b_blocks) if (spec.fidelity == "fast" or track_loss) else None
    pricing = BlockLoss(layout, exact) if track_loss else None
    decoder = decoder_for_code(plan.code, spec.decoder_object)  # the scheme's own, if it defines C_hat
    selects = decoder.selects_exact_blocks
    if track_loss and not selects:  # the loss of the decoder's own estimate: C itself is needed
        C = plan.order.assemble(layout, list(exact), dtype=np.float64)
        C_energy = float(np.sum(C**2))
    context = DecodeContext(
        layout, plan.order, plan.dtype, job.capacity, plan.classes, plan.scores,
        exact if spec.fidelity == "fast" else None, plan.energies, plan.code, plan.gram, spec=spec,
    )
    cluster = plan.cluster
    session = decoder.start(context) if cluster is None else cluster.start(decoder, context)

    timeline: list[TimelineEntry] = []
    erasures: list[dict[str, Any]] = []
    decode_seconds = 0.0
    received = 0
    arrived: list[np.ndarray] = []  # the rows of the packets received
    for packet in runner.packets(job):
        if packet.status != "ok":
            erasures.append({"worker": packet.worker, "time": packet.time, "status": packet.status})
            continue
        received += 1
        row = job.encoding.generator[packet.worker] if packet.row is None else packet.row
        arrived.append(row)
        t1 = _time.perf_counter()
        session.add(row, packet.payload, worker=packet.worker)
        decode_seconds += _time.perf_counter() - t1
        loss = math.nan
        if pricing is not None:
            if selects:
                loss = float(pricing.normalized(session.recovered))
            else:
                missing = float(np.sum((C - session.estimate()) ** 2))
                loss = missing / C_energy if C_energy > 0 else (0.0 if missing == 0 else math.inf)
        entry = TimelineEntry(packet.time, packet.worker, received, int(session.recovered.sum()), loss)
        timeline.append(entry)
        if on_packet is not None:
            on_packet(Progress(entry, session.recovered.copy(), session.estimate))
        if session.complete:
            break  # C is complete: the parameter server stops waiting (the backend cancels the rest)
    t2 = _time.perf_counter()
    result_estimate = session.estimate() if cluster is None else cluster.finish(session)
    report = {
        "backend": getattr(runner, "name", type(runner).__name__),
        "fidelity": spec.fidelity,
        "decoder": decoder.name,
        "gamma": getattr(plan.code, "gamma", None),
        "omega": job.omega,
        "deadline": job.deadline,
        "workers": job.workers if job.packet_workers is None else spec.workers,
        "erasures": erasures,
        "plan_seconds": t_plan,
        "decode_seconds": decode_seconds + (_time.perf_counter() - t2),
    }
    report.update(getattr(runner, "last_report", {}) or {})
    if spec.prior != "diagonal" and decoder.needs_energies:  # which prior LMMSE used, and why
        report["prior"] = "diagonal" if plan.gram is None else ("probe" if spec.prior == "auto" else spec.prior)
        report["prior_correlation"] = plan.prior_correlation
    if decoder is not spec.decoder_object:  # decoder= was ignored: the scheme defines the estimate
        report["decoder_requested"] = spec.decoder_object.name
    solved = getattr(session, "condition_number", None)  # a scheme-owned decoder reports its own system
    if solved is not None:
        report["condition_number"] = solved
    elif session.complete:  # the conditioning of the system the decoder solved (received rows, K columns)
        report["condition_number"] = _condition_number(np.array(arrived).reshape(len(arrived), -1))
    if spec.cost == "work" or report["backend"] == "dask":  # the model's work next to measured compute seconds
        report["cost"] = spec.cost
        report["packet_work"] = plan.code.packet_work(job.encoding, layout).tolist()
    return Result(
        estimate=result_estimate,
        recovered=session.recovered.copy(),
        received=received,
        timeline=timeline,
        classes=plan.classes,
        partition=layout,
        encoding=job.encoding,
        order=plan.order,
        report=report,
        client=None if cluster is None else cluster.client,
    )


def _condition_number(rows: np.ndarray) -> float:
    """``σ_max / σ_min`` of the received rows (``inf`` when they do not have full column rank)."""
    if rows.shape[0] < rows.shape[1]:
        return math.inf
    sv = np.linalg.svd(rows, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
