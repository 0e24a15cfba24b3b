"""Benchmarks of the Dask backend (measurements, not tests); results go to docs/distributed.md.

1. ``overhead``: no stragglers, ``deadline=inf``, uncoded r×c with 9 blocks at n×n (default
   4096): ``coded_matmul(backend="dask")`` end to end (numpy in, numpy out) against
   ``dask.array``'s blocked matmul of the same matrices on the same cluster.
2. ``loss``: mean normalized loss at deadlines 2, 4, 6, 8 (model units) under the paper's
   model (exponential, rate 0.5, Omega = 9/W; uncoded W=9, NOW/EW/MDS W=15, repetition
   W=18) on the cluster, beside the simulated backend (same seeds, and an independent
   many-trial expectation), with standard errors.
3. ``timing``: the wall-clock numbers that tests/backends/test_dask_backend.py checks only as ratios
   (a loaded test machine is slower by an unknown amount), measured here: how long past its
   deadline a job returns, against the same job waiting for its stragglers; how soon an early
   stop frees the stragglers' threads; how long a job whose worker process dies takes; and how
   long an unreachable scheduler takes to fail against ``connect_timeout``.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_dask.py            # every part
    PYTHONPATH=src python benchmarks/bench_dask.py --part loss --trials 30 --time-unit 0.1
    PYTHONPATH=src python benchmarks/bench_dask.py --part timing --repeats 5
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
            decoder="zero",  # the paper's decoder, as recorded in docs/distributed.md
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


def _wait_idle(client, give_up_s: float) -> float:
    """Seconds until no task runs on the cluster (``nan`` if still busy after ``give_up_s``)."""
    start = time.perf_counter()
    while any(client.processing().values()):
        if time.perf_counter() - start > give_up_s:
            return math.nan
        time.sleep(0.005)
    return time.perf_counter() - start


def timing(repeats: int, time_unit: float) -> dict:
    import uepmm
    from uepmm.api import plan_job
    from uepmm.backends.dask import DaskBackend, DaskConnectionError

    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((24, 36)), rng.standard_normal((36, 18))
    # the killed worker process is deliberate: no "lost scattered data" errors from the scheduler
    logging.getLogger("distributed.scheduler").setLevel(logging.CRITICAL)
    cluster, client = _cluster(threads_per_worker=20)
    rows: dict[str, list[float]] = {}

    def record(name, value):
        rows.setdefault(name, []).append(float(value))

    def timed(**kwargs):
        t = time.perf_counter()
        res = uepmm.coded_matmul(A, B, backend="dask", client=client, time_unit=time_unit, seed=0, **kwargs)
        return time.perf_counter() - t, res

    try:
        # 8 workers by 2.5 units, 7 stragglers from 20 units: C is incomplete until a straggler answers
        stragglers = uepmm.Schedule(np.r_[np.linspace(0.5, 2.5, 8), np.linspace(20.0, 26.0, 7)])
        deadline_job = dict(code="ew", partition="cxr", blocks=9, workers=15, latency=stragglers, omega=1.0)
        # uncoded, worker 4 (one of the even workers sharing a Dask process) kills that process at 4 units
        dying = dict(code="uncoded", partition="cxr", blocks=9, workers=9, omega=1.0,
                     latency=uepmm.Schedule([1.0, 1.0, 1.5, 1.5, 8.0, 2.0, 5.0, 2.5, 5.5]))
        timed(code="mds", workers=12, latency=None)  # warm-up
        for _ in range(repeats):
            wall, res = timed(deadline=4.0, **deadline_job)
            record("deadline job: wall s", wall)
            record("deadline job: wall - deadline s", wall - res.report["deadline_seconds"])
            record("deadline job: elapsed_seconds - deadline s",
                   res.report["elapsed_seconds"] - res.report["deadline_seconds"])
            record("deadline job: threads free after return s", _wait_idle(client, 20.0 * time_unit))
            wall_inf, _ = timed(**deadline_job)
            record("same job, deadline inf: wall s", wall_inf)
            record("ratio deadline / inf (test: < 0.5)", wall / wall_inf)

            plan = plan_job(A, B, code="uncoded", partition="cxr", blocks=9, workers=9, omega=1.0, seed=0,
                            latency=uepmm.Schedule([0.0] * 3 + [100.0] * 6))
            backend = DaskBackend(client=client, time_unit=time_unit)
            t = time.perf_counter()
            packets = backend.packets(plan.job)
            for _ in range(3):
                next(packets)
            packets.close()
            record("early stop: 3 packets and close s", time.perf_counter() - t)
            record("early stop: threads free after close s", _wait_idle(client, 100.0 * time_unit))

            intact, _ = timed(deadline=6.0, **dying)
            record("dying-worker job, no fault, T = 6: wall s", intact)
            killed, _ = timed(deadline=6.0, faults={"kill": [4]}, **dying)
            record("dying-worker job, T = 6: wall s", killed)
            client.wait_for_workers(2, timeout=30)
            killed_inf, _ = timed(faults={"kill": [4]}, **dying)
            record("dying-worker job, T = inf: wall s (death at 4 units)", killed_inf)
            client.wait_for_workers(2, timeout=30)
            record("ratio killed / intact, T = 6 (test: < 2)", killed / intact)
            record("ratio killed T = inf / intact T = 6 (test: < 3)", killed_inf / intact)

            t = time.perf_counter()
            try:
                uepmm.coded_matmul(A, B, backend="dask", address="tcp://127.0.0.1:9", connect_timeout=1.0)
            except DaskConnectionError:
                pass
            record("unreachable scheduler, connect_timeout 1 s: fails after s", time.perf_counter() - t)
    finally:
        client.close()
        cluster.close()
    return {"repeats": repeats, "time_unit": time_unit, "seconds": rows}


def _print_timing(result: dict) -> None:
    print(f"\n(3) timing, time unit {result['time_unit']:g} s, {result['repeats']} repeats")
    print("| measurement | median | min | max |")
    print("|---|---:|---:|---:|")
    for name, values in result["seconds"].items():
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")


def _print_overhead(result: dict) -> None:
    med = result["median_seconds"]
    print(f"\n(1) overhead, uncoded r×c, 9 blocks, {result['n']}x{result['n']} float64, median of {result['repeats']}")
    print("| path | median s | runs (s) |")
    print("|---|---:|---|")
    for key in result["seconds"]:
        runs = ", ".join(f"{x:.2f}" for x in result["seconds"][key])
        print(f"| {key} | {med[key]:.2f} | {runs} |")
    print(f"ratio uepmm / dask.array = {result['ratio']:.2f} (reorder=False: {result['ratio_no_reorder']:.2f}); "
          f"relative difference of the products {result['relative_difference']:.1e}; "
          f"scattered {result['scatter_bytes'] / 2**20:.0f} MiB")
    breakdown = result["uepmm_breakdown_median"]
    print("uepmm breakdown (median s): " + ", ".join(f"{k} {v:.3f}" for k, v in breakdown.items()))


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
              f"{p['paired_mean']:.4f} ({diff:+.4f} ± {p['paired_diff_stderr']:.4f}) | "
              f"{p['mismatches']}/{result['trials']} | "
              f"{p['expected_mean']:.4f} ± {p['expected_stderr']:.4f} | {p['z']:+.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("overhead", "loss", "timing", "all"), default="all")
    parser.add_argument("--size", type=int, default=4096, help="n of the n×n matrices of part 1 (default 4096)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per path in parts 1 and 3 (default 5)")
    parser.add_argument("--trials", type=int, default=30, help="cluster trials per code in part 2 (default 30)")
    parser.add_argument("--expectation-trials", type=int, default=2000,
                        help="simulated trials per code (default 2000)")
    parser.add_argument("--time-unit", type=float, default=0.2,
                        help="seconds per model time unit in part 2 (default 0.2; part 3 uses 0.1, as the tests)")
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
    if args.part in ("timing", "all"):
        out["timing"] = timing(args.repeats, 0.1)
        _print_timing(out["timing"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=2, default=lambda x: None if isinstance(x, float) and math.isnan(x) else x)
    return 0


if __name__ == "__main__":
    sys.exit(main())
