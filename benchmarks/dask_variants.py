"""Time to a loss on Dask for one scheme with its checks on or off and with or without reordering.

A small A/B tool beside ``bench_dask_straggler.py`` (it uses that script's cluster, matrices,
slow-down and timing): one ``LocalCluster`` (4 processes × 5 threads), ``dask.array`` inputs
persisted on it, the variants run in rotating order, the median and every run printed::

    PYTHONPATH=src python benchmarks/dask_variants.py --n 2400 --matrices sec6 --factor 10 --repeats 3 \\
        --variants checked,unchecked

Variants: ``checked`` (the default job), ``unchecked`` (``DaskBackend(verify=False)``),
``unordered`` (``reorder=False``), ``neither``.  ``--src`` puts another checkout's ``src`` first
on the path (its worker processes inherit it), to compare two versions of uepmm on one machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import os
import statistics
import sys
from contextlib import nullcontext
from pathlib import Path

#: variant -> (verify, reorder)
VARIANTS = {"checked": (True, True), "unchecked": (False, True), "unordered": (True, False), "neither": (False, False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2400)
    parser.add_argument("--matrices", choices=("sec6", "gaussian"), default="sec6")
    parser.add_argument("--factor", type=float, default=10.0, help="slow-down of one process (1: none)")
    parser.add_argument("--target", type=float, default=1e-2, help="the loss to reach (default 1e-2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scheme", default="uncoded")
    parser.add_argument("--variants", default="checked,unchecked")
    parser.add_argument("--src", default=None, help="a uepmm src directory to import instead of the installed one")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    if any(v not in VARIANTS for v in variants):
        parser.error(f"--variants: each of {', '.join(VARIANTS)}")
    if args.src:
        sys.path.insert(0, str(Path(args.src).resolve()))
    path = Path(__file__).with_name("bench_dask_straggler.py")
    spec = importlib.util.spec_from_file_location("bench_dask_straggler", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # sets single-threaded BLAS for the worker processes
    from distributed import Client, LocalCluster

    import uepmm
    from uepmm.backends.dask import DaskBackend

    print(f"uepmm from {Path(uepmm.__file__).parent}", file=sys.stderr)
    A, B = bench.make_matrices(args.matrices, args.n, 0)
    chunk, target = args.n // 3, [("target", args.target)]
    times: dict[str, list[float]] = {name: [] for name in ["dask.array", *variants]}
    with LocalCluster(n_workers=4, threads_per_worker=5, dashboard_address=None, processes=True) as cluster, \
            Client(cluster) as client:
        on_cluster = bench.persist(client, A, B, chunk)
        pids = client.run(os.getpid)
        slow = sorted(pids)[-1]
        if args.factor > 1:
            print(f"the slowed process holds {bench.chunks_on(client, on_cluster, slow)}", file=sys.stderr)
        throttle = bench.Throttle(pids[slow], args.factor, 0.01) if args.factor > 1 else nullcontext()
        with throttle:
            for r in range(args.repeats):
                names = list(times)
                for name in names[r % len(names):] + names[: r % len(names)]:
                    bench.settle(client)
                    if name == "dask.array":
                        t = bench.run_dask_array(client, A, B, chunk, target, on_cluster)["target"]
                    else:
                        verify, reorder = VARIANTS[name]
                        backend = DaskBackend(client=client, execution="pull", verify=verify)
                        job = dataclasses.replace(bench.make_spec(args.scheme, 12, backend), reorder=reorder)
                        t = bench.run_scheme(A, B, job, target, 0, on_cluster)["target"]
                    times[name].append(t)
    for name, runs in times.items():
        shown = ", ".join("never" if math.isinf(t) else f"{t:.2f}" for t in runs)
        print(f"{name:>11}: median {statistics.median(runs):.2f} s ({shown})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
