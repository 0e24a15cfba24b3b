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
   seconds after the start (:mod:`uepmm.backends._dask_tasks`).  The start line exists so
   that model delays run on a common clock: a job without them (``latency=None``, every
   delay 0) has none.  Its clock starts at submission and each task runs as soon as Dask
   runs it, so a slow Dask worker delays its own tasks only (``report["start_line"]``).
4. **Collection** (:mod:`uepmm.backends._dask_collect`).  The parameter server takes
   results with ``as_completed`` in arrival order and stops at ``deadline * time_unit``
   seconds after the start; every packet is checked (finite, Freivalds probe,
   :mod:`uepmm.verification`) before the decoder sees it.  Raised tasks, lost workers and
   rejected packets become erasures; duplicate and late packets are dropped.  On the way
   out the job's unfinished tasks are released and cancelled.
5. **Data on the cluster** (``dask.array`` inputs, :mod:`uepmm.backends._dask_arrays`): the
   blocks are tasks computed there, each packet stays there as a future and the PS checks
   a summary of it (:mod:`uepmm.backends._dask_decode`); the decoder combines the futures.

Packet times are wall-clock seconds since the start; ``last_report`` has the details.

That is the *pinned* execution.  ``DaskBackend(execution="pull")`` pins nothing: the
processes pull packets in importance order, a few each at a time, adaptive packets and
Spark/cubed copies run for real (:mod:`uepmm.backends._dask_pull`); ``execution="auto"``
(the default) pulls when the job has no model delays (``latency=None``) and pins otherwise.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
import warnings
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import positive_float, positive_int
from ..job import Job, Packet
from ..verification import PacketVerifier
from ._dask_backups import DaskBackups
from ._dask_collect import Arrivals, Collector
from ._dask_decode import cluster_verifier, is_cluster_job, place_blocks, summarize
from ._dask_pull import PullExecution
from ._dask_scatter import block_support, scatter_and_submit, scatter_blocks
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

if TYPE_CHECKING:
    from typing_extensions import Self

try:
    from distributed import Client, LocalCluster, as_completed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "backend='dask' needs dask.distributed; install it with `pip install 'uepmm[dask]'`"
    ) from exc

__all__ = ["DEFAULT_TIME_UNIT", "EXECUTIONS", "FAULTS", "KILL_EXIT_CODE", "DaskBackend", "DaskConnectionError"]

#: How packets reach the processes (``DaskBackend(execution=...)``).
EXECUTIONS = ("auto", "pinned", "pull")

#: The delay of a logical worker whose model time is ``inf`` (it answers only if never released).
_NEVER_SECONDS = 1e9

#: Seconds per latency-model time unit unless ``time_unit=`` says otherwise.
DEFAULT_TIME_UNIT = 0.1

_log = logging.getLogger(__name__)

