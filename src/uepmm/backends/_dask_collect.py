"""The parameter server's side of a Dask job: packets in arrival order until the deadline.

:class:`Collector` takes the finished tasks of one job (from ``as_completed``, forwarded
by a thread so that the deadline and the liveness checks are never blocked), turns each
into a :class:`~uepmm.job.Packet` and says why a packet is an erasure: a raised task
(``"error"``), a task Dask gave up on (``"lost"``, ``"worker-lost"``), or a packet the
verifier rejected (``"malformed"``, ``"nonfinite"``, ``"corrupt"``).  Duplicate and late
packets are dropped and counted.  Kept apart from :mod:`uepmm.backends.dask`, which only
places, submits and starts the job.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..job import Job, Packet

__all__ = ["Arrivals", "Collector"]

_log = logging.getLogger("uepmm.backends.dask")


class Collector:
    """Packets of one job, at most one per logical worker, and what happened to each.

    ``placement[w]``: the Dask worker of logical worker ``w``; ``owner``: task key ->
    logical worker (``payload_refs``: task key -> the packet future that replaces its
    summary result, for data on the cluster); ``verifier``: a :class:`~uepmm.verification.PacketVerifier` or
    ``None``; ``deadline_s``: seconds after the start; ``live_workers()``: the addresses
    of the cluster's workers now (it may raise when the scheduler is unreachable).
    """

    def __init__(
        self,
        job: Job,
        placement: list[str],
        owner: dict[str, int],
        verifier: Any,
        deadline_s: float,
        poll_interval: float,
        live_workers: Callable[[], set[str]],
        payload_refs: dict[str, Any] | None = None,
        rows: dict[int, tuple[np.ndarray, Any]] | None = None,
    ):
        self.job = job
        self.placement = placement
        self.owner = owner
        self.verifier = verifier
        self.deadline_s = deadline_s
        self.poll_interval = poll_interval
        self.live_workers = live_workers
        self.pending = set(owner.values())  # the logical workers (speculative copies: the tasks)
        self.statuses: dict[int, str] = {}
        self.arrival_seconds: dict[int, float] = {}
        self.info_of: dict[int, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.counters = {"duplicates": 0, "late": 0, "rejected": 0}
        self._missing: set[str] = set()
        # data on the cluster: a task's result is a summary; the packet is this future instead
        self.payload_refs = payload_refs
        self.kept: set[str] = set()  # keys of those packet futures handed to the decoder
        # packets beyond the job's rows (pull execution): packet -> (row, factor pair or None)
        self.rows = {} if rows is None else rows

    # ------------------------------------------------------------ the loop
    def packets(self, completed: Iterable[tuple[Any, Any]], t0: float, name: str) -> Iterator[Packet]:
        """Yield packets in arrival order until every worker answered or the deadline passed.

        ``completed`` yields ``(future, result)`` as tasks finish; ``t0`` is the start
        (``time.perf_counter()``).  Past the deadline, what had already arrived still
        counts and the rest is late.
        """
        arrivals: queue.Queue = queue.Queue()
        _forward(completed, arrivals, t0, name)
        last_check = 0.0
        while self.pending:
            now = time.perf_counter() - t0
            if now > self.deadline_s:
                break
            if now - last_check >= self.poll_interval:
                last_check = now
                for packet in self.lost_workers(now):
                    self.statuses[packet.worker] = packet.status
                    yield packet
                if not self.pending:
                    break
            try:
                item = arrivals.get(timeout=max(0.0, min(self.poll_interval, self.deadline_s - now)))
            except queue.Empty:
                continue
            packet = self.accept(*item)
            if packet is not None:
                yield packet
        while self.pending:
            try:
                item = arrivals.get_nowait()
            except queue.Empty:
                break
            packet = self.accept(*item)
            if packet is not None:
                yield packet

    def accept(self, future: Any, result: Any, t_recv: float) -> Packet | None:
        """The packet of a finished task received ``t_recv`` s after the start (``None``: dropped)."""
        w = self.owner[future.key]
        if w not in self.pending:
            self.counters["duplicates"] += 1
            return None
        if t_recv > self.deadline_s:
            self.counters["late"] += 1
            return None
        self.pending.discard(w)
        self.arrival_seconds[w] = t_recv
        payload, status = None, "ok"
        if future.status == "error":
            status = "error"
            exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
            self.errors.append({"worker": w, "error": f"{type(exc).__name__}: {exc}"})
        elif future.status != "finished" or not (isinstance(result, tuple) and len(result) == 2):
            # Dask gave up on the task, typically because its worker died with its blocks
            status = "lost" if self.placement[w] in self._alive() else "worker-lost"
        else:
            payload, self.info_of[w] = result
            if payload is None:  # released before its delay ran out: nobody asked for it
                status = "lost"
            elif self.verifier is not None:
                row, pair = self.row_of(w)
                status = self.verifier.check(row, payload, factors=pair)
            elif not (isinstance(payload, np.ndarray) and payload.shape == tuple(self.job.partition.product_shape)):
                status = "malformed"
        if status != "ok":
            payload = None
            if status in ("malformed", "nonfinite", "corrupt"):
                self.counters["rejected"] += 1
        elif self.payload_refs is not None:
            payload = self.payload_refs[future.key]
            self.kept.add(payload.key)
        self.statuses[w] = status
        return Packet(w, t_recv, payload, status)

    def row_of(self, w: int) -> tuple[np.ndarray, Any]:
        """Packet ``w``'s coefficient row and factor pair (``None``: direct encoding)."""
        if w in self.rows:
            return self.rows[w]
        factors = self.job.encoding.factors
        return self.job.encoding.generator[w], None if factors is None else factors[w]

    def lost_workers(self, now: float) -> list[Packet]:
        """Erasures for pending logical workers whose Dask worker has left the cluster.

        A worker counts as gone when two checks in a row (``poll_interval`` apart) miss it.
        """
        try:
            alive = self.live_workers()
        except Exception:  # noqa: BLE001 (scheduler unreachable: the deadline decides)
            return []
        missing = {self.placement[w] for w in self.pending} - alive
        gone, self._missing = missing & self._missing, missing
        lost = sorted(w for w in self.pending if self.placement[w] in gone)
        for w in lost:
            self.pending.discard(w)
        return [Packet(w, now, None, "worker-lost") for w in lost]

    def report(self, delays: np.ndarray) -> dict[str, Any]:
        """Arrival and compute times, statuses, errors and counters of the job so far."""
        ready = {w: float(info.get("ready_seconds", math.nan)) for w, info in self.info_of.items()}
        return {
            "arrival_seconds": self.arrival_seconds,
            "compute_seconds": {w: float(i.get("compute_seconds", math.nan)) for w, i in self.info_of.items()},
            "start_lag_seconds": {w: float(i.get("start_lag_seconds", math.nan)) for w, i in self.info_of.items()},
            "overruns": sorted(w for w, r in ready.items() if r > delays[w]),
            "statuses": self.statuses,
            "unfinished": sorted(self.pending),
            "errors": self.errors,
            **self.counters,
        }

    def _alive(self) -> set[str]:
        try:
            return self.live_workers()
        except Exception:  # noqa: BLE001 (scheduler unreachable: count the worker as gone)
            return set()


