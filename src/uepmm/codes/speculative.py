"""Speculative backup tasks as hedging: idle workers clone unfinished tasks from time 0 (docs/comparison.md,
"Speculative backups").  Not what Spark or Dask users have: Spark speculates late (after most tasks
finished) and at most once per slow task; Dask has no speculative execution.

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
every other code (the same stragglers for the first copies).  On Dask the copies run for real
(:mod:`uepmm.backends._dask_backups`, from ``Job.copy_times``); ``uepmm theory`` has no closed
form for the race of copies and does not offer the code.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..importance import ClassTable
from .base import Code, Encoding, large_field_only

__all__ = [
    "Speculative", "BackupRule", "speculative_schedule", "LateRule", "SPARK", "CUBED", "late_backup_schedule",
    "Spark", "Cubed",
]


class BackupRule:
    """The rule's state: which task each worker copies; shared by the simulation and the Dask backend.

    :meth:`first_copies` gives every worker its copy at time 0; :meth:`finished` marks a task
    done and gives the freed workers their next copies, as ``(worker, task, copy number)``.
    """

    def __init__(self, tasks: int, workers: int):
        if workers < tasks:
            raise ValueError(f"speculative backups need workers >= K = {tasks} sub-products, got workers={workers}")
        self.tasks, self.workers = tasks, workers
        self.done = np.zeros(tasks, dtype=bool)
        self.running = np.zeros(tasks, dtype=np.int64)  # running copies per task
        self.latest = np.zeros(tasks)  # start of each task's latest copy
        self.copies = np.zeros(workers, dtype=np.int64)  # copies started per worker
        self.current = np.full(workers, -1)  # task of each worker's running copy (-1: free)

    def _pick(self) -> int:
        """Unfinished; fewest running copies; earliest start of its latest copy; lowest index."""
        open_tasks = np.flatnonzero(~self.done)
        key = np.lexsort((open_tasks, self.latest[open_tasks], self.running[open_tasks]))
        return int(open_tasks[key[0]])

    def _start(self, worker: int, task: int, now: float) -> tuple[int, int, int]:
        j = int(self.copies[worker])
        self.copies[worker] += 1
        self.current[worker] = task
        self.running[task] += 1
        self.latest[task] = now
        return worker, task, j

    def first_copies(self) -> list[tuple[int, int, int]]:
        """Time 0: task ``w`` on worker ``w < K``, then each spare copies by the rule."""
        return [self._start(w, w if w < self.tasks else self._pick(), 0.0) for w in range(self.workers)]

    def finished(self, task: int, now: float) -> list[tuple[int, int, int]]:
        """Task ``task`` is done at ``now`` (ignored if it already was): its copies' workers take new copies."""
        if self.done[task]:
            return []
        self.done[task] = True
        freed = np.flatnonzero(self.current == task)
        self.current[freed] = -1
        self.running[task] = 0
        if self.done.all():
            return []
        return [self._start(int(v), self._pick(), now) for v in freed]  # in worker order


def speculative_schedule(units: np.ndarray, omega: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Run the backup rule on the unit draws ``(K, W)`` (copy ``j`` of worker ``w`` lasts
    ``units[j, w] / omega``): each task's completion time ``(K,)`` and each worker's first task ``(W,)``."""
    units = np.asarray(units, dtype=np.float64)
    K, W = units.shape
    rule = BackupRule(K, W)
    finish = np.full(K, math.inf)
    events: list[tuple[float, int, int, int]] = []  # (finish time, worker, copy number, task)

    def push(copies, now):
        for w, task, j in copies:
            heapq.heappush(events, (now + units[j, w] / omega, w, j, task))

    first = rule.first_copies()
    push(first, 0.0)
    while events:
        now, w, j, task = heapq.heappop(events)
        if rule.copies[w] != j + 1 or rule.current[w] != task:
            continue  # an abandoned copy
        finish[task] = now
        push(rule.finished(task, now), now)
    return finish, np.array([task for _, task, _ in first])


@dataclass(frozen=True)
class Speculative(Code):
    """Uncoded tasks plus speculative copies on free workers (module docstring); needs ``W >= K``.

    Examples
    --------
    ``K`` uncoded tasks with backup copies on the spare workers; a block is done at its first
    finished copy:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)), rng.standard_normal((6, 3))
    >>> res = uepmm.coded_matmul(A, B, code="speculative", partition="cxr", blocks=3, workers=6, seed=0)
    >>> res.recovered.tolist(), bool(np.allclose(res.estimate, A @ B))
    ([True, True, True], True)
    """

    name = "speculative"
    deterministic = True
    backup_copies = True
    adaptive_refusal = "its free workers already copy unfinished tasks (use code='uncoded' with adaptive=True)"

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

    def cxr_packet_work(self, num_products: int) -> int:
        return 1

    def unit_rows(self, num_products: int, default: int) -> int:
        """Copies a worker can start: at most ``K``."""
        return num_products

    def response_times(self, units: np.ndarray, omega: float) -> np.ndarray:
        """Row ``k < K``: when task ``k`` is done; spares' rows: ``inf`` (module docstring)."""
        K, W = units.shape
        finish, _ = speculative_schedule(units, omega)
        return np.concatenate((finish, np.full(W - K, math.inf)))

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        """None in closed form: which tasks ``N`` arrivals cover depends on the copy schedule (the
        spares copy low task indices first), so ``P(task k | N)`` is not ``N / K`` for every ``k``."""
        large_field_only(self.name, q)
        raise ValueError(
            "code 'speculative' has no analytic per-task decoding probabilities: which tasks N arrivals cover "
            "depends on the backup schedule (the spares copy the lowest task indices first); use decoder='zero' "
            "or 'lmmse' (decoder='unbiased' needs them)"
        )

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return (np.arange(max_packets + 1) >= sum(k)).astype(np.float64)