_WARM: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> Dask workers it warmed up


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
    faults : test-only fault injection, ``{"corrupt"|"nan"|"raise"|"kill"|"duplicate"|"stall": [w, ...]}``
        (pull execution: by packet, the job's rows; packets sent later carry no fault).
    execution : ``"pinned"`` (logical workers pinned round robin, model delays on a common
        clock: this module's docstring), ``"pull"`` (no pinning: processes pull packets in
        importance order, adaptive packets and Spark/cubed copies run for real;
        :mod:`uepmm.backends._dask_pull`, needs a job without model delays) or ``"auto"``
        (default: pull for a job without model delays, ``latency=None``, else pinned).

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
        execution: str = "auto",
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
        self.threads_per_worker = (
            None if threads_per_worker is None else positive_int(threads_per_worker, "threads_per_worker")
        )
        self.verify = verify
        self.verify_rtol = None if verify_rtol is None else positive_float(verify_rtol, "verify_rtol")
        self._verify_seeds = (
            verify_seed if isinstance(verify_seed, np.random.SeedSequence) else np.random.SeedSequence(verify_seed)
        )
        self.poll_interval = positive_float(poll_interval, "poll_interval")
        self.start_timeout = positive_float(start_timeout, "start_timeout")
        self.faults = _check_faults(faults)
        if execution not in EXECUTIONS:
            raise ValueError(
                f"execution must be one of {', '.join(map(repr, EXECUTIONS))} (how packets reach the processes), "
                f"got {execution!r}"
            )
        self.execution = execution
        self.last_report: dict[str, Any] = {}
        self._owned_client: Any = None
        self._owned_cluster: Any = None
        self._persistent = False

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        self._persistent = True
        return self

    def __exit__(self, *exc_info: object) -> None:
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
                except Exception:  # noqa: BLE001 (closing is best effort)
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
        execution = self.execution_for(job)
        client, mode = self._acquire(2 * W if job.copy_times is not None else W)  # backup copies: threads to spare
        try:
            if execution == "pull":
                job_id = f"uepmm-{uuid.uuid4().hex[:16]}"
                self.last_report = {"cluster": mode, "time_unit": self.time_unit, "job_id": job_id,
                                    "execution": "pull"}
                run = PullExecution(self, client, job, job_id, self.last_report, lambda: _worker_threads(client))
                yield from run.packets()
            else:
                yield from self._run(job, client, mode)
        finally:
            if not self._persistent and mode != "client":
                self.close()

    def execution_for(self, job: Job) -> str:
        """``"pull"`` or ``"pinned"``: how this backend runs ``job`` (``execution="auto"``: pull when the
        job has no model delays and no hedging copies); a clear error for a job one of them cannot run.

        Examples
        --------
        >>> import numpy as np, uepmm
        >>> from uepmm.backends.dask import DaskBackend
        >>> A, B = np.ones((4, 6)), np.ones((6, 4))
        >>> job = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, latency=None).job
        >>> DaskBackend().execution_for(job), DaskBackend(execution="pinned").execution_for(job)
        ('pull', 'pinned')
        """
        times = np.asarray(job.times, dtype=np.float64)
        delays = bool(np.any(times[np.isfinite(times)] > 0))  # late speculation: the spares' rows are inf
        needs_pull = job.live is not None or job.late_rule is not None
        if self.execution == "pinned" and needs_pull:
            what = "adaptive packets" if job.live is not None else "late speculation (Spark, cubed)"
            raise ValueError(f"{what} run on Dask by pull execution only: use DaskBackend(execution='pull' or 'auto')")
        if self.execution == "pull" and job.copy_times is not None:
            raise ValueError(
                "code 'speculative' runs its hedging copies pinned (execution='pinned' or 'auto'); pull execution "
                "has the same copy rule as code='uncoded' with adaptive=True"
            )
        if self.execution == "pull" and delays:
            raise ValueError(
                "execution='pull' runs packets as fast as the cluster computes them, without model delays: plan the "
                "job with latency=None, or use execution='pinned' for the latency model's delays"
            )
        if self.execution != "auto":
            return self.execution
        return "pull" if needs_pull or not (delays or job.copy_times is not None) else "pinned"

    def _run(self, job: Job, client: Any, mode: str) -> Iterator[Packet]:
        """Place, scatter, submit, start, then collect until the deadline (module docstring)."""
        job_id = f"uepmm-{uuid.uuid4().hex[:16]}"
        report: dict[str, Any] = {"cluster": mode, "time_unit": self.time_unit, "job_id": job_id,
                                  "execution": "pinned"}
        self.last_report = report
        t_setup = time.perf_counter()
        nthreads, slots, placement = self._place(client, job.workers)
        used = sorted(set(placement))
        on_cluster = is_cluster_job(job)  # dask.array inputs: blocks, packets and decoding stay there
        model_times = job.response_times()
        backups = None if job.copy_times is None else DaskBackups(job, job_id, self.time_unit, self.start_timeout + 60)
        # speculative copies run for real (first copies now, the rest as tasks finish; _dask_backups)
        delays = backups.first_delays() if backups else np.minimum(model_times * self.time_unit, _NEVER_SECONDS)
        gated = bool(np.any(delays > 0))  # no model delays (latency=None): no common clock, no start line
        pipelined = not gated and not on_cluster and backups is None  # each worker's blocks, then tasks
        refs, scatter_bytes = (
            ({}, 0) if pipelined
            else (place_blocks(client, job, wait_for_them=gated), 0) if on_cluster
            else scatter_blocks(client, job, placement, used)
        )
        block_futures = list(refs.values())
        report.update(scatter_seconds=time.perf_counter() - t_setup, scatter_bytes=scatter_bytes, on_cluster=on_cluster)

        t_verifier = time.perf_counter()
        rng = np.random.default_rng(self._verify_seeds.spawn(1)[0]) if self.verify else None
        if on_cluster:
            verifier = cluster_verifier(client, job, refs, rng, self.verify_rtol, lazy=not gated)
        elif rng is not None:
            verifier = PacketVerifier(job.partition, job.a_blocks, job.b_blocks, rng=rng, rtol=self.verify_rtol)
        else:
            verifier = None
        report["verifier_seconds"] = time.perf_counter() - t_verifier
        deadline_s = job.deadline * self.time_unit if math.isfinite(job.deadline) else math.inf
        report.update(
            {
                "deadline_seconds": deadline_s,
                "response_times": model_times.tolist(),
                "dask_workers": {addr: [w for w in range(job.workers) if placement[w] == addr] for addr in used},
                "threads": len(slots),
                "start_line": gated,
            }
        )

        t_submit = time.perf_counter()
        submit = lambda addr, r: self._submit(client, job, job_id, placement, r, delays, gated, only=addr)  # noqa: E731
        futures, owner, groups = submit("" if pipelined else None, refs)  # "": the bookkeeping only
        arrivals = Arrivals({a: [key for _, key in m] for a, m in groups.items()}) if pipelined else None
        if pipelined:  # the threads fill in the futures and blocks
            shipped = scatter_and_submit(client, job, placement, used, lambda a, r: submit(a, r)[0], arrivals)
            futures, block_futures = shipped["futures"], shipped["blocks"]
        if backups:
            owner = backups.owners(owner)
            backups.track(futures, owner)
        summaries, watched_owner, packet_refs = (
            summarize(client, futures, owner, placement, verifier) if on_cluster else ([], owner, None)
        )
        collector = Collector(
            job, placement, watched_owner, verifier, deadline_s, self.poll_interval,
            lambda: set(_worker_threads(client)), packet_refs,
        )
        t0 = math.nan
        try:
            if gated:
                expected = {addr: min(len(members), nthreads[addr]) for addr, members in groups.items()}
                t0 = self._start(client, job_id, expected, futures, used, report)
            else:  # the clock started at submission; tasks run as soon as Dask runs them
                t0, report["start_timed_out"] = t_submit, False
            report["startup_seconds"] = t0 - t_submit
            completed = arrivals or as_completed(summaries or futures, loop=client.loop, with_results=True,
                                                 raise_errors=False)
            for packet in collector.packets(completed, t0, f"{job_id}-collect"):
                if backups:
                    backups.finished(packet.worker, packet.time, client, placement, refs, owner, completed, futures)
                yield packet
        finally:
            elapsed = time.perf_counter() - t0
            # kept: packets the decoder combines; cancelling blocks would cancel them too (dependents)
            dropped = [f for f in futures + summaries if f.key not in collector.kept]
            self._release(client, job_id, dropped, [] if on_cluster else block_futures, used)
            if verifier is not None:
                report["verify_rtol"] = verifier.rtol
            if pipelined:  # scattered per Dask worker while the job ran: the slowest worker's seconds
                report.update(scatter_bytes=shipped["bytes"], scatter_seconds=max([0, *shipped["seconds"].values()]))
            report.update(
                {
                    "elapsed_seconds": elapsed,
                    **collector.report(delays),
                    **({"backup_copies": backups.submitted} if backups else {}),
                    "release_seconds": time.perf_counter() - t0 - elapsed,
                }
            )

    # ---------------------------------------------------------- steps of a job
    def _place(self, client: Any, W: int) -> tuple[dict[str, int], list[str], list[str]]:
        """Pin logical worker ``w`` to a Dask worker, round robin over the cluster's threads.

        Returns ``{address: threads}``, the thread slots and the placement; warns when the
        cluster has fewer threads than logical workers, and warms the workers up.
        """
        nthreads = _worker_threads(client)
        if not nthreads:
            raise RuntimeError("the Dask cluster has no workers; start some (`dask worker ADDRESS`)")
        slots = _slots(nthreads)
        placement = [slots[w % len(slots)] for w in range(W)]
        if len(slots) < W:
            warnings.warn(
                f"the Dask cluster has {len(slots)} threads for {W} logical workers: some tasks will queue "
                f"behind others and answer later than the latency model says; give the cluster at least {W} threads",
                RuntimeWarning,
                stacklevel=5,  # the caller of the code that iterates the packets
            )
        self._warm(client, placement)
        return nthreads, slots, placement

    @staticmethod
    def _warm(client: Any, addresses: Iterable[str]) -> None:
        """Import the task module on Dask workers not warmed yet, before anything is timed (once each)."""
        warm = _WARM.setdefault(client, set())
        new = sorted(set(addresses) - warm)
        if new:
            client.run(warm_up, workers=new)
            warm.update(new)

    def _submit(
        self, client: Any, job: Job, job_id: str, placement: list[str], refs: dict, delays: np.ndarray,
        gated: bool = True, only: str | None = None,
    ) -> tuple[list[Any], dict[str, int], dict[str, list[tuple[int, str]]]]:
        """One task per logical worker (+ test-only duplicates), one graph per Dask worker.

        Tasks submitted one by one would reach the workers a round trip apart.  Returns the
        futures, task key -> logical worker, and Dask worker -> its ``(w, key)`` tasks.
        """
        partition = job.partition
        fault_of = {w: kind for kind, members in self.faults.items() if kind != "duplicate" for w in members}
        submissions = [(w, f"{job_id}-w{w}") for w in range(job.workers)]
        submissions += [(w, f"{job_id}-w{w}-dup") for w in sorted(self.faults.get("duplicate", ()))]
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for w, key in submissions:
            groups[placement[w]].append((w, key))
        owner: dict[str, int] = {key: w for w, key in submissions}
        futures: list[Any] = []
        for addr, members in groups.items():
            if only is not None and addr != only:  # one Dask worker's tasks ("": none, the bookkeeping only)
                continue
            specs, a_refs, b_refs = [], [], []
            for w, _ in members:
                a_idx, b_idx = block_support(job, w)
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
                        gated=gated,
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
        return futures, owner, groups

    def _start(
        self, client: Any, job_id: str, expected: dict[str, int], futures: list, used: list[str], report: dict
    ) -> float:
        """The start line: once every task is in place, start the clock everywhere; return it."""
        report["start_timed_out"] = not self._await_start_line(client, job_id, expected, futures)
        t0 = time.perf_counter()
        client.run(start_job, job_id, workers=used, on_error="ignore")
        return t0

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
    def _release(self, client: Any, job_id: str, futures: list, block_futures: list, placement: list[str]) -> None:
        """Open the job's gate on its Dask workers, cancel its tasks, drop its blocks."""
        try:
            alive = set(_worker_threads(client))
            targets = sorted(set(placement) & alive)
            if targets:
                client.run(release_job, job_id, workers=targets, on_error="ignore")
        except Exception:  # noqa: BLE001 (best effort: the tasks are cancelled next)
            _log.debug("could not release job %s", job_id, exc_info=True)
        try:
            client.cancel(futures + block_futures)
        except Exception:  # noqa: BLE001 (best effort: the job is over)
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
    hit = [w for kind in ("corrupt", "nan", "raise", "kill", "stall") for w in out.get(kind, ())]
    if len(hit) != len(set(hit)):
        raise ValueError("a logical worker can be given at most one of the faults corrupt, nan, raise, kill, stall")
    return out


def _worker_threads(client: Any) -> dict[str, int]:
    """``{address: threads}`` of the cluster's current workers, asked of the scheduler now.

    (Not ``Client.scheduler_info()``: its cached answer can be replaced concurrently by a
    periodic update that carries no per-worker entries.)
    """
    return {str(addr): int(n) for addr, n in sorted(client.nthreads().items())}


def _total_threads(client: Any) -> int:
    try:
        return sum(_worker_threads(client).values())
    except Exception:  # noqa: BLE001 (an unreachable cluster has no threads)
        return 0


def _slots(nthreads: dict[str, int]) -> list[str]:
    """One entry per thread, interleaving workers: ``[w0, w1, w0, w1, ...]``."""
    slots: list[str] = []
    for level in range(max(nthreads.values())):
        slots.extend(addr for addr, n in nthreads.items() if n > level)
    return slots
