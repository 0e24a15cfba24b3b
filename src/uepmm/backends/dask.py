"""The real distributed backend: logical workers as tasks on a Dask cluster.

``coded_matmul(..., backend="dask")`` runs here.  One job:

1. **Cluster.**  An existing ``client=``, a scheduler ``address=`` (connected with
   ``connect_timeout``), or else an embedded ``LocalCluster`` (processes, loopback, no
   dashboard) with enough threads that all ``W`` logical workers run at once; an embedded
   cluster lives for one job unless the backend is used as a context manager.
2. **Placement.**  Logical worker ``w`` is pinned to one Dask worker (round robin over
   the cluster's threads).  Every block is placed once per job, before the clock starts,
   on exactly the Dask workers whose logical workers read it.
3. **Tasks.**  Each task carries its coefficient row (or factor pair), its delay and
   references (futures) to the blocks it needs, and waits at the job's start line; once
   all are there the clock starts everywhere at once.  Then each worker builds its coded
   operands locally (:mod:`uepmm.worker`) and answers ``job.response_times()[w] * time_unit``
   seconds after the start (:mod:`uepmm.backends._dask_tasks`).
4. **Collection.**  The parameter server takes results with ``as_completed`` in arrival
   order and stops at ``deadline * time_unit`` seconds after the start; every packet is
   checked (finite, Freivalds probe, :mod:`uepmm.verification`) before the decoder sees
   it.  Raised tasks, lost workers and rejected packets become erasures; duplicate and
   late packets are dropped.  On the way out the job's unfinished tasks are released
   and cancelled.

Packet times are wall-clock seconds since the start; ``last_report`` has the details.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
import uuid
import warnings
from collections import defaultdict
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from .._validation import positive_float, positive_int
from ..job import Job, Packet
from ..verification import PacketVerifier
from ._dask_tasks import (
    FAULTS,
    KILL_EXIT_CODE,
    TaskSpec,
    ready_count,
    release_job,
    run_logical_worker,
    start_job,
    warm_up,
)

try:
    from distributed import Client, LocalCluster, as_completed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "backend='dask' needs dask.distributed; install it with `pip install 'uepmm[dask]'`"
    ) from exc

__all__ = ["DaskBackend", "DaskConnectionError", "FAULTS", "KILL_EXIT_CODE", "DEFAULT_TIME_UNIT"]

#: Seconds per latency-model time unit unless ``time_unit=`` says otherwise.
DEFAULT_TIME_UNIT = 0.1

_log = logging.getLogger(__name__)


class DaskConnectionError(ConnectionError):
    """The Dask scheduler could not be reached within ``connect_timeout`` seconds."""


class DaskBackend:
    """Run a :class:`~uepmm.job.Job` on a Dask cluster; see the module docstring.

    Parameters
    ----------
    client : an existing ``dask.distributed.Client`` (never closed by the backend).
    address : ``"tcp://host:port"`` of a running scheduler (instead of ``client``).
    time_unit : seconds per latency-model time unit (default 0.1).
    connect_timeout : seconds to wait for ``address`` before :class:`DaskConnectionError`.
    n_workers, threads_per_worker : size of the embedded ``LocalCluster`` (default:
        ``min(W, cpu count)`` processes, and enough threads for all ``W`` logical workers).
    verify : check every packet (finite + Freivalds probe) before decoding (default True).
    verify_rtol : tolerance of the probe (default ``32 * eps * inner dimension``).
    verify_seed : seeds the probe vectors (default: fresh entropy per job).
    poll_interval : seconds between checks that the Dask workers are still alive.
    start_timeout : most seconds to wait for all tasks to reach the start line (then the
        clock starts anyway and ``report["start_timed_out"]`` is True).
    faults : test-only fault injection, ``{"corrupt"|"nan"|"raise"|"kill"|"duplicate": [w, ...]}``.

    Use ``with DaskBackend(...) as backend:`` to keep an embedded cluster (or a client
    made from ``address``) across jobs; otherwise it is closed when the job ends.
    """

    name = "dask"

    def __init__(
        self,
        *,
        client: Any = None,
        address: str | None = None,
        time_unit: float = DEFAULT_TIME_UNIT,
        connect_timeout: float = 10.0,
        n_workers: int | None = None,
        threads_per_worker: int | None = None,
        verify: bool = True,
        verify_rtol: float | None = None,
        verify_seed: int | np.random.SeedSequence | None = None,
        poll_interval: float = 0.1,
        start_timeout: float = 10.0,
        faults: Mapping[str, Iterable[int]] | None = None,
    ):
        if client is not None and address is not None:
            raise ValueError("give either client= (an existing dask.distributed.Client) or address=, not both")
        if client is not None and not isinstance(client, Client):
            raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise TypeError(f"address must be a scheduler address such as 'tcp://127.0.0.1:8786', got {address!r}")
        if (client is not None or address is not None) and (n_workers is not None or threads_per_worker is not None):
            raise ValueError(
                "n_workers/threads_per_worker size the embedded LocalCluster; they cannot apply to an "
                "existing client or address (size that cluster when you start it)"
            )
        if not isinstance(verify, bool):
            raise TypeError(f"verify must be True or False, got {verify!r}")
        self._client: Any = client
        self.address = address.strip() if isinstance(address, str) else None
        self.time_unit = positive_float(time_unit, "time_unit")
        self.connect_timeout = positive_float(connect_timeout, "connect_timeout")
        self.n_workers = None if n_workers is None else positive_int(n_workers, "n_workers")
        self.threads_per_worker = None if threads_per_worker is None else positive_int(threads_per_worker, "threads_per_worker")
        self.verify = verify
        self.verify_rtol = None if verify_rtol is None else positive_float(verify_rtol, "verify_rtol")
        self._verify_seeds = verify_seed if isinstance(verify_seed, np.random.SeedSequence) else np.random.SeedSequence(verify_seed)
        self.poll_interval = positive_float(poll_interval, "poll_interval")
        self.start_timeout = positive_float(start_timeout, "start_timeout")
        self.faults = _check_faults(faults)
        self.last_report: dict[str, Any] = {}
        self._owned_client: Any = None
        self._owned_cluster: Any = None
        self._persistent = False
        self._missing: set[str] = set()

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "DaskBackend":
        self._persistent = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._persistent = False
        self.close()

    def close(self) -> None:
        """Close the client/cluster this backend started (never a ``client=`` it was given)."""
        client, cluster = self._owned_client, self._owned_cluster
        self._owned_client = self._owned_cluster = None
        for thing in (client, cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing is best effort
                    _log.debug("error while closing %r", thing, exc_info=True)

    @property
    def client(self) -> Any:
        """The client in use (``None`` before the first job of an embedded/address backend)."""
        return self._client if self._client is not None else self._owned_client

    def _acquire(self, workers: int) -> tuple[Any, str]:
        if self._client is not None:
            return self._client, "client"
        if self.address is not None:
            if self._owned_client is None:
                try:
                    self._owned_client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
                except (OSError, TimeoutError) as exc:
                    raise DaskConnectionError(
                        f"could not reach the Dask scheduler at {self.address!r} within {self.connect_timeout:g} s "
                        f"({type(exc).__name__}: {exc}); start one (`dask scheduler` and `dask worker ADDRESS`), "
                        f"check the address, or raise connect_timeout"
                    ) from None
            return self._owned_client, "address"
        if self._owned_client is not None and (
            self.threads_per_worker is not None or _total_threads(self._owned_client) >= workers
        ):  # reuse; a cluster with too few threads is restarted bigger unless its size was fixed
            return self._owned_client, "embedded"
        self.close()
        n_workers = self.n_workers or max(1, min(workers, os.cpu_count() or 1))
        threads = self.threads_per_worker or -(-workers // n_workers)
        self._owned_cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # no fixed port to collide on; loopback only
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        )
        self._owned_client = Client(self._owned_cluster, set_as_default=False)
        return self._owned_client, "embedded"

    # -------------------------------------------------------------------- a job
    def packets(self, job: Job) -> Iterator[Packet]:
        W = job.workers
        for kind, members in self.faults.items():
            bad = [w for w in members if not 0 <= w < W]
            if bad:
                raise ValueError(f"faults[{kind!r}] names workers {bad}, but the job has workers 0..{W - 1}")
        client, mode = self._acquire(W)
        try:
            yield from self._run(job, client, mode)
        finally:
            if not self._persistent and mode != "client":
                self.close()

    def _run(self, job: Job, client: Any, mode: str) -> Iterator[Packet]:
        W, partition = job.workers, job.partition
        job_id = f"uepmm-{uuid.uuid4().hex[:16]}"
        report: dict[str, Any] = {"cluster": mode, "time_unit": self.time_unit, "job_id": job_id}
        self.last_report = report
        t_setup = time.perf_counter()

        # -- placement: logical worker -> Dask worker, round robin over threads
        nthreads = _worker_threads(client)
        if not nthreads:
            raise RuntimeError("the Dask cluster has no workers; start some (`dask worker ADDRESS`)")
        slots = _slots(nthreads)
        placement = [slots[w % len(slots)] for w in range(W)]
        used = sorted(set(placement))
        if len(slots) < W:
            warnings.warn(
                f"the Dask cluster has {len(slots)} threads for {W} logical workers: some tasks will queue "
                f"behind others and answer later than the latency model says; give the cluster at least {W} threads",
                RuntimeWarning,
                stacklevel=4,
            )
        client.run(warm_up, workers=used)  # imports the task module before anything is timed

        # -- every block once, on exactly the Dask workers whose logical workers read it
        needs: dict[tuple[str, int], set[str]] = defaultdict(set)
        for w in range(W):
            a_idx, b_idx = _support(job, w)
            for i in a_idx:
                needs[("a", i)].add(placement[w])
            for j in b_idx:
                needs[("b", j)].add(placement[w])
        by_destination: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
        for block, dests in needs.items():
            by_destination[tuple(sorted(dests))].append(block)
        refs: dict[tuple[str, int], Any] = {}
        scatter_bytes = 0
        # straight from this process to the workers when they are on this machine (saves the
        # relay through the scheduler); otherwise Dask's own choice
        direct = True if all(_is_loopback(addr) for addr in used) else None
        for dests, blocks in by_destination.items():
            data = [job.a_blocks[i] if side == "a" else job.b_blocks[i] for side, i in blocks]
            scatter_bytes += sum(int(d.nbytes) for d in data) * len(dests)
            placed = client.scatter(data, workers=list(dests), broadcast=len(dests) > 1, hash=False, direct=direct)
            refs.update(zip(blocks, placed))
        block_futures = list(refs.values())
        report["scatter_seconds"] = time.perf_counter() - t_setup
        report["scatter_bytes"] = scatter_bytes

        verifier = None
        if self.verify:
            rng = np.random.default_rng(self._verify_seeds.spawn(1)[0])
            verifier = PacketVerifier(partition, job.a_blocks, job.b_blocks, rng=rng, rtol=self.verify_rtol)
            report["verify_rtol"] = verifier.rtol

        model_times = job.response_times()
        delays = model_times * self.time_unit
        deadline_s = job.deadline * self.time_unit if math.isfinite(job.deadline) else math.inf
        fault_of = {w: kind for kind, members in self.faults.items() if kind != "duplicate" for w in members}
        report.update(
            {
                "deadline_seconds": deadline_s,
                "response_times": model_times.tolist(),
                "dask_workers": {addr: [w for w in range(W) if placement[w] == addr] for addr in used},
                "threads": len(slots),
            }
        )

        # -- submit one task per logical worker (+ test-only duplicates), one graph per Dask
        #    worker: tasks submitted one by one would reach the workers a round trip apart
        submissions = [(w, f"{job_id}-w{w}") for w in range(W)]
        submissions += [(w, f"{job_id}-w{w}-dup") for w in sorted(self.faults.get("duplicate", ()))]
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for w, key in submissions:
            groups[placement[w]].append((w, key))
        owner: dict[str, int] = {key: w for w, key in submissions}
        futures: list[Any] = []
        t_submit = time.perf_counter()
        for addr, members in groups.items():
            specs, a_refs, b_refs = [], [], []
            for w, _ in members:
                a_idx, b_idx = _support(job, w)
                factors = job.encoding.factors[w] if job.encoding.factors is not None else None
                specs.append(
                    TaskSpec(
                        job_id=job_id,
                        worker=w,
                        kind=partition.kind,
                        grid=partition.grid,
                        row=None if factors is not None else job.encoding.generator[w],
                        factors=factors,
                        delay=float(delays[w]),
                        start_timeout=self.start_timeout + 60.0,
                        fault=fault_of.get(w),
                    )
                )
                a_refs.append({i: refs[("a", i)] for i in a_idx})
                b_refs.append({j: refs[("b", j)] for j in b_idx})
            futures += client.map(
                run_logical_worker,
                specs,
                a_refs,
                b_refs,
                key=[key for _, key in members],
                workers=[addr],
                allow_other_workers=False,
                pure=False,
                retries=0,
            )
        pending = set(range(W))
        statuses: dict[int, str] = {}
        arrival_seconds: dict[int, float] = {}
        info_of: dict[int, dict[str, Any]] = {}
        errors: list[dict[str, Any]] = []
        counters = {"duplicates": 0, "late": 0, "rejected": 0}
        t0 = math.nan
        try:
            # -- the start line: the clock starts once every task is in place
            expected = {addr: min(len(members), nthreads[addr]) for addr, members in groups.items()}
            report["start_timed_out"] = not self._await_start_line(client, job_id, expected, futures)
            t0 = time.perf_counter()
            client.run(start_job, job_id, workers=used, on_error="ignore")
            report["startup_seconds"] = t0 - t_submit

            # -- collect in arrival order until the deadline
            arrivals: queue.Queue = queue.Queue()
            completed = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)

            def forward() -> None:
                try:
                    for future, result in completed:
                        arrivals.put((future, result, time.perf_counter() - t0))
                except Exception as exc:  # the client went away: the deadline or liveness check ends the job
                    _log.debug("as_completed stopped: %r", exc)

            threading.Thread(target=forward, name=f"{job_id}-collect", daemon=True).start()

            def accept(future: Any, result: Any, t_recv: float) -> Packet | None:
                w = owner[future.key]
                if w not in pending:
                    counters["duplicates"] += 1
                    return None
                if t_recv > deadline_s:
                    counters["late"] += 1
                    return None
                pending.discard(w)
                arrival_seconds[w] = t_recv
                payload, status = None, "ok"
                if future.status == "error":
                    status = "error"
                    exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
                    errors.append({"worker": w, "error": f"{type(exc).__name__}: {exc}"})
                elif future.status != "finished" or not (isinstance(result, tuple) and len(result) == 2):
                    # Dask gave up on the task, typically because its worker died with its blocks
                    status = "lost" if placement[w] in _alive(client) else "worker-lost"
                else:
                    payload, info_of[w] = result
                    if payload is None:  # released before its delay ran out: nobody asked for it
                        status = "lost"
                    elif verifier is not None:
                        status = verifier.check(job.encoding.generator[w], payload)
                    elif not (isinstance(payload, np.ndarray) and payload.shape == tuple(partition.product_shape)):
                        status = "malformed"
                if status != "ok":
                    payload = None
                    if status in ("malformed", "nonfinite", "corrupt"):
                        counters["rejected"] += 1
                statuses[w] = status
                return Packet(w, t_recv, payload, status)

            last_check = 0.0
            self._missing = set()
            while pending:
                now = time.perf_counter() - t0
                if now > deadline_s:
                    break
                if now - last_check >= self.poll_interval:
                    last_check = now
                    for packet in self._lost_workers(client, placement, pending, now):
                        statuses[packet.worker] = packet.status
                        yield packet
                    if not pending:
                        break
                try:
                    item = arrivals.get(timeout=max(0.0, min(self.poll_interval, deadline_s - now)))
                except queue.Empty:
                    continue
                packet = accept(*item)
                if packet is not None:
                    yield packet
            # past the deadline: what had already arrived still counts, the rest is late
            while pending:
                try:
                    item = arrivals.get_nowait()
                except queue.Empty:
                    break
                packet = accept(*item)
                if packet is not None:
                    yield packet
        finally:
            elapsed = time.perf_counter() - t0
            self._release(client, job_id, futures, block_futures, used)
            ready = {w: float(info.get("ready_seconds", math.nan)) for w, info in info_of.items()}
            report.update(
                {
                    "elapsed_seconds": elapsed,
                    "arrival_seconds": arrival_seconds,
                    "compute_seconds": {w: float(info.get("compute_seconds", math.nan)) for w, info in info_of.items()},
                    "start_lag_seconds": {w: float(info.get("start_lag_seconds", math.nan)) for w, info in info_of.items()},
                    "overruns": sorted(w for w, r in ready.items() if r > delays[w]),
                    "statuses": statuses,
                    "unfinished": sorted(pending),
                    "errors": errors,
                    **counters,
                    "release_seconds": time.perf_counter() - t0 - elapsed,
                }
            )

    def _await_start_line(self, client: Any, job_id: str, expected: dict[str, int], futures: list) -> bool:
        """Wait until the expected number of tasks wait at the start line on every live worker.

        A task that already ended (it failed before reaching the line) counts as there.
        ``False`` if ``start_timeout`` passed first (the clock then starts anyway).
        """
        give_up = time.perf_counter() + self.start_timeout
        alive, checked = set(expected), time.perf_counter()
        while True:
            if time.perf_counter() - checked > self.poll_interval:  # a worker may have died meanwhile
                alive, checked = set(_worker_threads(client)), time.perf_counter()
            targets = sorted(set(expected) & alive)
            counts = client.run(ready_count, job_id, workers=targets, on_error="return") if targets else {}
            ready = sum(n for n in counts.values() if isinstance(n, int))
            ended = sum(1 for f in futures if f.status in ("error", "cancelled", "lost"))
            if ready + ended >= sum(expected[a] for a in targets):
                return True
            if time.perf_counter() > give_up:
                return False
            time.sleep(0.005)

    # ---------------------------------------------------------------- helpers
    def _lost_workers(self, client: Any, placement: list[str], pending: set[int], now: float) -> list[Packet]:
        """Erasures for pending logical workers whose Dask worker has left the cluster.

        A worker counts as gone when two checks in a row (``poll_interval`` apart) miss it.
        """
        try:
            alive = set(_worker_threads(client))
        except Exception:  # scheduler unreachable: the deadline decides
            return []
        missing = {placement[w] for w in pending} - alive
        gone, self._missing = missing & self._missing, missing
        lost = sorted(w for w in pending if placement[w] in gone)
        for w in lost:
            pending.discard(w)
        return [Packet(w, now, None, "worker-lost") for w in lost]

    def _release(self, client: Any, job_id: str, futures: list, block_futures: list, placement: list[str]) -> None:
        """Open the job's gate on its Dask workers, cancel its tasks, drop its blocks."""
        try:
            alive = set(_worker_threads(client))
            targets = sorted(set(placement) & alive)
            if targets:
                client.run(release_job, job_id, workers=targets, on_error="ignore")
        except Exception:
            _log.debug("could not release job %s", job_id, exc_info=True)
        try:
            client.cancel(futures + block_futures)
        except Exception:
            _log.debug("could not cancel job %s", job_id, exc_info=True)