# --------------------------------------------------------------------------- late speculation (Spark, cubed)


@dataclass(frozen=True)
class LateRule:
    """When a system launches a task's one copy (docs/comparison.md, DESIGN sec. 6).

    At a check time, with the durations of the tasks finished so far, a running task without a
    copy gets one when it has run longer than :meth:`threshold` (strictly).  ``kill_losers``: the
    other attempt of a finished task is killed and frees its worker (Spark), or runs on to its end
    (cubed).  ``attempt_durations``: a finished task's duration is that of its winning attempt
    (Spark), or counted from the task's first start (cubed).
    """

    name: str
    kill_losers: bool
    attempt_durations: bool
    quantile: float = 0.0  # Spark: this fraction of the tasks (rounded down, at least 1) finished
    multiplier: float = 1.5  # Spark: slower than this many times the median finished duration
    min_time: float = 0.0  # Spark: and than this (spark.speculation.minTaskRuntime, 100 ms: one interval)
    min_tasks: int = 0  # cubed: at least this many tasks
    fraction: float = 0.0  # cubed: and at least this fraction of them done

    def threshold(self, tasks: int, durations: list[float]) -> float | None:
        """The runtime a task must exceed to get its copy now (``None``: no copies yet)."""
        if tasks < self.min_tasks or not durations or len(durations) < self.fraction * tasks:
            return None
        if len(durations) < max(math.floor(self.quantile * tasks), 1):
            return None
        return max(self.multiplier * statistics.median(durations), self.min_time)

    def due(self, now: float, tasks: int, durations: list[float], running: Mapping[int, float]) -> list[int]:
        """The tasks that get their copy at ``now``: of ``running`` (task -> start of its attempt, tasks
        without a copy yet), those that have run longer than :meth:`threshold` (strictly), in task order.

        The one decision, shared by :func:`late_backup_schedule` and the Dask backend's pull execution.

        Examples
        --------
        Spark, 4 tasks, 3 finished in 1.0, 2.0 and 3.0 s: the median is 2.0, so a task gets its copy
        once it has run longer than 3.0 s:

        >>> from uepmm.codes.speculative import SPARK
        >>> SPARK.due(3.5, 4, [1.0, 2.0, 3.0], {3: 0.0}), SPARK.due(3.5, 4, [1.0, 2.0, 3.0], {3: 1.0})
        ([3], [])
        """
        threshold = self.threshold(tasks, durations)
        if threshold is None:
            return []
        return sorted(k for k, start in running.items() if now - start > threshold)


#: Spark (``spark.speculation``): every 100 ms, once 75 % of the tasks finished, one copy of each
#: task running longer than 1.5× the median finished duration (and than 100 ms); the loser is killed.
SPARK = LateRule("spark", kill_losers=True, attempt_durations=True, quantile=0.75, multiplier=1.5, min_time=0.1)
#: cubed (``use_backups``): with at least 10 tasks and half of them done, one backup of each task slower
#: than 3× the median completed duration; the original is not cancelled.
CUBED = LateRule("cubed", kill_losers=False, attempt_durations=False, multiplier=3.0, min_tasks=10, fraction=0.5)