def _forward(completed: Iterable[tuple[Any, Any]], arrivals: queue.Queue, t0: float, name: str) -> None:
    """A daemon thread that puts ``(future, result, seconds since t0)`` on ``arrivals``."""

    def forward() -> None:
        try:
            for future, result in completed:
                arrivals.put((future, result, time.perf_counter() - t0))
        except Exception as exc:  # noqa: BLE001 (the client went away: the deadline or liveness check ends the job)
            _log.debug("as_completed stopped: %r", exc)

    threading.Thread(target=forward, name=name, daemon=True).start()


class _Failed:
    """Stands for a task that was never submitted (its blocks could not be sent)."""

    status = "error"

    def __init__(self, key: str):
        self.key = key


class Arrivals:
    """``(future, result)`` of a job's tasks as they finish, for tasks submitted at any time.

    ``keys_of[address]``: the task keys meant for that Dask worker; the iteration ends after
    ``len`` of all of them.  (``as_completed`` would stop as soon as the tasks added so far
    are done.)  ``keys_of=None``: open-ended (pull execution), until :meth:`close`.
    """

    def __init__(self, keys_of: dict[str, list[str]] | None):
        self.keys_of = keys_of or {}
        self.expected = sys.maxsize if keys_of is None else sum(len(k) for k in keys_of.values())
        self._queue: queue.Queue = queue.Queue()

    def close(self) -> None:
        """End the iteration after what is queued now (the job is over)."""
        self._queue.put(None)

    def add(self, future: Any) -> None:
        future.add_done_callback(self._queue.put)

    def fail(self, address: str, exc: BaseException) -> None:
        for key in self.keys_of.get(address, ()):
            self._queue.put((_Failed(key), exc))

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for _ in range(self.expected):
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, tuple):
                yield item
            elif item.status == "finished":
                try:
                    yield item, item.result()
                except Exception as exc:  # noqa: BLE001 (released or lost meanwhile)
                    yield item, exc
            elif item.status == "error":
                yield item, item.exception()
            else:
                yield item, None
