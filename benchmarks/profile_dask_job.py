"""Where the time of one uncoded Dask job goes, next to ``dask.array``'s own ``A @ B`` (docs/comparison.md).

A ``LocalCluster`` (``--processes`` × ``--threads``, BLAS single-threaded), Gaussian ``n × n``
matrices, uncoded r×c 3×3, ``latency=None``, ``deadline=inf``; nobody slowed.  Per repeat it
times ``coded_matmul`` and splits it with ``Result.report``: ``plan`` (blocks, permutation,
encoding, in the client), ``scatter`` (blocks to the workers), ``verifier`` (the Freivalds
references, in the client), ``startup`` (submission to the start of the clock: the start line
when it is used), ``collect`` (start to the last packet, with the per-packet checks and decoding)
and the rest (placement, decode of the final estimate, release).  Without a start line
(``latency=None`` since the start line became conditional) each Dask worker's blocks are
scattered while the job runs: ``scatter`` (the slowest worker's) is then part of ``collect``.
``dask.array`` is timed both from numpy (``da.from_array``, its graph carries A and B) and
from chunks already persisted on the cluster.
Medians over ``--repeats``.

    PYTHONPATH=src python benchmarks/profile_dask_job.py --n 2400 --repeats 5

``--tasks``: instead, one uncoded job on the persisted chunks (``dask.array`` inputs, pull
execution) after a warm-up job, recorded with Dask's ``get_task_stream``: per kind of task
(block cut, block, packet, check summary, probe reference, combination) the count, the
durations of its computations and the seconds its inputs spent moving between processes::

    PYTHONPATH=src python benchmarks/profile_dask_job.py --n 4095 --tasks
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # inherited by the worker processes
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

PARTS = ("plan", "scatter", "verifier", "startup", "collect", "rest")


def _uepmm_once(client, A, B, spec) -> dict[str, float]:
    import uepmm

    t0 = time.perf_counter()
    result = uepmm.coded_matmul(A, B, spec, client=client, seed=0)
    total = time.perf_counter() - t0
    r = result.report
    if not np.allclose(result.estimate, A @ B):
        raise AssertionError("uncoded with deadline=inf must reproduce A @ B")
    arrivals = r.get("arrival_seconds", {})
    collect = max(arrivals.values()) if arrivals else math.nan
    parts = {
        "plan": r["plan_seconds"],
        "scatter": r["scatter_seconds"],
        "verifier": r.get("verifier_seconds", math.nan),
        "startup": r["startup_seconds"],
        "collect": collect,
    }
    overlapped = not r.get("start_line", True)  # no start line: each worker's scatter overlaps the job
    parts["rest"] = total - sum(v for k, v in parts.items() if math.isfinite(v) and not (overlapped and k == "scatter"))
    parts["total"] = total
    parts["compute_max"] = max(r["compute_seconds"].values())
    return parts


def _task_kind(key) -> str:
    """The kind of a task from its key: uepmm's packets are ``<job>-p<i>`` (``-summary``: its check)."""
    text = str(key[0] if isinstance(key, tuple) else key)
    if text.startswith("uepmm-block"):
        return "uepmm-block"
    if text.startswith("uepmm-"):
        return "packet summary" if text.endswith("-summary") else "packet"
    return text.split("-")[0]


def _task_profile(client, x, y, spec) -> None:
    """Print per kind of task: count, computation seconds (total, min–max), transfer seconds (total)."""
    from distributed import get_task_stream

    import uepmm

    uepmm.coded_matmul(x, y, spec, client=client, seed=0)  # warm-up: the line sums are cached after it
    with get_task_stream(client) as stream:
        t0 = time.perf_counter()
        uepmm.coded_matmul(x, y, spec, client=client, seed=0)
        print(f"uepmm uncoded, dask inputs: {time.perf_counter() - t0:.3f} s to the last packet")
    kinds: dict[str, dict[str, list[float]]] = {}
    for task in stream.data:
        for part in task["startstops"]:
            spans = kinds.setdefault(_task_kind(task["key"]), {"compute": [], "transfer": []})
            if part["action"] in spans:
                spans[part["action"]].append(part["stop"] - part["start"])
    for kind, spans in sorted(kinds.items()):
        done, moved = spans["compute"], spans["transfer"]
        shown = f"{min(done):.3f}-{max(done):.3f}" if done else "-"
        print(f"{kind:>18}: {len(done):3d} computed, {sum(done):6.2f} s ({shown} each); "
              f"{len(moved):3d} transfers, {sum(moved):6.2f} s")


def _wait(client, futures) -> None:
    from distributed import wait

    with client.as_current():
        wait(futures)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--tasks", action="store_true", help="one job on persisted chunks, task by task")
    args = parser.parse_args(argv)

    import dask.array as da
    from distributed import Client, LocalCluster, futures_of

    from uepmm import JobSpec

    warnings.filterwarnings("ignore", message="Sending large graph")
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((args.n, args.n)), rng.standard_normal((args.n, args.n))
    spec = JobSpec(code="uncoded", partition="rxc", blocks=(3, 3), workers=9, latency=None,
                   deadline=math.inf, backend="dask")
    chunk = -(-args.n // 3)
    cluster = LocalCluster(n_workers=args.processes, threads_per_worker=args.threads, processes=True,
                           host="127.0.0.1", dashboard_address=None, scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    try:
        small = np.random.default_rng(1).standard_normal((90, 90))
        _uepmm_once(client, small, small, spec)  # imports before the clock
        rows: dict[str, list[float]] = {}
        da_numpy, da_cluster = [], []
        x = client.persist(da.from_array(A, chunks=(chunk, args.n)))
        y = client.persist(da.from_array(B, chunks=(args.n, chunk)))
        _wait(client, futures_of(x) + futures_of(y))
        if args.tasks:
            _task_profile(client, x, y, spec)
            return 0
        for _ in range(args.repeats):
            for key, value in _uepmm_once(client, A, B, spec).items():
                rows.setdefault(key, []).append(value)
            t0 = time.perf_counter()
            client.compute(da.from_array(A, chunks=(chunk, args.n)) @ da.from_array(B, chunks=(args.n, chunk))).result()
            da_numpy.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            z = client.persist(x @ y)
            _wait(client, futures_of(z))
            da_cluster.append(time.perf_counter() - t0)
            del z
    finally:
        client.close()
        cluster.close()
    print(f"n={args.n}, {args.processes} processes x {args.threads} threads, medians over {args.repeats} "
          f"(min-max)")
    for key in (*PARTS, "total", "compute_max"):
        v = rows[key]
        print(f"uepmm uncoded {key:>12}: {statistics.median(v):.3f} s ({min(v):.3f}-{max(v):.3f})")
    for name, v in (("dask.array from numpy", da_numpy), ("dask.array on cluster", da_cluster)):
        print(f"{name:>26}: {statistics.median(v):.3f} s ({min(v):.3f}-{max(v):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
