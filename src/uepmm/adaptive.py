"""Adaptive packets (``JobSpec.adaptive``): a worker that finishes before the deadline takes another packet.

An event simulation over one job's draw (:func:`uepmm.draw.draw_job` calls it; the simulated
backend and ``uepmm compare``'s fast path then deliver its packets in time order).  With the
``"copy"`` and ``"row"`` rules every worker's first packet is the one the job drew anyway (same
row, same response time), so the job receives everything the plain job receives, and more.  With
the ``"window"`` rule the first packets are chosen by the rule as well (at time 0 nothing is
recovered: the ``W`` workers are apportioned to the windows in proportion to ``Γ`` instead of
drawing windows independently), with the coefficients from the ``adaptive`` stream and the
response times from the job's unit draws (the same stragglers).

Events, in order of time (ties: the lower packet index first):

1. Packet ``p`` of worker ``w`` arrives at ``t``: the parameter server adds its row to the
   code's recovery decision (:meth:`uepmm.codes.Code.recovery_tracker`).  When everything is
   recovered the job is done and the packets still running are cancelled.
2. Every packet still running whose sub-products are all recovered now is useless: it is
   cancelled (it never arrives) and its worker is free at ``t``, like ``w``.
3. If ``t`` is before the deadline, the free workers, in worker order, each start a new packet
   chosen by the code's rule (:attr:`uepmm.codes.Code.adaptive_rule`) from what is recovered at ``t``:

   * ``"window"`` (NOW, EW, and any window code): among the open windows (those with a
     sub-product not yet recovered), the one with the largest ``Γ_l / (1 + r_l)``, ``r_l`` the
     packets of window ``l`` being computed now (ties: the lowest ``l``, the most important), then
     :meth:`~uepmm.codes.Code.adaptive_row` (fresh Gaussian coefficients on the window).  This is
     D'Hondt's apportionment: the running packets of the open windows stay in proportion to ``Γ``,
     the design's intent, and no worker is sent to a window other workers already cover more than
     their share.  For one-product windows it is the heaviest unrecovered window first, and with
     equal ``Γ`` speculation's fewest-running-copies rule.  A window with ``Γ_l = 0`` is chosen only
     when every open window has ``Γ_l = 0``, so an adaptive job with an infinite deadline always ends
     with everything recovered.  (Drawing the window from ``Γ`` renormalised over the open windows,
     the first rule tried, idles a worker when the open windows all have ``Γ_l = 0`` and sends
     workers to windows already covered: docs/comparison.md, "Adaptive packets and late speculation");
   * ``"row"`` (MDS): a fresh row of the same family (:meth:`~uepmm.codes.Code.adaptive_row`);
   * ``"copy"`` (uncoded, repetition): a copy of the longest-running unfinished task: among the
     sub-products not recovered, the fewest running copies, then the earliest start of its
     latest copy, then the lowest index (the rule of :class:`uepmm.codes.speculative.BackupRule`:
     this is speculation).

   With ``encoding="factor"`` the new row is re-drawn in eq. (11)'s factor form.  Its response
   time is a fresh draw of the latency model: one ``(s_max, W)`` block of unit times per new
   packet (as :func:`uepmm.draw.draw_unit_times` draws the first), of which worker ``w`` uses
   column ``w``: ``units[0, w] / Ω`` with ``cost="equal"``, the sum of its first ``s`` units
   over ``Ω`` with ``cost="work"`` (``s`` the packet's block products,
   :meth:`~uepmm.codes.Code.packet_work`).  With :class:`uepmm.Schedule` every packet of a
   worker thus takes the time its first packet of the same work took.

Every draw (coefficients, factor form, unit times, in that order per packet) comes
from the job's ``adaptive`` stream (:func:`uepmm.streams.job_streams`), so ``adaptive=False``
draws exactly what it always drew.  The packets depend only on what arrived before each event,
so the packets that arrive by ``t`` are the same whatever later deadline the simulation ran to.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .codes import Code, Encoding, to_factor_form
from .importance import ClassTable
from .partition import Partition
from .spec import JobSpec

__all__ = ["AdaptivePackets", "adaptive_packets", "PacketRule", "LivePackets"]


@dataclass(frozen=True)
class AdaptivePackets:
    """Every packet an adaptive job started: packet ``i`` is row ``i`` of ``encoding``.

    Rows ``0..W-1`` are the workers' first packets (worker ``w``'s is row ``w``).  ``times``:
    when packet ``i`` arrives (``inf``: cancelled, it never does); ``starts``: when it started;
    ``workers``: who computed it; ``work``: its block products.
    """

    encoding: Encoding
    times: np.ndarray
    starts: np.ndarray
    workers: np.ndarray
    work: np.ndarray


class PacketRule:
    """The code's next-packet rule (module docstring), over the packets started so far.

    One object per job, shared by the event simulation (:func:`adaptive_packets`) and the Dask
    backend's pull execution (:class:`LivePackets`), so both choose packets the same way.

    Examples
    --------
    MDS takes a fresh Gaussian row; uncoded copies the unfinished task with the fewest running copies:

    >>> import numpy as np, uepmm
    >>> from uepmm.adaptive import PacketRule
    >>> from uepmm.codes import make_code
    >>> rule = PacketRule(make_code("uncoded"), uepmm.ClassTable((0, 1, 2)))
    >>> row, task = rule.next(np.array([True, False, False]), [1], [0, 1, 2], [0.0, 0.0, 0.0],
    ...                       np.random.default_rng(0))
    >>> row.tolist(), task
    ([0.0, 0.0, 1.0], 2)
    """

    def __init__(self, code: Code, classes: ClassTable, partition: Partition | None = None, factor: bool = False):
        rule = code.adaptive_rule
        if rule not in ("copy", "window", "row"):
            raise ValueError(f"adaptive=True: code {code.name!r} takes no adaptive packets: {code.adaptive_refusal}")
        if factor and partition is None:
            raise ValueError("PacketRule(factor=True) re-draws rows in eq. (11)'s factor form: pass partition=")
        self.code, self.classes, self.rule = code, classes, rule
        self.partition, self.factor = partition, factor
        if rule == "window":
            self.masks = np.array(code.window_masks(classes), dtype=bool)
            self.gamma = np.asarray(code.window_probabilities(classes.num_classes), dtype=np.float64)

    def next(self, recovered, running, windows, starts, rng) -> tuple[np.ndarray, int]:
        """The row and window of a new packet (``running``: the packets being computed now)."""
        K = recovered.size
        if self.rule == "copy":
            copies = np.zeros(K, dtype=np.int64)
            latest = np.zeros(K)
            for q in running:
                copies[windows[q]] += 1
                latest[windows[q]] = max(latest[windows[q]], starts[q])
            open_tasks = np.flatnonzero(~recovered)
            task = int(open_tasks[np.lexsort((open_tasks, latest[open_tasks], copies[open_tasks]))[0]])
            row = np.zeros(K)
            row[task] = 1.0
            return row, task
        if self.rule == "row":
            return self.code.adaptive_row(self.classes, 0, rng), 0
        open_windows = np.flatnonzero((self.masks & ~recovered[None, :]).any(axis=1))
        count = np.zeros(self.gamma.size)
        for q in running:
            count[windows[q]] += 1
        priority = self.gamma[open_windows] / (1.0 + count[open_windows])  # D'Hondt's quotients
        window = int(open_windows[int(np.argmax(priority))])  # ties: the lowest window (the most important)
        return self.code.adaptive_row(self.classes, window, rng), window

    def packet(self, recovered, running, windows, starts, rng) -> Encoding:
        """:meth:`next` as a one-row :class:`~uepmm.codes.Encoding`, re-drawn in eq. (11)'s factor form
        (from the same ``rng``, after the row) when the rule was made with ``factor=True``."""
        row, window = self.next(recovered, running, windows, starts, rng)
        one = Encoding(row[None, :], np.array([window], dtype=np.int64))
        return to_factor_form(one, self.partition, rng) if self.factor else one


class LivePackets:
    """Adaptive packets chosen while a real job runs (the Dask backend's pull execution).

    Holds the job's :class:`PacketRule` and its ``adaptive`` stream; the backend calls
    :meth:`next` each time a process is free after the job's ``W`` rows are out, with what is
    recovered then (from :meth:`tracker`, fed the rows of the packets that arrived).  ``limit``:
    the most packets the job starts, its ``W`` rows included (the decoder's capacity).

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> from uepmm.adaptive import LivePackets, PacketRule
    >>> from uepmm.codes import make_code
    >>> live = LivePackets(PacketRule(make_code("mds"), uepmm.ClassTable((0, 0))), np.random.default_rng(0), 4)
    >>> tracker = live.tracker()
    >>> live.next(tracker.recovered, [], [0], [0.0]).generator.shape
    (1, 2)
    """

    def __init__(self, rule: PacketRule, rng: np.random.Generator, limit: int):
        self.rule, self.rng, self.limit = rule, rng, int(limit)

    def tracker(self):
        """A fresh recovery decision of the code (:meth:`uepmm.codes.Code.recovery_tracker`)."""
        return self.rule.code.recovery_tracker(self.rule.classes.num_products)

    def next(self, recovered: np.ndarray, running: list[int], windows: list[int], starts: list[float]) -> Encoding:
        """The next packet's one-row encoding (``running``: indices into ``windows`` / ``starts``)."""
        return self.rule.packet(recovered, running, windows, starts, self.rng)


def adaptive_packets(
    spec: JobSpec,
    code: Code,
    classes: ClassTable,
    encoding: Encoding,
    times: np.ndarray,
    partition: Partition,
    units: np.ndarray,
    rng: np.random.Generator,
) -> AdaptivePackets:
    """Run the event simulation (module docstring).

    ``encoding`` / ``times``: each worker's first row and response time in the plain draw (kept by
    the ``"copy"`` and ``"row"`` rules); ``units``: that draw's unit times ``(s_max, W)``
    (:func:`uepmm.draw.draw_unit_times`; the window rule's first packets take their times from them,
    and every new packet draws a block of this shape); ``rng``: the job's ``adaptive`` stream.  The
    simulation stops at ``spec.deadline`` (no packet starts at or after it) or when everything is
    recovered.
    """
    rule = PacketRule(code, classes, partition, spec.encoding == "factor")
    W, K = encoding.generator.shape
    omega, deadline = spec.omega_value, spec.deadline
    unit_rows = units.shape[0]
    rows: list[np.ndarray] = []
    windows: list[int] = []
    factors: list | None = None if encoding.factors is None and spec.encoding != "factor" else []
    finish: list[float] = []
    starts: list[float] = []
    owner: list[int] = []
    work: list[float] = []
    current = [-1] * W  # the packet each worker is computing (-1: free)
    events: list[tuple[float, int]] = []
    recovered = np.zeros(K, dtype=bool)

    def start(v: int, t: float, row: np.ndarray, window: int, pair, s: int, block: np.ndarray) -> None:
        q = len(rows)
        rows.append(row)
        windows.append(window)
        if factors is not None:
            factors.append(pair)
        starts.append(t)
        owner.append(v)
        work.append(float(s))
        finish.append(t + float(block[:s, v].sum()) / omega)
        current[v] = q
        heapq.heappush(events, (finish[q], q))

    def new_packet(v: int, t: float, block: np.ndarray | None) -> None:
        one = rule.packet(recovered, [q for q in current if q >= 0], windows, starts, rng)
        s = int(round(float(code.packet_work(one, partition)[0]))) if spec.cost == "work" else 1
        if block is None:
            block = (
                np.zeros((unit_rows, W)) if spec.latency is None
                else spec.latency.sample(rng, unit_rows * W).reshape(unit_rows, W)
            )
        start(v, t, one.generator[0], int(one.windows[0]), None if one.factors is None else one.factors[0], s, block)

    if rule.rule == "window":  # every packet by the rule, the first ones too (at time 0 nothing is recovered)
        for v in range(W):
            new_packet(v, 0.0, units)
    else:  # the plain draw's first packets
        plain = code.packet_work(encoding, partition) if spec.cost == "work" else np.ones(W)
        for v in range(W):
            rows.append(encoding.generator[v])
            windows.append(int(encoding.windows[v]))
            if factors is not None:
                factors.append(encoding.factors[v])
            starts.append(0.0)
            owner.append(v)
            work.append(float(plain[v]))
            finish.append(float(times[v]))
            current[v] = v
            heapq.heappush(events, (finish[v], v))
    tracker = code.recovery_tracker(K)
    while events:
        t, p = heapq.heappop(events)
        if finish[p] != t:
            continue  # cancelled
        if t > deadline:
            break
        tracker.add(rows[p])
        recovered = tracker.recovered
        free = [owner[p]]
        current[owner[p]] = -1
        if recovered.all():  # done: the rest are cancelled
            for q in current:
                if q >= 0:
                    finish[q] = math.inf
            break
        for v, q in enumerate(current):  # running packets that cannot add anything
            if q >= 0 and not np.any((rows[q] != 0) & ~recovered):
                finish[q] = math.inf
                current[v] = -1
                free.append(v)
        if t >= deadline:
            continue
        for v in sorted(free):
            new_packet(v, t, None)
    extended = Encoding(
        np.array(rows), np.array(windows, dtype=np.int64), None if factors is None else tuple(factors)
    )
    return AdaptivePackets(extended, np.array(finish), np.array(starts), np.array(owner), np.array(work))
