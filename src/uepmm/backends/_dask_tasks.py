"""What runs inside a Dask worker process: one logical worker's task, and the job's gates.

Kept apart from :mod:`uepmm.backends.dask` so that a Dask worker imports only what a task
needs (numpy and :mod:`uepmm.worker`); ``distributed`` itself is not imported here.

Protocol of one job (``job_id``) in each Dask worker process:

1. Every task registers at the job's *start line* and waits there.  The parameter server
   polls :func:`ready_count` (through ``Client.run``) until all its tasks are waiting, then
   sends :func:`start_job`: the job's clock starts for every logical worker at once, so
   the time Dask takes to start W tasks (tens to hundreds of milliseconds on a small
   machine) is not mistaken for response time.  A job without model delays (``latency=None``,
   every delay 0) has no start line (``TaskSpec.gated=False``): each task starts when Dask
   runs it, so a slow Dask worker delays only its own tasks.
2. After the start, a task computes its coded packet from the blocks it was given, and
   answers ``delay`` seconds after the start (or when the computation ends, if that is
   later): the injected delay *is* the model's response time.  The waits are
   ``threading.Event.wait``, which releases the GIL, so the threads of one Dask worker
   wait in parallel.
3. :func:`release_job` (deadline passed, or the parameter server stopped early) wakes every
   waiting task of the job; they return ``None`` at once instead of holding their threads.
   A task computes its product in row slabs (:data:`SLABS`) and stops between two slabs once
   its job is released or Dask cancelled the task itself (the worker's state for its key is no
   longer ``executing``), so a released job frees its threads within one slab;
   :func:`running_count` says how many of a job's tasks are still inside their function.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..worker import PacketTerms, coded_terms, factor_terms

__all__ = [
    "TaskSpec",
    "InjectedFault",
    "run_logical_worker",
    "ready_count",
    "start_job",
    "release_job",
    "warm_up",
    "running_count",
    "KILL_EXIT_CODE",
    "FAULTS",
]

#: Test-only fault kinds a task can be told to inject (see ``DaskBackend(faults=...)``); ``"stall"``:
#: the task never answers (it waits, computing nothing, until it is released or cancelled).
FAULTS = ("corrupt", "nan", "raise", "kill", "duplicate", "stall")
#: A task's product is computed in at most this many row slabs (each at least :data:`MIN_SLAB_ROWS` rows).
SLABS = 8
MIN_SLAB_ROWS = 64
#: Exit status of a Dask worker process killed by the ``"kill"`` fault.
KILL_EXIT_CODE = 73


class InjectedFault(RuntimeError):
    """Raised by a task told to fail (``faults={"raise": [...]}``)."""


@dataclass(frozen=True)
class TaskSpec:
    """Everything one logical worker needs besides its blocks (a few hundred bytes).

    ``row``: the coefficient row (direct encoding), or ``None`` with ``factors = (alpha, beta)``
    (eq. 11 factor form).  ``delay``: the injected response time in seconds, counted from
    the job's start (``relative``: from this task's own start, for a speculative copy
    submitted after the start).  ``start_timeout``: how long to wait at the start line
    before giving up (the parameter server is gone).  ``gated=False``: no start line (a job
    without model delays); the task starts when Dask runs it and counts from there.
    """

    job_id: str
    worker: int
    kind: str
    grid: tuple[int, int]
    row: np.ndarray | None
    factors: tuple[np.ndarray, np.ndarray] | None
    delay: float
    start_timeout: float = 300.0
    fault: str | None = None
    relative: bool = False
    gated: bool = True


# ---------------------------------------------------------------- per-job gates
@dataclass
class _JobGates:
    started: threading.Event = field(default_factory=threading.Event)  # set by start or release
    released: threading.Event = field(default_factory=threading.Event)
    start_time: float = 0.0  # time.perf_counter() of this process when the start arrived
    waiting: int = 0  # tasks at the start line


_LOCK = threading.Lock()
_JOBS: dict[str, _JobGates] = {}
_RELEASED: collections.deque[str] = collections.deque(maxlen=4096)  # answers tasks that come late
_RUNNING: collections.Counter[str] = collections.Counter()  # tasks of each job inside run_logical_worker


def _gates(job_id: str) -> _JobGates:
    with _LOCK:
        gates = _JOBS.get(job_id)
        if gates is None:
            gates = _JobGates()
            if job_id in _RELEASED:
                gates.released.set()
                gates.started.set()
            else:
                _JOBS[job_id] = gates
        return gates


def ready_count(job_id: str) -> int:
    """Tasks of ``job_id`` waiting at the start line in this process (for ``Client.run``)."""
    with _LOCK:
        gates = _JOBS.get(job_id)
        return 0 if gates is None else gates.waiting


def start_job(job_id: str) -> bool:
    """Start ``job_id``'s clock in this process; its waiting tasks go (for ``Client.run``)."""
    gates = _gates(job_id)
    with _LOCK:
        if not gates.started.is_set():
            gates.start_time = time.perf_counter()
    gates.started.set()
    return True


def release_job(job_id: str) -> bool:
    """Wake every waiting task of ``job_id`` in this process; they return ``None``. Idempotent."""
    with _LOCK:
        gates = _JOBS.pop(job_id, None)
        if job_id not in _RELEASED:
            _RELEASED.append(job_id)
        if gates is not None:
            gates.released.set()
    if gates is not None:
        gates.started.set()
    return gates is not None


def running_count(job_id: str) -> int:
    """Tasks of ``job_id`` at work in this process (for ``Client.run``): those that entered their
    function before the job was released and have not left it.  A task that starts after
    :func:`release_job` returns at once without counting, so once this is 0 after a release,
    nothing of the job computes in this process any more."""
    with _LOCK:
        return _RUNNING[job_id]


