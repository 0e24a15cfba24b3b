"""Chunk reads and per-job overhead with ``dask.array`` inputs (not a test; docs/distributed.md).

Two n×n float64 ``dask.array`` s are made and persisted ON a LocalCluster (2 processes), then
``coded_matmul(A, B, backend="dask", client=client, code="uncoded", blocks=9, workers=9,
latency=None)`` runs ``--jobs`` times on the same arrays.  A scheduler plugin (the scheduler of
a LocalCluster runs in this process) records, per job:

* ``reads``: how many tasks had an input chunk as a dependency, summed over all chunks of A
  and B, and the most any one chunk had (``max_reads``);
* ``overhead_s``: seconds from the call to the first logical worker's task (key
  ``uepmm-<job>-w<w>``) reaching ``processing`` on the scheduler;
* ``plan_s``: ``report["plan_seconds"]`` (statistics, order, draw, the lazy blocks);
* ``total_s``: the whole call (the estimate's combination futures exist on the cluster).

The first job after the arrays are made computes the line statistics; later jobs on the same
arrays may reuse them (``job`` counts from 0).  Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_dask_onepass.py --n 2400 --jobs 3
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402

_WORKER_TASK = re.compile(r"^uepmm-[0-9a-f]{16}-w\d+$")


class ReadCounter(SchedulerPlugin):
    """Counts, per input chunk key, the tasks that depend on it; times the first worker task."""

    def __init__(self, scheduler, chunk_keys):
        self.scheduler = scheduler
        self.chunk_keys = set(chunk_keys)
        self.reset()

    def reset(self):
        self.reads = Counter()
        self.first_worker_task = None

    def transition(self, key, start, finish, *args, **kwargs):
        if finish != "processing":
            return
        ts = self.scheduler.tasks.get(key)
        if ts is None:
            return
        for dep in ts.dependencies:
            if dep.key in self.chunk_keys:
                self.reads[dep.key] += 1
        if self.first_worker_task is None and isinstance(key, str) and _WORKER_TASK.match(key):
            self.first_worker_task = time.perf_counter()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2400)
    parser.add_argument("--chunks", type=int, default=0, help="chunk side (default n/4)")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import dask.array as da
    from dask.core import flatten
    from distributed import Client, LocalCluster, wait

    import uepmm

    n, chunk = args.n, args.chunks or -(-args.n // 4)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=6, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR, memory_limit=0,
    )
    client = Client(cluster, set_as_default=False)
    settings = dict(code="uncoded", partition="rxc", blocks=9, workers=9, latency=None, backend="dask",
                    client=client)
    print("n,chunk,job,reads,max_reads,chunks,overhead_s,plan_s,total_s,loss")
    try:
        warm = client.persist(da.ones((90, 90), chunks=30))
        uepmm.coded_matmul(warm, warm, **settings, seed=0)  # imports and first-use costs on the workers
        rs = da.random.RandomState(args.seed)
        A = client.persist(rs.standard_normal((n, n), chunks=chunk))
        B = client.persist(rs.standard_normal((n, n), chunks=chunk))
        with client.as_current():
            wait([A, B])
        keys = list(flatten(A.__dask_keys__())) + list(flatten(B.__dask_keys__()))
        counter = ReadCounter(cluster.scheduler, keys)
        cluster.scheduler.add_plugin(counter, name="uepmm-read-counter")
        C = client.persist(A @ B)
        with client.as_current():
            wait(C)
        for job in range(args.jobs):
            counter.reset()
            t = time.perf_counter()
            res = uepmm.coded_matmul(A, B, **settings, seed=job)
            total = time.perf_counter() - t
            overhead = (counter.first_worker_task or float("nan")) - t
            loss = res.normalized_loss(C)
            reads = sum(counter.reads.values())
            print(f"{n},{chunk},{job},{reads},{max(counter.reads.values(), default=0)},{len(keys)},"
                  f"{overhead:.3f},{res.report['plan_seconds']:.3f},{total:.3f},{loss:.1e}", flush=True)
            del res
    finally:
        client.close()
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
