"""Benchmarks of the Dask backend (measurements, not tests); results go to docs/distributed.md.

1. ``overhead``: no stragglers, ``deadline=inf``, uncoded r×c with 9 blocks at n×n (default
   4096): ``coded_matmul(backend="dask")`` end to end (numpy in, numpy out) against
   ``dask.array``'s blocked matmul of the same matrices on the same cluster.
2. ``loss``: mean normalized loss at deadlines 2, 4, 6, 8 (model units) under the paper's
   model (exponential, rate 0.5, Omega = 9/W; uncoded W=9, NOW/EW/MDS W=15, repetition
   W=18) on the cluster, beside the simulated backend (same seeds, and an independent
   many-trial expectation), with standard errors.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_dask.py            # both parts
    PYTHONPATH=src python benchmarks/bench_dask.py --part loss --trials 30 --time-unit 0.1
"""

from __future__ import annotations

import os

# The parameter server only multiplies small matrices; a multi-threaded BLAS on a busy
# machine makes those tens of times slower.  Dask's worker processes get 1 thread anyway.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def _cluster(threads_per_worker: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.ERROR,
    )
    return cluster, Client(cluster, set_as_default=False)


def overhead(n: int, repeats: int) -> dict:
    import dask.array as da

    import uepmm

    cluster, client = _cluster(threads_per_worker=5)  # 10 threads >= W = 9
    try:
        rng = np.random.default_rng(0)
        A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        chunk = -(-n // 3)

        def ours(reorder):
            res = uepmm.coded_matmul(A, B, code="uncoded", partition="rxc", blocks=9, workers=9, latency=None,
                                     reorder=reorder, backend="dask", client=client, seed=0)
            return res.estimate, res.report

        def dask_array():
            x = da.from_array(A, chunks=(chunk, n))
            y = da.from_array(B, chunks=(n, chunk))
            return client.compute(x @ y).result(), None

        paths = {
            "uepmm": lambda: ours(True),
            "uepmm, reorder=False": lambda: ours(False),
            "dask.array": dask_array,
        }
        small = np.random.default_rng(1).standard_normal((90, 90))
        uepmm.coded_matmul(small, small, code="uncoded", partition="rxc", blocks=9, workers=9, latency=None,
                           backend="dask", client=client, seed=0)
        client.compute(da.from_array(small, chunks=30) @ da.from_array(small, chunks=30)).result()
        times: dict[str, list[float]] = {name: [] for name in paths}
        parts = []
        products = {}
        names = list(paths)
        for r in range(repeats):
            for name in names[r % len(names):] + names[: r % len(names)]:  # rotate the order
                t = time.perf_counter()
                products[name], report = paths[name]()
                times[name].append(time.perf_counter() - t)
                if name == "uepmm":
                    parts.append(report)
        C_ours, C_da = products["uepmm"], products["dask.array"]
        if not np.allclose(C_ours, C_da, rtol=0, atol=1e-9 * np.abs(C_da).max()):
            raise AssertionError("uepmm and dask.array disagree on A @ B; the timings are void")
        rel = float(np.linalg.norm(C_ours - C_da) / np.linalg.norm(C_da))
        med = {k: statistics.median(v) for k, v in times.items()}

        def median_of(key):
            return statistics.median(p[key] for p in parts)

        return {
            "n": n,
            "repeats": repeats,
            "seconds": times,
            "median_seconds": med,
            "ratio": med["uepmm"] / med["dask.array"],
            "ratio_no_reorder": med["uepmm, reorder=False"] / med["dask.array"],
            "relative_difference": rel,
            "uepmm_breakdown_median": {
                key: median_of(key)
                for key in ("plan_seconds", "scatter_seconds", "startup_seconds", "elapsed_seconds",
                            "release_seconds", "decode_seconds")
            },
            "scatter_bytes": parts[0]["scatter_bytes"],
        }
    finally:
        client.close()
        cluster.close()


def loss(trials: int, expectation_trials: int, time_unit: float, scale: float, seed: int) -> dict:
    import uepmm
    from uepmm.backends.dask import DaskBackend
    from uepmm.experiments.cluster import cluster_loss_vs_deadline
    from uepmm.experiments.synthetic import sec6_matrices

    codes = [("uncoded", 9), ("now", 15), ("ew", 15), ("mds", 15), ("repetition", 18)]
    deadlines = [2.0, 4.0, 6.0, 8.0]
    cluster, client = _cluster(threads_per_worker=10)  # 20 threads >= W = 18
    try:
        backend = DaskBackend(client=client, time_unit=time_unit)
        t = time.perf_counter()
        points = cluster_loss_vs_deadline(
            lambda rng: sec6_matrices("cxr", rng, scale),
            codes,
            deadlines,
            backend=backend,
            trials=trials,
            expectation_trials=expectation_trials,
            latency=uepmm.Exponential(rate=0.5),
            seed=seed,
            show_progress=sys.stderr.isatty(),
            partition="cxr",
            blocks=9,
        )
        seconds = time.perf_counter() - t
    finally:
        client.close()
        cluster.close()
    return {
        "trials": trials,
        "expectation_trials": expectation_trials,
        "time_unit": time_unit,
        "scale": scale,
        "seconds": seconds,
        "points": [p.as_row() for p in points],
    }


def _print_overhead(result: dict) -> None:
    med = result["median_seconds"]
    print(f"\n(1) overhead, uncoded r×c, 9 blocks, {result['n']}x{result['n']} float64, median of {result['repeats']}")
    print("| path | median s | runs (s) |")
    print("|---|---:|---|")
    for key in result["seconds"]:
        runs = ", ".join(f"{x:.2f}" for x in result["seconds"][key])
        print(f"| {key} | {med[key]:.2f} | {runs} |")
    print(f"ratio uepmm / dask.array = {result['ratio']:.2f} (reorder=False: {result['ratio_no_reorder']:.2f}); relative difference of the products "
          f"{result['relative_difference']:.1e}; scattered {result['scatter_bytes'] / 2**20:.0f} MiB")
    print("uepmm breakdown (median s): " + ", ".join(f"{k} {v:.3f}" for k, v in result["uepmm_breakdown_median"].items()))


def _print_loss(result: dict) -> None:
    print(f"\n(2) loss vs deadline, Sec. VI c×r (scale {result['scale']:g}), exponential rate 0.5, Omega = 9/W, "
          f"time unit {result['time_unit']:g} s; {result['trials']} cluster trials, "
          f"{result['expectation_trials']} simulated trials; {result['seconds']:.0f} s")
    print("| code | W | deadline | dask (± se) | simulated, same seeds (dask − it ± se) | mismatched trials | "
          "simulated expectation (± se) | z |")
    print("|---|---:|---:|---|---|---:|---|---:|")
    for p in result["points"]:
        diff = p["dask_mean"] - p["paired_mean"]
        print(f"| {p['code']} | {p['workers']} | {p['deadline']:g} | {p['dask_mean']:.4f} ± {p['dask_stderr']:.4f} | "
              f"{p['paired_mean']:.4f} ({diff:+.4f} ± {p['paired_diff_stderr']:.4f}) | {p['mismatches']}/{result['trials']} | "
              f"{p['expected_mean']:.4f} ± {p['expected_stderr']:.4f} | {p['z']:+.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("overhead", "loss", "all"), default="all")
    parser.add_argument("--size", type=int, default=4096, help="n of the n×n matrices of part 1 (default 4096)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per path in part 1 (default 5)")
    parser.add_argument("--trials", type=int, default=30, help="cluster trials per code in part 2 (default 30)")
    parser.add_argument("--expectation-trials", type=int, default=2000, help="simulated trials per code (default 2000)")
    parser.add_argument("--time-unit", type=float, default=0.2, help="seconds per model time unit in part 2 (default 0.2)")
    parser.add_argument("--scale", type=float, default=0.2, help="Sec. VI matrix scale in part 2 (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    out = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    if args.part in ("overhead", "all"):
        out["overhead"] = overhead(args.size, args.repeats)
        _print_overhead(out["overhead"])
    if args.part in ("loss", "all"):
        out["loss"] = loss(args.trials, args.expectation_trials, args.time_unit, args.scale, args.seed)
        _print_loss(out["loss"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2, default=lambda x: None if isinstance(x, float) and math.isnan(x) else x)
    return 0


if __name__ == "__main__":
    sys.exit(main())