def late_backup_schedule(
    units: np.ndarray, omega: float, rule: LateRule, interval: float = 0.1
) -> tuple[np.ndarray, list[tuple[float, int, int]]]:
    """Run ``rule`` on the unit draws ``(K, W)``: each task's completion time ``(K,)`` and the copies
    launched, as ``(time, task, worker)``.

    Task ``k`` starts at time 0 on worker ``k`` (its attempt lasts ``units[0, k] / omega``); the
    rule is checked at ``i * interval``, ``i = 1, 2, ...`` (after the completions at that time), and
    each copy goes to the lowest free worker (``j``-th attempt of worker ``w``: ``units[j, w] / omega``);
    with no free worker an eligible task waits for the next check.  A task is done at its first
    finished attempt.
    """
    units = np.asarray(units, dtype=np.float64)
    K, W = units.shape
    if W < K:
        raise ValueError(f"late speculation needs workers >= K = {K} tasks, got workers={W}")
    finish = np.full(K, math.inf)
    copied = np.zeros(K, dtype=bool)
    busy = np.zeros(W, dtype=bool)
    used = np.zeros(W, dtype=np.int64)
    attempts: list[tuple[float, int, int, float]] = []  # running: (end, worker, task, start)
    durations: list[float] = []
    launches: list[tuple[float, int, int]] = []

    def launch(task: int, worker: int, now: float) -> None:
        attempts.append((now + units[used[worker], worker] / omega, worker, task, now))
        used[worker] += 1
        busy[worker] = True

    for k in range(K):
        launch(k, k, 0.0)
    i = 1
    while not np.isfinite(finish).all():
        end, worker, task, start = min(attempts)
        check = i * interval
        if end <= check:  # a completion (before the check at the same time)
            attempts.remove((end, worker, task, start))
            busy[worker] = False
            if math.isinf(finish[task]):
                finish[task] = end
                durations.append(end - start if rule.attempt_durations else end)
                if rule.kill_losers:
                    for other in [a for a in attempts if a[2] == task]:
                        attempts.remove(other)
                        busy[other[1]] = False
            continue
        threshold = rule.threshold(K, durations)
        waiting = [k for k in range(K) if math.isinf(finish[k]) and not copied[k]]
        for k in rule.due(check, K, durations, dict.fromkeys(waiting, 0.0)):  # every task started at 0
            if np.any(~busy):
                worker = int(np.flatnonzero(~busy)[0])
                copied[k] = True
                launches.append((check, k, worker))
                launch(k, worker, check)
        # the next check that can launch anything: skip the ones before it (the rule only changes at completions)
        nxt = min(attempts)[0]
        if threshold is not None and waiting and np.any(~busy):
            nxt = min(nxt, threshold)
        i = max(i + 1, math.floor(nxt / interval) - 1)
    return finish, launches


@dataclass(frozen=True)
class _LateSpeculation(Speculative):
    """``K`` uncoded tasks on workers ``0..K-1``, copies launched by :attr:`rule` (module section above);
    the spares' rows never answer on their own, as for :class:`Speculative`."""

    rule = SPARK
    backup_copies = False
    #: on Dask: the tasks pulled by the processes, copies launched by :attr:`rule` on measured durations
    needs_pull = "its copies are launched on measured task durations, by the Dask backend's pull execution"

    @property
    def late_rule(self) -> LateRule:
        """The rule that launches the copies (the Dask backend's pull execution runs it for real)."""
        return self.rule

    def response_times(self, units: np.ndarray, omega: float) -> np.ndarray:
        K, W = units.shape
        finish, _ = late_backup_schedule(units, omega, self.rule)
        return np.concatenate((finish, np.full(W - K, math.inf)))


@dataclass(frozen=True)
class Spark(_LateSpeculation):
    """Speculation as Spark has it (:data:`SPARK`).

    Examples
    --------
    Waiting for every task gives ``C`` (the first copy of each task to finish counts):

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((8, 6)), rng.standard_normal((6, 4))
    >>> res = uepmm.coded_matmul(A, B, code="spark", partition="cxr", blocks=4, workers=6,
    ...                          decoder="zero", seed=0)
    >>> res.received, bool(np.allclose(res.estimate, A @ B))
    (4, True)
    """

    name = "spark"
    rule = SPARK
    adaptive_refusal = "it already copies slow tasks by Spark's rule"


@dataclass(frozen=True)
class Cubed(_LateSpeculation):
    """Backups as cubed has them (:data:`CUBED`); with fewer than 10 tasks it never launches one.

    Examples
    --------
    Waiting for every task gives ``C`` (the first copy of each task to finish counts):

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((8, 6)), rng.standard_normal((6, 4))
    >>> res = uepmm.coded_matmul(A, B, code="cubed", partition="cxr", blocks=4, workers=6,
    ...                          decoder="zero", seed=0)
    >>> res.received, bool(np.allclose(res.estimate, A @ B))
    (4, True)
    """

    name = "cubed"
    rule = CUBED
    adaptive_refusal = "it already copies slow tasks by cubed's rule"
