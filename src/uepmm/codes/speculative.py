"""Speculative backup tasks: what Spark and Dask users have (docs/comparison.md, "Speculative backups").

``K`` uncoded tasks (task ``k`` computes ``P_k``) start at time 0 on workers ``0..K-1``.  A
free worker (the ``W - K`` spares at time 0, and every worker whose copy finished or was
abandoned) starts a copy of the longest-running unfinished task.  Every task starts at time 0,
so every unfinished task has been running equally long and the tie-break decides: fewest
running copies, then the earliest start of its latest copy, then the lowest index.  A copy
takes a FRESH draw of the latency model (per unit of work; an uncoded task is one unit, so
``cost="work"`` and ``cost="equal"`` agree).  Task ``k`` is done at its first finished copy;
its other copies are abandoned and their workers are free at that moment.

Mapping onto the engine's "one row and one response time per worker": row ``k < K`` is
``e_k`` and answers when task ``k`` is done (:meth:`Speculative.response_times`, the code's
own response-time rule, fed by :func:`uepmm.draw.draw_unit_times` in the one draw).  Rows
``K..W-1`` (the spares) are ``e`` of the task of their first copy and never answer on their
own (time ``inf``): their work shows only as earlier task times.  Worker ``w``'s ``j``-th copy
lasts ``units[j, w] / Ω``; a worker starts at most ``K`` copies (each ends at a different
task's completion), so the draw is ``(K, W)`` and its row 0 is the ``cost="equal"`` draw of
every other code (the same stragglers for the first copies).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from ..importance import ClassTable
from .base import Code, Encoding, large_field_only

__all__ = ["Speculative", "speculative_schedule"]


def _pick(running: np.ndarray, latest: np.ndarray, done: np.ndarray) -> int:
    """The task a free worker copies: unfinished; fewest running copies; earliest latest start; lowest index."""
    open_tasks = np.flatnonzero(~done)
    key = np.lexsort((open_tasks, latest[open_tasks], running[open_tasks]))
    return int(open_tasks[key[0]])


def speculative_schedule(units: np.ndarray, omega: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Run the backup rule on the unit draws ``(K, W)``: each task's completion time ``(K,)`` and
    the task of each worker's first copy ``(W,)`` (the rows of the encoding)."""
    units = np.asarray(units, dtype=np.float64)
    K, W = units.shape
    if W < K:
        raise ValueError(f"speculative backups need workers >= K = {K} sub-products, got workers={W}")
    done = np.zeros(K, dtype=bool)
    finish = np.full(K, math.inf)
    running = np.zeros(K, dtype=np.int64)  # running copies per task
    latest = np.zeros(K)  # start of each task's latest copy
    copies = np.zeros(W, dtype=np.int64)  # copies started per worker
    current = np.full(W, -1)  # task of each worker's running copy
    first = np.empty(W, dtype=np.int64)
    events: list[tuple[float, int, int]] = []  # (finish time, worker, copy number)

    def start(worker: int, task: int, now: float) -> None:
        j = copies[worker]
        copies[worker] += 1
        current[worker] = task
        running[task] += 1
        latest[task] = now
        heapq.heappush(events, (now + units[j, worker] / omega, worker, j))

    for w in range(W):
        first[w] = w if w < K else _pick(running, latest, done)
        start(w, int(first[w]), 0.0)
    while events:
        now, w, j = heapq.heappop(events)
        if copies[w] != j + 1 or current[w] < 0:
            continue  # an abandoned copy
        task = int(current[w])
        done[task], finish[task] = True, now
        freed = [v for v in range(W) if current[v] == task]
        running[task] = 0
        for v in freed:
            current[v] = -1
        for v in freed:  # in worker order
            if done.all():
                break
            start(v, _pick(running, latest, done), now)
    return finish, first


@dataclass(frozen=True)
class Speculative(Code):
    """Uncoded tasks plus speculative copies on free workers (module docstring); needs ``W >= K``."""

    name = "speculative"
    deterministic = True

    def check(self, classes: ClassTable, workers: int) -> None:
        K = classes.num_products
        if workers < K:
            raise ValueError(
                f"code 'speculative' needs workers >= number of sub-products K = {K}, got workers={workers}; "
                f"use workers={K} (no spares) or more"
            )

    def _encode(self, classes, workers, rng):
        K = classes.num_products
        first = np.arange(workers) % K  # the tie-break gives spare K + i a first copy of task i mod K
        generator = np.zeros((workers, K))
        generator[np.arange(workers), first] = 1.0
        return Encoding(generator, first)

    def recovery_threshold(self, num_products: int) -> int:
        return num_products

    def task_count(self, num_products: int) -> int:
        return num_products

    def unit_rows(self, num_products: int, default: int) -> int:
        """Copies a worker can start: at most ``K``."""
        return num_products

    def response_times(self, units: np.ndarray, omega: float) -> np.ndarray:
        """Row ``k < K``: when task ``k`` is done; spares' rows: ``inf`` (module docstring)."""
        K, W = units.shape
        finish, _ = speculative_schedule(units, omega)
        return np.concatenate((finish, np.full(W - K, math.inf)))

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        """``min(N, K) / K``: the ``N`` packets are ``N`` distinct tasks (spares never answer alone)."""
        large_field_only(self.name, q)
        K = sum(k)
        N = np.minimum(np.arange(max_packets + 1, dtype=np.float64), K)
        return np.repeat((N / K)[:, None], len(k), axis=1)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return (np.arange(max_packets + 1) >= sum(k)).astype(np.float64)