# ------------------------------------------------------------------------ helpers
def _check_faults(faults: Mapping[str, Iterable[int]] | None) -> dict[str, frozenset[int]]:
    if faults is None:
        return {}
    if not isinstance(faults, Mapping):
        raise TypeError(f"faults must be a dict such as {{'nan': [0, 3]}}, got {faults!r}")
    out: dict[str, frozenset[int]] = {}
    for kind, members in faults.items():
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; valid faults are {', '.join(map(repr, FAULTS))}")
        try:
            workers = [positive_int(w, f"faults[{kind!r}] entries", minimum=0) for w in members]
        except TypeError:
            raise TypeError(f"faults[{kind!r}] must be a list of logical worker indices, got {members!r}") from None
        out[kind] = frozenset(workers)
    hit = [w for kind in ("corrupt", "nan", "raise", "kill") for w in out.get(kind, ())]
    if len(hit) != len(set(hit)):
        raise ValueError("a logical worker can be given at most one of the faults corrupt, nan, raise, kill")
    return out


def _support(job: Job, worker: int) -> tuple[list[int], list[int]]:
    """Indices of the A and B blocks that logical worker ``worker`` reads."""
    if job.encoding.factors is not None:
        alpha, beta = job.encoding.factors[worker]
        return np.flatnonzero(alpha).tolist(), np.flatnonzero(beta).tolist()
    cells = job.encoding.support(worker)
    pairs = [job.partition.factors(int(k)) for k in cells]
    return sorted({i for i, _ in pairs}), sorted({j for _, j in pairs})


def _worker_threads(client: Any) -> dict[str, int]:
    """``{address: threads}`` of the cluster's current workers, asked of the scheduler now.

    (Not ``Client.scheduler_info()``: its cached answer can be replaced concurrently by a
    periodic update that carries no per-worker entries.)
    """
    return {str(addr): int(n) for addr, n in sorted(client.nthreads().items())}


def _alive(client: Any) -> set[str]:
    try:
        return set(_worker_threads(client))
    except Exception:
        return set()


def _total_threads(client: Any) -> int:
    try:
        return sum(_worker_threads(client).values())
    except Exception:
        return 0


def _is_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _slots(nthreads: dict[str, int]) -> list[str]:
    """One entry per thread, interleaving workers: ``[w0, w1, w0, w1, ...]``."""
    slots: list[str] = []
    for level in range(max(nthreads.values())):
        slots.extend(addr for addr, n in nthreads.items() if n > level)
    return slots
