"""Speculative backups run for real on Dask (codes with ``backup_copies``, docs/comparison.md).

The first copies are the job's ``W`` tasks (row ``e_k`` of the task each logical worker
copies first, delay ``copy_times[0, w]`` from the start).  Every finished task frees the
logical workers that ran a copy of it (the winner and the abandoned ones); each takes a new
copy of an unfinished task by :class:`uepmm.codes.speculative.BackupRule`, submitted at once
to the same Dask worker with the delay ``copy_times[j, v]`` counted from its own start.  The
first copy of a task to arrive is its packet (reported as logical worker ``k``, whose row is
``e_k``); later copies are dropped as duplicates, and the abandoned ones are cancelled (a
running Dask task cannot be interrupted: it finishes in its thread and is ignored).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..codes.speculative import BackupRule
from ..job import Job
from ._dask_tasks import TaskSpec, run_logical_worker

__all__ = ["DaskBackups"]


class DaskBackups:
    """The rule's state for one job on Dask, and the submission of new copies."""

    def __init__(self, job: Job, job_id: str, time_unit: float, start_timeout: float):
        K, W = job.encoding.num_products, job.workers
        self.job, self.job_id, self.time_unit, self.start_timeout = job, job_id, time_unit, start_timeout
        self.rule = BackupRule(K, W)
        self.first_task = {w: task for w, task, _ in self.rule.first_copies()}
        self.copies_of: dict[int, list[Any]] = {k: [] for k in range(K)}  # futures of each task's copies
        self.submitted = 0

    def first_delays(self) -> np.ndarray:
        """Seconds after the start at which each logical worker's first copy answers."""
        return np.asarray(self.job.copy_times[0], dtype=np.float64) * self.time_unit

    def owners(self, owner: dict[str, int]) -> dict[str, int]:
        """Task key -> the task it computes (the row ``e_k`` is logical worker ``k``'s)."""
        return {key: self.first_task[w] for key, w in owner.items()}

    def track(self, futures: list[Any], owner: dict[str, int]) -> None:
        for future in futures:
            self.copies_of[owner[future.key]].append(future)

    def finished(
        self, task: int, now: float, client: Any, placement: list[str], refs: dict, owner: dict[str, int],
        completed: Any, futures: list[Any],
    ) -> None:
        """Task ``task`` arrived ``now`` s after the start: cancel its other copies, start the freed workers' copies."""
        abandoned = [f for f in self.copies_of.get(task, ()) if not f.done()]
        if abandoned:
            client.cancel(abandoned)
        partition = self.job.partition
        for v, k, j in self.rule.finished(task, now):
            row = np.zeros(self.job.encoding.num_products)
            row[k] = 1.0
            a, b = partition.factors(k)
            key = f"{self.job_id}-w{v}-c{j}"
            spec = TaskSpec(
                job_id=self.job_id, worker=v, kind=partition.kind, grid=partition.grid, row=row, factors=None,
                delay=float(self.job.copy_times[j, v]) * self.time_unit, start_timeout=self.start_timeout,
                relative=True,
            )
            future = client.submit(
                run_logical_worker, spec, {a: refs[("a", a)]}, {b: refs[("b", b)]}, key=key,
                workers=[placement[v]], allow_other_workers=False, pure=False, retries=0,
            )
            owner[key] = k
            self.copies_of[k].append(future)
            futures.append(future)
            completed.add(future)
            self.submitted += 1
