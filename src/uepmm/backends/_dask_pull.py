"""Pull-based execution of a job on Dask (``DaskBackend(execution="pull")``): no logical worker is pinned.

The packets are Dask tasks, handed out in importance order; each Dask worker process holds a
few at a time, and a process that returns one gets the next.  So a slow process computes few
packets and the others compute the rest, instead of a quarter of the job waiting on it.

1. **Blocks.**  Any packet may go to any process, so every block goes to every process, each
   process in a thread of its own; a process takes packets once its blocks are there, so a
   slow process holds up nobody (and gets little to do).  Blocks of ``dask.array`` inputs are
   tasks on the cluster (:func:`._dask_decode.place_blocks`): Dask moves them where needed.
2. **Order.**  The job's rows in the order of the most important sub-product they serve
   (the highest :attr:`~uepmm.job.Job.scores` in the row's support, ties: the row's window,
   then its index): uncoded tasks by energy, NOW/EW's most important window first, MDS in
   row order.  Each is submitted with a Dask ``priority`` that follows the order.  A job with
   late speculation (Spark, cubed) sends its ``K`` tasks only (the spares' rows never answer).
3. **In flight.**  Each process holds at most its thread count + 1 packets (its thread count
   with late speculation, so that a task's submission is its start), ``workers=[address]``;
   the rows go out one at a time to the ready process with the fewest in flight, and a
   returned, lost or cancelled packet frees its place at once.  With adaptive packets
   (:attr:`~uepmm.job.Job.live`), once the rows are out, a process that returns a packet (or
   whose packet was cancelled as useless) takes the next packet of the code's rule
   (:class:`uepmm.adaptive.PacketRule`, the one the simulator runs), chosen from what is
   recovered then, until the deadline, full recovery or
   :attr:`~uepmm.adaptive.LivePackets.limit` packets.  A packet lost with its process (status
   ``"lost"`` / ``"worker-lost"``) is sent again, to the processes still there.
4. **Useless packets.**  Each packet that arrives is checked (:class:`._dask_collect.Collector`);
   with adaptive packets its row goes to the code's recovery decision, and a running or unsent
   packet whose sub-products are all recovered is cancelled, as in the simulator (late
   speculation: Spark cancels the other attempt of a finished task, cubed lets it run, as
   :class:`~uepmm.codes.speculative.LateRule` says).  Other jobs run until every row answered
   or the decoder has what it needs.
5. **Late speculation** (:attr:`~uepmm.job.Job.late_rule`).  Every time the loop wakes (at
   most ``poll_interval`` apart) :meth:`~uepmm.codes.speculative.LateRule.due` picks the
   running tasks that get their one copy, from the durations of the finished tasks
   (submission to arrival); the copy goes to the other process with the fewest packets, with
   the highest priority.  Copies are reported as ``report["speculative_copies"]``.
6. **The end.**  At the deadline or when everything is recovered, the job is released on
   every process (a running task stops between two row slabs), its futures are cancelled,
   and the parameter server waits until no task of the job is still inside its function
   (``report["drained"]``), so the next job starts on idle processes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..decoding import RecoveryTracker
from ..job import Job, Packet
from ..sparse import nbytes
from ..verification import PacketVerifier
from ._dask_collect import Arrivals, Collector, _forward
from ._dask_decode import cluster_verifier, is_cluster_job, place_blocks, summarize_packet
from ._dask_scatter import _is_loopback, row_blocks
from ._dask_tasks import TaskSpec, release_job, run_logical_worker, running_count

__all__ = ["PullExecution", "pull_order"]

_log = logging.getLogger("uepmm.backends.dask")

#: Seconds the parameter server waits, after releasing a job, for its tasks to leave their functions.
DRAIN_TIMEOUT = 30.0


def pull_order(job: Job, rows: int) -> list[int]:
    """The first ``rows`` rows of ``job`` in the order they are handed out (module docstring, step 1).

    Examples
    --------
    Uncoded c×r tasks go out by their sub-product's score, the heaviest first:

    >>> import numpy as np, uepmm
    >>> from uepmm.backends._dask_pull import pull_order
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)) * [1, 1, 9, 9, 3, 3], rng.standard_normal((6, 4))
    >>> job = uepmm.plan_job(A, B, code="uncoded", partition="cxr", blocks=3, workers=3, reorder=False).job
    >>> pull_order(job, 3)
    [1, 2, 0]
    """
    generator, windows = job.encoding.generator, job.encoding.windows
    scores = job.scores if job.scores is not None else -np.arange(job.encoding.num_products, dtype=np.float64)

    def key(w: int) -> tuple[float, int, int]:
        support = np.flatnonzero(generator[w])
        best = float(np.max(scores[support])) if support.size else -math.inf
        return -best, int(windows[w]), w

    return sorted(range(rows), key=key)


@dataclasses.dataclass
class _Sent:
    """One submitted attempt: its packet, process, start (s after the job's start) and futures."""

    packet: int
    address: str
    start: float
    futures: list[Any]
    copy: bool = False


class PullExecution:
    """One job run by pull (module docstring); :meth:`packets` yields its packets in arrival order.

    ``backend``: the :class:`~uepmm.backends.dask.DaskBackend` (its options); ``threads()``:
    ``{address: threads}`` of the cluster now; ``report``: the backend's ``last_report``, filled in.
    """

    def __init__(self, backend: Any, client: Any, job: Job, job_id: str, report: dict,
                 threads: Callable[[], dict[str, int]]):
        self.backend, self.client, self.job, self.job_id, self.report = backend, client, job, job_id, report
        self.threads = threads
        self.K = job.encoding.num_products
        self.late = job.late_rule
        self.live = job.live
        self.faults = {w: kind for kind, members in backend.faults.items() if kind != "duplicate" for w in members}
        self.duplicates = set(backend.faults.get("duplicate", ()))

    # ------------------------------------------------------------------ setup
    def _scatter(self, addresses: list[str], arrived: queue.Queue) -> None:
        """Every block to every process (any packet may go anywhere), each process in a thread of its
        own: a process takes packets once its blocks are there (``("ready", address, seconds)`` on
        ``arrived``), so a slow one holds up nobody.  Data on the cluster stays where it is."""
        keys = [("a", i) for i in range(len(self.job.a_blocks))] + [("b", j) for j in range(len(self.job.b_blocks))]
        data = list(self.job.a_blocks) + list(self.job.b_blocks)
        direct = True if all(_is_loopback(a) for a in addresses) else None

        def one(address: str) -> None:
            try:
                placed = self.client.scatter(data, workers=[address], hash=False, direct=direct)
            except Exception:  # noqa: BLE001 (that process takes no packets; the others do)
                _log.debug("scatter to %s failed", address, exc_info=True)
                arrived.put(("failed", address, time.perf_counter() - self.t0))
                return
            self.refs_of[address] = dict(zip(keys, placed))
            arrived.put(("ready", address, time.perf_counter() - self.t0))

        for address in addresses:
            threading.Thread(target=one, args=(address,), name=f"{self.job_id}-scatter", daemon=True).start()

    def _verifier(self, refs: dict) -> Any:
        backend = self.backend
        rng = np.random.default_rng(backend._verify_seeds.spawn(1)[0]) if backend.verify else None
        if self.on_cluster:
            return cluster_verifier(self.client, self.job, refs, rng, backend.verify_rtol, lazy=True)
        if rng is None:
            return None
        job = self.job
        return PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=rng, rtol=backend.verify_rtol)

    # ------------------------------------------------------------------ the job
    def packets(self) -> Iterator[Packet]:
        job, client, report = self.job, self.client, self.report
        nthreads = self.threads()
        if not nthreads:
            raise RuntimeError("the Dask cluster has no workers; start some (`dask worker ADDRESS`)")
        addresses = sorted(nthreads)
        self.backend._warm(client, addresses)
        self.on_cluster = is_cluster_job(job)
        refs = place_blocks(client, job, wait_for_them=False) if self.on_cluster else {}
        self.refs_of: dict[str, dict] = {a: refs for a in addresses} if self.on_cluster else {}
        report.update(on_cluster=self.on_cluster)
        t_verifier = time.perf_counter()
        verifier = self._verifier(refs)
        report["verifier_seconds"] = time.perf_counter() - t_verifier
        deadline_s = job.deadline * self.backend.time_unit if math.isfinite(job.deadline) else math.inf
        rows = self.K if self.late is not None else job.workers
        order = pull_order(job, rows)
        self.cap = {a: n if self.late is not None else n + 1 for a, n in nthreads.items()}
        report.update(deadline_seconds=deadline_s, threads=sum(nthreads.values()), start_line=False,
                      order=order, in_flight=dict(self.cap))

        self.todo: list[int] = list(order)  # packets to send, in order (lost ones go to the front)
        self.sent: dict[str, _Sent] = {}  # watched key -> attempt
        self.running: dict[int, list[str]] = defaultdict(list)  # packet -> watched keys of its attempts
        # process -> watched keys in flight, for the processes that have their blocks
        self.on: dict[str, set[str]] = {a: set() for a in self.refs_of}
        self.scattering = set(addresses) - set(self.on)
        self.placement: dict[int, str] = {}
        self.extra: dict[int, tuple[np.ndarray, Any]] = {}  # packet -> (row, pair) beyond the job's rows
        self.windows: list[int] = [int(x) for x in job.encoding.windows]
        self.starts: list[float] = [0.0] * job.workers
        # what is recovered: for the adaptive rule and useless packets (adaptive jobs, as in the simulator)
        # and Spark/cubed; other jobs run until every row answered (a scheme's own decoder, e.g.
        # sampling, may want more than the rank decision says) or the decoder stops them
        self.tracker = self.live.tracker() if self.live is not None else RecoveryTracker(self.K)
        self.tracks = self.live is not None or self.late is not None
        self.first_start: dict[int, float] = {}
        self.durations: list[float] = []
        self.copied: set[int] = set()
        self.copies: list[dict[str, Any]] = []
        self.resent = 0
        self.cancelled = 0
        self.payload_refs: dict[str, Any] | None = {} if self.on_cluster else None
        self.next_index = job.workers
        self.arrivals = Arrivals(None)
        self.collector = Collector(job, self.placement, {}, verifier, deadline_s, self.backend.poll_interval,
                                   lambda: set(self.threads()), self.payload_refs, self.extra)
        self.collector.pending = set()
        self.cancel_keys: set[str] = set()
        self.freed: list[str] = []  # processes that returned or lost a packet at the current event
        self.ready_seconds: dict[str, float] = {}
        self.unfaulted: set[int] = set()  # test-only faults hit a row's first attempt only (not one sent again)

        t0 = self.t0 = time.perf_counter()
        report["startup_seconds"] = 0.0
        report["start_timed_out"] = False
        arrived: queue.Queue = queue.Queue()
        _forward(self.arrivals, arrived, t0, f"{self.job_id}-collect")
        try:
            if self.scattering:
                self._scatter(addresses, arrived)
            self._spread(0.0)
            yield from self._loop(arrived, deadline_s)
        finally:
            elapsed = time.perf_counter() - t0
            self._finish(addresses, [f for r in list(self.refs_of.values()) for f in r.values()])
            if verifier is not None:
                report["verify_rtol"] = verifier.rtol
            report.update(
                {
                    "elapsed_seconds": elapsed,
                    "scatter_bytes": 0 if self.on_cluster else len(self.ready_seconds) * sum(
                        nbytes(b) for b in list(job.a_blocks) + list(job.b_blocks)),
                    "scatter_seconds": max([0.0, *self.ready_seconds.values()]),
                    **self.collector.report(defaultdict(lambda: math.inf)),
                    # not answered: running, or not sent yet when the job ended
                    "unfinished": sorted(set(self.collector.pending) | set(self.todo)),
                    "placement": dict(self.placement),
                    "packets_sent": self.next_index if self.live is not None else len(self.placement),
                    "resent": self.resent,
                    "cancelled_useless": self.cancelled,
                    **({"speculative_copies": self.copies, "copies_launched": len(self.copies)}
                       if self.late is not None else {}),
                    "release_seconds": time.perf_counter() - t0 - elapsed,
                }
            )

    def _loop(self, arrived: queue.Queue, deadline_s: float) -> Iterator[Packet]:
        collector, poll = self.collector, self.backend.poll_interval
        last_check = 0.0
        while not (self.tracks and self.tracker.recovered.all()):
            now = time.perf_counter() - self.t0
            if now > deadline_s or not (self.on or self.scattering):
                break
            if not (collector.pending or self.todo or self._can_grow()):
                break
            if now - last_check >= poll:
                last_check = now
                lost = collector.lost_workers(now)
                for address in set(self.on) - set(self.threads()):
                    self.on.pop(address, None)
                lost = [self._settle(packet, now) for packet in lost]
                for packet in lost:
                    collector.statuses[packet.worker] = packet.status
                self._spread(now)  # packets sent again go to the processes still there
                yield from lost
            if self.live is not None and not collector.pending and not self.todo:
                for address in list(self.on):  # nothing out (every packet came back as an erasure): keep going
                    self._grow(address, now)
            if self.late is not None:
                self._speculate(now)
            try:
                item = arrived.get(timeout=max(0.0, min(poll, deadline_s - now)))
            except queue.Empty:
                continue
            future, _, t_recv = item
            if isinstance(future, str):  # a process has its blocks (or will never have them)
                self.scattering.discard(item[1])
                if future == "ready" and item[1] in set(self.threads()):
                    self.on[item[1]] = set()
                    self.ready_seconds[item[1]] = t_recv
                self._spread(t_recv)
                continue
            attempt = self.sent.pop(future.key, None)
            if attempt is not None:
                self.on.get(attempt.address, set()).discard(future.key)
            if future.key in self.cancel_keys or attempt is None:
                self._spread(t_recv)
                continue
            self.running[attempt.packet] = [k for k in self.running[attempt.packet] if k != future.key]
            self.freed = [attempt.address]  # this process returned a packet: it may take the next one
            packet = collector.accept(*item)
            if packet is not None:
                packet = self._settle(packet, t_recv, attempt)
            self._spread(t_recv)
            for address in self.freed:
                self._grow(address, t_recv)
            if packet is not None:
                yield packet

    def _settle(self, packet: Packet, now: float, attempt: _Sent | None = None) -> Packet:
        """Book an arrival or erasure and cancel what it made useless; the packet as the decoder gets it."""
        p = packet.worker
        if packet.status == "ok" and self.tracks:
            row, _ = self.collector.row_of(p)
            self.tracker.add(row)
            if self.late is not None and attempt is not None:
                self.durations.append(now - (attempt.start if self.late.attempt_durations else self.first_start[p]))
            self._cancel_useless(p)
        elif packet.status in ("lost", "worker-lost"):  # its process is gone: send the row again
            self._resend(p)
        if p in self.extra:
            packet = dataclasses.replace(packet, row=self.extra[p][0])
        return packet

    # --------------------------------------------------------------- sending
    def _can_grow(self) -> bool:
        return self.live is not None and self.next_index < self.live.limit

    def _spread(self, now: float) -> None:
        """Hand out the packets to send, in order, one at a time to the process with the fewest in flight."""
        while self.todo:
            room = [a for a in self.on if len(self.on[a]) < self.cap[a]]
            if not room:
                return
            self._submit(self.todo.pop(0), min(room, key=lambda a: (len(self.on[a]), a)), now)

    def _grow(self, address: str, now: float) -> None:
        """A process freed by a return (or a cancelled useless packet) takes the rule's next packet."""
        if (not self.todo and self._can_grow() and now <= self.collector.deadline_s and address in self.on
                and len(self.on[address]) < self.cap[address] and not self.tracker.recovered.all()):
            self._submit(self._new_packet(now), address, now)

    def _new_packet(self, now: float) -> int:
        running = sorted({a.packet for a in self.sent.values() if a.packet in self.collector.pending})
        one = self.live.next(self.tracker.recovered, running, self.windows, self.starts)
        p = self.next_index
        self.next_index += 1
        self.extra[p] = (one.generator[0], None if one.factors is None else one.factors[0])
        self.windows.append(int(one.windows[0]))
        self.starts.append(now)
        return p

    def _resend(self, p: int) -> None:
        row, pair = self.collector.row_of(p)
        if self.late is not None:  # a task keeps its index: its copies report as it
            self.unfaulted.add(p)
            self.collector.pending.add(p)
            self.collector.statuses.pop(p, None)
            self.todo.insert(0, p)
        else:
            q = self.next_index
            self.next_index += 1
            self.extra[q] = (row, pair)
            self.windows.append(self.windows[p])
            self.starts.append(0.0)
            self.todo.insert(0, q)
        self.resent += 1

    def _submit(self, p: int, address: str, now: float, copy: bool = False) -> None:
        job, partition = self.job, self.job.partition
        row, pair = self.collector.row_of(p)
        a_idx, b_idx = row_blocks(job.partition, row, pair)
        attempts = 1 + (p in self.duplicates and not copy)
        futures = []
        for n in range(attempts):
            suffix = f"-c{len(self.copies)}" if copy else ("-dup" if n else "")
            key = f"{self.job_id}-p{p}{suffix}"
            spec = TaskSpec(job_id=self.job_id, worker=p, kind=partition.kind, grid=partition.grid,
                            row=None if pair is not None else row, factors=pair, delay=0.0,
                            fault=None if copy or p in self.unfaulted else self.faults.get(p), gated=False)
            priority = 10**9 if copy else -len(self.placement)  # in order; copies first
            task = self.client.submit(
                run_logical_worker, spec, {i: self.refs_of[address][("a", i)] for i in a_idx},
                {j: self.refs_of[address][("b", j)] for j in b_idx}, key=key, workers=[address],
                allow_other_workers=False, pure=False, retries=0, priority=priority,
            )
            watched = task
            if self.on_cluster:
                watched = self.client.submit(
                    summarize_packet, task, self.collector.verifier.x if self.collector.verifier else None,
                    key=f"{key}-summary", workers=[address], allow_other_workers=False, pure=False, retries=0,
                    priority=priority,
                )
                self.payload_refs[watched.key] = task
            self.collector.owner[watched.key] = p
            self.sent[watched.key] = _Sent(p, address, now, [task, watched], copy)
            self.running[p].append(watched.key)
            self.on[address].add(watched.key)
            self.arrivals.add(watched)
            futures.append(watched)
        self.collector.pending.add(p)
        if not copy:  # where the packet's own attempt runs (a lost process's packets are sent again)
            self.placement[p] = address
            if p < job.workers:
                self.starts[p] = now
        self.first_start.setdefault(p, now)

    # ------------------------------------------------------------- cancelling
    def _cancel(self, keys: list[str]) -> None:
        futures = []
        for key in keys:
            attempt = self.sent.pop(key, None)
            if attempt is None:
                continue
            self.on.get(attempt.address, set()).discard(key)
            self.cancel_keys.add(key)
            futures += attempt.futures
        if futures:
            try:
                self.client.cancel(futures)
            except Exception:  # noqa: BLE001 (best effort: the job's end cancels again)
                _log.debug("could not cancel %d futures of %s", len(futures), self.job_id, exc_info=True)

    def _cancel_useless(self, p: int) -> None:
        """After packet ``p``: the attempts that can add nothing (late speculation: by the rule)."""
        recovered = self.tracker.recovered
        if self.late is not None:
            if self.late.kill_losers:
                self._cancel(self.running.pop(p, []))
            return
        for q in list(self.running):
            if q in self.collector.pending and self.running[q]:
                row, _ = self.collector.row_of(q)
                if not np.any((row != 0) & ~recovered):
                    keys = self.running.pop(q)
                    self.freed += [self.sent[k].address for k in keys if k in self.sent]
                    self._cancel(keys)
                    self.collector.pending.discard(q)
                    self.collector.statuses[q] = "cancelled"
                    self.cancelled += 1
        if self.todo:  # rows not sent yet that can add nothing are dropped too
            keep = [q for q in self.todo if np.any((self.collector.row_of(q)[0] != 0) & ~recovered)]
            self.cancelled += len(self.todo) - len(keep)
            self.todo = keep

    # ------------------------------------------------------------ speculation
    def _speculate(self, now: float) -> None:
        running = {p: self.first_start[p] for p in self.collector.pending
                   if p not in self.copied and self.running.get(p)}
        for k in self.late.due(now, self.K, self.durations, running):
            origin = self.placement[k]
            others = [a for a in self.on if a != origin] or list(self.on)
            if not others:
                return
            address = min(others, key=lambda a: (len(self.on[a]), a))
            self.copied.add(k)
            self.copies.append({"task": k, "seconds": now, "process": address, "original": origin})
            self._submit(k, address, now, copy=True)

    # ------------------------------------------------------------------ the end
    def _finish(self, addresses: list[str], blocks: list[Any]) -> None:
        """Release the job everywhere, cancel what is left, wait until no task of it is running."""
        client = self.client
        self.arrivals.close()
        t = time.perf_counter()
        try:
            alive = sorted(set(addresses) & set(self.threads()))
            if alive:
                client.run(release_job, self.job_id, workers=alive, on_error="ignore")
        except Exception:  # noqa: BLE001 (best effort: the tasks are cancelled next)
            _log.debug("could not release job %s", self.job_id, exc_info=True)
        kept = self.collector.kept
        left = [f for a in self.sent.values() for f in a.futures if f.key not in kept]
        try:
            client.cancel(left + ([] if self.on_cluster else blocks))
        except Exception:  # noqa: BLE001
            _log.debug("could not cancel job %s", self.job_id, exc_info=True)
        self.report["drained"] = self._drain(addresses)
        self.report["drain_seconds"] = time.perf_counter() - t

    def _drain(self, addresses: list[str]) -> bool:
        """Wait until no live process has a task of the job inside its function or still to run
        (:func:`._dask_tasks.running_count`; ``False``: still some after :data:`DRAIN_TIMEOUT`)."""
        give_up = time.perf_counter() + DRAIN_TIMEOUT
        while time.perf_counter() < give_up:
            try:
                alive = sorted(set(addresses) & set(self.threads()))
                counts = self.client.run(running_count, self.job_id, workers=alive, on_error="return") if alive else {}
            except Exception:  # noqa: BLE001 (the cluster is gone: nothing runs there)
                return True
            if sum(n for n in counts.values() if isinstance(n, int)) == 0:
                return True
            time.sleep(0.005)
        return False