def _task_cancelled() -> bool:
    """Dask no longer wants the task running in this thread (its key was cancelled or released)."""
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        state = get_worker().state.tasks.get(thread_state.key)
    except Exception:  # noqa: BLE001 (not inside a Dask task: nothing can cancel it)
        return False
    return state is None or state.state not in ("executing", "long-running")


def warm_up() -> int:
    """Run on each Dask worker before a job (``Client.run``): imports this module and numpy's
    matmul path, so that the first task of a fresh cluster does not pay for them."""
    return int(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))


# ----------------------------------------------------------------------- the task
def _terms(spec: TaskSpec, a_blocks: Mapping[int, Any], b_blocks: Mapping[int, Any]) -> PacketTerms:
    if spec.factors is not None:
        alpha, beta = spec.factors
        return factor_terms(a_blocks, b_blocks, alpha, beta)
    return coded_terms(spec.kind, a_blocks, b_blocks, spec.grid, spec.row)


def _compute(
    spec: TaskSpec, a_blocks: Mapping[int, np.ndarray], b_blocks: Mapping[int, np.ndarray],
    stop: Callable[[], bool] = lambda: False,
) -> np.ndarray | None:
    """The packet, in row slabs of the A blocks (every packet row comes from the same rows of
    the A blocks it reads; the B side is combined once); ``None`` if ``stop()`` says so between two slabs."""
    terms = _terms(spec, a_blocks, b_blocks)
    rows = terms.rows
    slabs = max(1, min(SLABS, rows // MIN_SLAB_ROWS))
    if slabs == 1 or any(not isinstance(a, np.ndarray) for a in a_blocks.values()):  # sparse: one piece
        return terms.compute()
    bounds = np.linspace(0, rows, slabs + 1).astype(int)
    out = None
    for r0, r1 in zip(bounds[:-1], bounds[1:]):
        if stop():
            return None
        part = terms.compute(int(r0), int(r1))
        if out is None:
            out = np.empty((rows, part.shape[1]), dtype=part.dtype)
        out[r0:r1] = part
    return out


def _damage(payload: np.ndarray, fault: str | None, worker: int) -> np.ndarray:
    if fault not in ("nan", "corrupt"):
        return payload
    out = np.array(payload, copy=True)
    index = (7919 * (worker + 1)) % out.size  # some entry, different per worker
    if fault == "nan":
        out.flat[index] = np.nan
    else:  # finite but wrong: one entry off by about the packet's largest magnitude
        out.flat[index] += 1.0 + float(np.max(np.abs(out)))
    return out


def run_logical_worker(
    spec: TaskSpec, a_blocks: Mapping[int, np.ndarray], b_blocks: Mapping[int, np.ndarray]
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Wait for the start, compute the packet, answer ``(packet, info)`` after the delay.

    The packet is ``None`` when the job was released first (the parameter server no longer
    wants it).  ``info``: ``compute_seconds`` (the product alone), ``ready_seconds`` (start
    to packet ready; above ``delay`` the packet answered later than the latency model
    said) and ``start_lag_seconds`` (start to this task running).
    """
    gates = _gates(spec.job_id)
    with _LOCK:  # atomic with release_job: a task either counts as running or sees the release
        if gates.released.is_set():
            return None, {"compute_seconds": 0.0, "released": True}
        _RUNNING[spec.job_id] += 1
    try:
        return _run(spec, a_blocks, b_blocks)
    finally:
        with _LOCK:
            _RUNNING[spec.job_id] -= 1
            if _RUNNING[spec.job_id] <= 0:
                del _RUNNING[spec.job_id]


def _run(
    spec: TaskSpec, a_blocks: Mapping[int, np.ndarray], b_blocks: Mapping[int, np.ndarray]
) -> tuple[np.ndarray | None, dict[str, Any]]:
    gates = _gates(spec.job_id)
    if spec.gated:
        with _LOCK:
            gates.waiting += 1
        try:
            gates.started.wait(spec.start_timeout)
        finally:
            with _LOCK:
                gates.waiting -= 1
    if gates.released.is_set() or (spec.gated and not gates.started.is_set()):
        return None, {"compute_seconds": 0.0, "released": True}
    start = gates.start_time if spec.gated and not spec.relative else time.perf_counter()
    info: dict[str, Any] = {"start_lag_seconds": time.perf_counter() - start}
    if spec.fault == "kill":  # die mid-job: half-way through the delay, with the whole process
        if gates.released.wait(max(0.0, spec.delay / 2 - (time.perf_counter() - start))):
            return None, {**info, "compute_seconds": 0.0, "released": True}
        os._exit(KILL_EXIT_CODE)
    stop = lambda: gates.released.is_set() or _task_cancelled()  # noqa: E731
    if spec.fault == "stall":  # never answers: waits until released or cancelled
        while not stop():
            gates.released.wait(0.01)
        return None, {**info, "compute_seconds": 0.0, "released": True}
    t_compute = time.perf_counter()
    payload = _compute(spec, a_blocks, b_blocks, stop)
    info["compute_seconds"] = time.perf_counter() - t_compute
    if payload is None:  # stopped between two slabs
        return None, {**info, "released": True}
    payload = _damage(payload, spec.fault, spec.worker)
    info["ready_seconds"] = time.perf_counter() - start
    left = spec.delay - (time.perf_counter() - start)
    info["released"] = gates.released.wait(left) if left > 0 else gates.released.is_set()
    if info["released"]:
        return None, info
    if spec.fault == "raise":
        raise InjectedFault(f"injected fault: logical worker {spec.worker} raised")
    return payload, info
