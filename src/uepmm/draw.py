"""One draw of a job: the response times, then the code's coefficient rows.

With ``cost="work"`` a worker whose packet costs ``s`` block products answers after the sum
of ``s`` i.i.d. draws of the latency model (per unit of work), scaled by ``1/Ω``.  The unit
times are drawn first, as an ``(s_max, W)`` array (:func:`draw_unit_times`; ``s_max`` the
most work any packet of the layout can cost: ``M`` in c×r, ``min(N, P)`` in r×c, 1 in the
factor form), then the code, then the two are combined (:func:`response_times`).  Row 0 of
the unit times is exactly the ``cost="equal"`` draw, so a packet of work 1 keeps its time.

:func:`draw_job` is the one place a job's randomness is drawn, for :func:`uepmm.plan_job`
(hence :func:`uepmm.coded_matmul` on every backend), the figure Monte Carlo and the lean
training path.  The streams come from :func:`uepmm.streams.job_streams`; with one
``Generator`` the times are drawn first, then the code (docs/design.md, "Streams").
The two halves are public too (:func:`draw_response_times`, :func:`draw_encoding`) for
the training path, which skips the code draw when no packet arrives by the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .adaptive import LivePackets, PacketRule, adaptive_packets
from .codes import Code, Encoding, to_factor_form
from .importance import ClassTable
from .partition import Partition, make_partition
from .spec import JobSpec
from .streams import JobStreams, SeedLike, job_streams

__all__ = [
    "JobDraw", "draw_job", "draw_response_times", "draw_encoding", "draw_unit_times", "response_times",
    "packet_work", "max_packet_work",
]


@dataclass(frozen=True)
class JobDraw:
    """The random part of a job: each worker's response time and coefficient row.

    Examples
    --------
    >>> import uepmm
    >>> spec = uepmm.JobSpec(code="uncoded", partition="cxr", blocks=3, workers=3)
    >>> drawn = uepmm.draw_job(spec, seed=0)
    >>> drawn.times.shape, drawn.encoding.generator.tolist()
    ((3,), [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    """

    times: np.ndarray  # (W,), in the latency model's unit
    encoding: Encoding
    work: np.ndarray | None = None  # (W,) block products per packet (cost="work" only)
    copy_times: np.ndarray | None = None  # (K, W) copy j of worker w lasts [j, w] (Code.backup_copies only)
    #: adaptive packets (``JobSpec.adaptive``): the worker of each packet (row); ``None``: row ``w`` is worker ``w``
    packet_workers: np.ndarray | None = None
    #: adaptive packets chosen while the job runs (Dask): the rule and its stream
    live: LivePackets | None = None

    @property
    def generator(self) -> np.ndarray:
        """The ``(W, K)`` coefficient rows."""
        return self.encoding.generator


def draw_response_times(spec: JobSpec, rng: np.random.Generator) -> np.ndarray:
    """Every worker's response time ``X / Ω`` (zeros without a latency model), ``cost="equal"``.

    With ``cost="work"`` the times depend on the code's rows: use :func:`draw_unit_times`,
    then :func:`response_times` with :func:`packet_work` (what :func:`draw_job` does).
    """
    if spec.cost != "equal":
        raise ValueError(
            f"cost={spec.cost!r}: the response times depend on the packets' work; use draw_job, or "
            f"draw_unit_times then response_times(spec, units, packet_work(...))"
        )
    return response_times(spec, draw_unit_times(spec, rng))


def max_packet_work(spec: JobSpec) -> int:
    """The most block products one packet of this layout can cost: ``M`` (c×r), ``min(N, P)``
    (r×c), 1 for the factor form (and for ``cost="equal"``, where work does not enter the times)."""
    if spec.cost == "equal" or spec.encoding == "factor":
        return 1
    rows, cols = spec.grid
    return rows if spec.partition == "cxr" else min(rows, cols)


def draw_unit_times(spec: JobSpec, rng: np.random.Generator, code: Code | None = None) -> np.ndarray:
    """Unscaled per-unit times ``(s_max, W)`` (:func:`max_packet_work`, or the rows the code's own
    rule needs, :meth:`uepmm.codes.Code.unit_rows`); row ``j`` holds every worker's ``j``-th unit,
    drawn in that order, so row 0 is the ``cost="equal"`` draw.
    Zeros without a latency model (nothing is drawn)."""
    s_max = (code or spec.code_object).unit_rows(spec.num_products, max_packet_work(spec))
    if spec.latency is None:
        return np.zeros((s_max, spec.workers))
    return spec.latency.sample(rng, s_max * spec.workers).reshape(s_max, spec.workers)


def response_times(
    spec: JobSpec, units: np.ndarray, work: np.ndarray | None = None, code: Code | None = None
) -> np.ndarray:
    """Response times ``(W,)`` from the unit times: the code's own rule where it has one
    (:meth:`uepmm.codes.Code.response_times`, speculative copies); else ``cost="equal"`` row 0
    over ``Ω``, ``cost="work"`` the sum of each worker's first ``work[w]`` units over ``Ω``."""
    own = (code or spec.code_object).response_times(units, spec.omega_value)
    if own is not None:
        return own
    if spec.cost == "equal":
        return units[0] / spec.omega_value
    if work is None:
        raise ValueError("cost='work' needs each packet's work (packet_work)")
    work = np.asarray(work)
    s = np.rint(work).astype(np.int64)
    if np.any(s < 1) or np.any(s > units.shape[0]) or np.any(s != work):
        raise ValueError(
            f"packet work must be whole block products in 1..{units.shape[0]} for this layout, got {work.tolist()}"
        )
    taken = np.arange(units.shape[0])[:, None] < s[None, :]
    return np.where(taken, units, 0.0).sum(axis=0) / spec.omega_value


def packet_work(spec: JobSpec, encoding: Encoding, partition: Partition | None = None, code: Code | None = None):
    """Block products per packet, ``(W,)`` (:meth:`uepmm.codes.Code.packet_work`); ``partition``
    defaults to a stand-in with the spec's grid (the work depends only on the layout's shape)."""
    return (code or spec.code_object).packet_work(encoding, _layout(spec, partition))


def _layout(spec: JobSpec, partition: Partition | None) -> Partition:
    """``partition``, or a stand-in with the spec's grid (work and windows depend only on the layout's shape)."""
    if partition is not None:
        return partition
    rows, cols = spec.grid
    a_shape, b_shape = ((rows, 1), (1, cols)) if spec.partition == "rxc" else ((1, rows), (rows, 1))
    return make_partition(a_shape, b_shape, spec.partition, spec.blocks)


def draw_encoding(
    spec: JobSpec,
    classes: ClassTable,
    rng: np.random.Generator,
    partition: Partition | None = None,
    code: Code | None = None,
) -> Encoding:
    """The code's coefficient rows for ``classes`` (eq. 11's factor form re-drawn from the
    same stream when ``spec.encoding == "factor"``, which needs the ``partition``).
    ``code`` replaces the spec's (``gamma="auto"``: the code with the designed ``Γ``)."""
    encoding = (code or spec.code_object).encode(classes, spec.workers, rng)
    if spec.encoding == "factor" and encoding.factors is None:
        if partition is None:
            raise ValueError("encoding='factor' needs the partition to check its windows; pass partition=")
        encoding = to_factor_form(encoding, partition, rng)
    return encoding


def draw_job(
    spec: JobSpec,
    classes: ClassTable | None = None,
    seed: SeedLike | JobStreams = None,
    partition: Partition | None = None,
    code: Code | None = None,
) -> JobDraw:
    """Response times, then coefficient rows, from ``seed`` (``classes`` default: the spec's).

    ``seed`` is anything :func:`uepmm.streams.job_streams` takes, or streams already made.
    The unit times are drawn first (from the times stream), then the code (from the code
    stream; the same stream for a ``Generator``), then combined with the packets' work
    when ``spec.cost == "work"``.  ``cost="equal"`` draws exactly what it always drew.
    With ``spec.adaptive`` the workers' later packets follow (:func:`uepmm.adaptive.adaptive_packets`,
    from the ``adaptive`` stream, up to ``spec.deadline``): one row and one time per packet.  On Dask
    (``spec.live_adaptive``) the job keeps its ``W`` rows and carries the rule instead
    (:class:`uepmm.adaptive.LivePackets`), which the backend runs on what arrives.

    Examples
    --------
    Two codes drawn from one seed see the same stragglers:

    >>> import numpy as np, uepmm
    >>> spec = uepmm.JobSpec(code="mds", partition="cxr", blocks=3, workers=5, deadline=1.0)
    >>> mds = uepmm.draw_job(spec, seed=0)
    >>> ew = uepmm.draw_job(spec.with_(code="ew"), uepmm.ClassTable((0, 1, 2)), seed=0)
    >>> bool(np.array_equal(mds.times, ew.times))
    True
    >>> mds.encoding.generator.shape  # one row of K = 3 coefficients per worker
    (5, 3)
    """
    streams = seed if isinstance(seed, JobStreams) else job_streams(seed)
    classes = spec.uniform_classes if classes is None else classes
    units = draw_unit_times(spec, streams.times, code)
    encoding = draw_encoding(spec, classes, streams.code, partition, code)
    copies = units / spec.omega_value if (code or spec.code_object).backup_copies else None
    if spec.cost == "equal":
        drawn = JobDraw(response_times(spec, units, code=code), encoding, copy_times=copies)
    else:
        work = packet_work(spec, encoding, partition, code)
        drawn = JobDraw(response_times(spec, units, work, code), encoding, work, copies)
    if not spec.adaptive:
        return drawn
    if spec.live_adaptive:  # Dask: the rule runs while the job runs, on what arrived
        layout = _layout(spec, partition)
        rule = PacketRule(code or spec.code_object, classes, layout, spec.encoding == "factor")
        K = classes.num_products
        limit = 2 * (spec.workers + K)  # the decoder's capacity: rows received, erasures aside
        return JobDraw(drawn.times, drawn.encoding, drawn.work, None, None, LivePackets(rule, streams.adaptive, limit))
    more = adaptive_packets(
        spec, code or spec.code_object, classes, encoding, drawn.times, _layout(spec, partition), units,
        streams.adaptive,
    )
    return JobDraw(more.times, more.encoding, more.work if spec.cost == "work" else None, None, more.workers)
