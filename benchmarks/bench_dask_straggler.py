"""Headline: on Dask with one worker process slowed 10×, how soon is the loss ≤ 1e-2? (docs/comparison.md)

A ``LocalCluster`` of ``--processes`` worker processes (default 4, ``--threads`` threads each,
BLAS single-threaded), real compute (``latency=None``: no model delays), Gaussian ``n × n``
matrices, r×c 3×3 blocks (c×r with 9 blocks for a code that refuses r×c).  One worker process
is slowed 10× for the whole benchmark: a thread of this script sends it ``SIGCONT``, lets it
run ``--run-ms`` (10 ms), sends ``SIGSTOP`` and waits ``9 × --run-ms``, over and over.  Every
thread of that process (compute, communication, heartbeats) gets a tenth of the wall clock.
It is the Dask worker with the highest address, which holds uepmm's logical workers
``w ≡ processes - 1 (mod processes)`` (the backend places logical workers round robin).

Per scheme, the time is the wall clock from the call (numpy in the client) to the first packet
after which the estimate's normalized loss ``||C - C_hat||² / ||C||²`` is ≤ ``--target``
(``on_packet``; the loss of the zero-fill estimate is the energy of the blocks not yet
recovered, priced from the exact blocks computed before the clock starts).  ``dask.array``:
``da.from_array`` with the same chunks, ``client.compute(x @ y).result()``; it has the loss
only when every chunk is done.  Between runs the script waits until no task runs on the
cluster (an abandoned copy on the slowed process would otherwise steal the next run's CPU).
Median, min and max over ``--repeats``; the order of the schemes rotates between repeats.

    PYTHONPATH=src python benchmarks/bench_dask_straggler.py --n 2400 --repeats 3 \\
        --csv docs/figures/comparison/dask_straggler.csv

``--inputs dask``: ``A`` and ``B`` are first persisted on the cluster as ``dask.array`` s (row
chunks of ``A``, column chunks of ``B``, the chunks of the dask.array product); uepmm reads its
blocks from those chunks (no scatter from this process) and ``dask.array`` multiplies them, its
result persisted on the cluster.  uepmm's time to the target is when the parameter server knows
the loss is ≤ the target (the packets are on the cluster); its total is when the estimate's
blocks are computed there.  Codes that refuse ``dask.array`` inputs are skipped.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # inherited by the worker processes
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import nullcontext  # noqa: E402

import numpy as np  # noqa: E402

#: scheme -> (workers, extra settings); codes not registered at run time are skipped.
SCHEMES = {
    "uncoded": (9, {}),
    "repetition": (18, {"copies": 2}),
    "speculative": (12, {}),
    "mds": (12, {}),
    "polynomial": (12, {}),
    "now": (12, {}),
    "ew": (12, {}),
    "matdot": (17, {}),
    "sampling": (12, {}),
}


#: the schemes whose protection classes come from the importance order (they keep reorder=True)
UEP = ("now", "ew")


class Throttle:
    """Slow one process ``factor``× by a SIGCONT/SIGSTOP duty cycle (runs ``run_s`` of every ``factor × run_s``)."""

    def __init__(self, pid: int, factor: float, run_s: float):
        self.pid, self.run_s, self.stop_s = pid, run_s, (factor - 1.0) * run_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="throttle", daemon=True)

    def _loop(self) -> None:
        while not self._done.is_set():
            os.kill(self.pid, signal.SIGCONT)
            time.sleep(self.run_s)
            os.kill(self.pid, signal.SIGSTOP)
            self._done.wait(self.stop_s)
        os.kill(self.pid, signal.SIGCONT)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        os.kill(self.pid, signal.SIGCONT)


def _executing(dask_worker) -> int:
    return len(getattr(dask_worker.state, "executing", ()))


def _settle(client, timeout: float = 300.0) -> None:
    """Wait until no task is queued or running anywhere on the cluster."""
    give_up = time.perf_counter() + timeout
    while time.perf_counter() < give_up:
        busy = sum(client.run(_executing).values()) + sum(len(v) for v in client.processing().values())
        if busy == 0:
            return
        time.sleep(0.2)


def _layout(code: str, workers: int, settings: dict):
    from uepmm import JobSpec

    for partition, blocks in (("rxc", (3, 3)), ("cxr", 9)):
        try:
            # decoder="zero" (zero-fill): the loss is priced from the recovered blocks, not by decoding
            # and comparing C_hat in this process on every packet inside the timed region
            return JobSpec(code=code, partition=partition, blocks=blocks, workers=workers, latency=None,
                           deadline=math.inf, backend="dask", decoder="zero", **settings)
        except ValueError:
            continue
    raise ValueError(f"code {code!r} fits neither r×c 3×3 nor c×r 9 with {workers} workers")


def run_scheme(client, A, B, spec, target: float, seed: int, on_cluster=None) -> dict:
    """Wall seconds from the call to the packet that brings the loss to ≤ ``target``; and to the end.

    ``on_cluster``: ``(x, y)``, ``A`` and ``B`` as ``dask.array`` s persisted on the cluster; the
    job then reads its blocks from their chunks there (no scatter from this process), and the
    end is when the estimate's blocks are computed on the cluster.
    """
    import uepmm
    from uepmm.api import plan_job

    C = A @ B
    C_energy = float(np.sum(C**2))
    additive = spec.partition == "rxc" and spec.decoder_object.selects_exact_blocks
    if additive:  # zero-fill r×c: the loss is the energy of the blocks not recovered (plan order)
        plan = plan_job(A, B, spec, seed=seed)
        layout = plan.job.partition
        energies = np.array([np.sum(P**2) for P in layout.block_products(plan.job.a_blocks, plan.job.b_blocks)])
    reached = {}

    def on_packet(progress):
        now = time.perf_counter() - t_start
        if "target" in reached:
            return
        if additive:
            loss = float(energies[~progress.recovered].sum()) / C_energy
        else:
            loss = float(np.sum((C - progress.estimate()) ** 2)) / C_energy
        if loss <= target:
            reached["target"], reached["packets"] = now, progress.entry.received

    t_start = time.perf_counter()
    result = uepmm.coded_matmul(*(on_cluster or (A, B)), spec, client=client, seed=seed, on_packet=on_packet)
    total = time.perf_counter() - t_start
    estimate = result.estimate if on_cluster is None else client.compute(result.estimate, sync=True)  # after the clock
    final = float(np.sum((C - estimate) ** 2)) / C_energy
    return {
        "seconds_to_target": reached.get("target", math.inf),
        "seconds_total": total,
        "packets_to_target": reached.get("packets", -1),
        "final_loss": final,
        "startup_seconds": result.report.get("scatter_seconds", 0.0) + result.report.get("startup_seconds", 0.0),
        "backup_copies": result.report.get("backup_copies", 0),
    }


def run_dask_array(client, A, B, chunk: int, on_cluster=None) -> dict:
    """``A @ B`` by ``dask.array``: from numpy (``da.from_array``, the result gathered here), or from
    ``on_cluster = (x, y)`` persisted there (the result persisted there, gathered after the clock)."""
    import dask.array as da
    from distributed import futures_of, wait

    n_inner = A.shape[1]
    t_start = time.perf_counter()
    if on_cluster is None:
        x = da.from_array(A, chunks=(chunk, n_inner))
        y = da.from_array(B, chunks=(n_inner, chunk))
        C_hat = client.compute(x @ y).result()
        total = time.perf_counter() - t_start
    else:
        z = client.persist(on_cluster[0] @ on_cluster[1])
        with client.as_current():
            wait(futures_of(z))
        total = time.perf_counter() - t_start
        C_hat = client.compute(z).result()
        del z
    C = A @ B
    final = float(np.sum((C - C_hat) ** 2) / np.sum(C**2))
    return {"seconds_to_target": total, "seconds_total": total, "packets_to_target": 9, "final_loss": final,
            "startup_seconds": 0.0, "backup_copies": 0}


def _persist(client, A, B, chunk: int):
    """``A`` in row chunks and ``B`` in column chunks, as ``dask.array`` s persisted on the cluster."""
    import dask.array as da
    from distributed import futures_of, wait

    x = client.persist(da.from_array(A, chunks=(chunk, A.shape[1])))
    y = client.persist(da.from_array(B, chunks=(B.shape[0], chunk)))
    with client.as_current():
        wait(futures_of(x) + futures_of(y))
    return x, y


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2400, help="matrix size n (A, B are n × n; default 2400)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=5, help="threads per worker process (default 5: 20 >= W)")
    parser.add_argument("--factor", type=float, default=10.0, help="slow-down (default 10; 1: none)")
    parser.add_argument("--run-ms", type=float, default=10.0, help="running slice of the duty cycle (default 10 ms)")
    parser.add_argument("--target", type=float, default=1e-2, help="normalized loss to reach (default 1e-2)")
    parser.add_argument("--schemes", default=",".join(SCHEMES), help="comma-separated (default: every registered)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reorder", action="store_true",
                        help="reorder=False (no importance permutation) for the schemes that protect every block "
                             "alike (all but now, ew): with dask inputs a permuted block reads every chunk")
    parser.add_argument("--inputs", choices=("numpy", "dask"), default="numpy",
                        help="numpy: A, B in this process (uepmm scatters blocks, dask.array embeds them in its "
                             "graph); dask: A, B persisted on the cluster as dask.arrays before the clock, "
                             "read from there by both (default numpy)")
    parser.add_argument("--csv", default=None, help="write the per-scheme summary here")
    args = parser.parse_args(argv)

    import warnings

    from distributed import Client, LocalCluster

    warnings.filterwarnings("ignore", message="Sending large graph")  # dask.array embeds A and B in its graph

    from uepmm.codes import CODES

    names = [s for s in args.schemes.split(",") if s in CODES and s in SCHEMES]
    rng = np.random.default_rng(args.seed)
    A, B = rng.standard_normal((args.n, args.n)), rng.standard_normal((args.n, args.n))
    specs = {name: _layout(name, SCHEMES[name][0], {**SCHEMES[name][1], **(
        {"reorder": False} if args.no_reorder and name not in UEP else {})}) for name in names}
    cluster = LocalCluster(n_workers=args.processes, threads_per_worker=args.threads, processes=True,
                           host="127.0.0.1", dashboard_address=None, scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    rows = []
    try:
        pids = client.run(os.getpid)
        slow_addr = sorted(pids)[-1]
        chunk = -(-args.n // 3)
        small = np.random.default_rng(1).standard_normal((90, 90))  # warm up (imports) before the clock
        small_on, on_cluster = None, None
        if args.inputs == "dask":  # chunks on the cluster before the clock (and before the slow-down)
            small_on = _persist(client, small, small, 30)
            on_cluster = _persist(client, A, B, chunk)
        for name in list(names):
            try:
                run_scheme(client, small, small, specs[name], args.target, args.seed, small_on)
            except ValueError as exc:  # e.g. a code that refuses dask.array inputs
                print(f"skipped {name}: {exc}", flush=True)
                names.remove(name)
        run_dask_array(client, small, small, 30, small_on)
        runners = {name: (lambda s=specs[name]: run_scheme(client, A, B, s, args.target, args.seed, on_cluster))
                   for name in names}
        runners["dask.array"] = lambda: run_dask_array(client, A, B, chunk, on_cluster)
        order = list(runners)
        samples: dict[str, list[dict]] = {name: [] for name in order}
        throttle = Throttle(pids[slow_addr], args.factor, args.run_ms / 1000.0) if args.factor > 1 else nullcontext()
        with throttle:  # --factor 1: nobody slowed (the control)
            for r in range(args.repeats):
                for name in order[r % len(order):] + order[: r % len(order)]:
                    _settle(client)
                    samples[name].append(runners[name]())
                    print(f"repeat {r} {name:>12}: {samples[name][-1]['seconds_to_target']:.2f} s", flush=True)
            _settle(client)
        base = statistics.median(s["seconds_to_target"] for s in samples["dask.array"])
        for name in order:
            t = [s["seconds_to_target"] for s in samples[name]]
            spec = specs.get(name)
            rows.append({
                "scheme": name,
                "partition": "rxc" if spec is None else spec.partition,
                "workers": 9 if spec is None else spec.workers,
                "median_seconds_to_target": round(statistics.median(t), 3),
                "min_seconds": round(min(t), 3),
                "max_seconds": round(max(t), 3),
                "ratio_to_dask_array": round(statistics.median(t) / base, 3),
                "median_seconds_total": round(statistics.median(s["seconds_total"] for s in samples[name]), 3),
                "median_startup_seconds": round(statistics.median(s["startup_seconds"] for s in samples[name]), 3),
                "median_packets_to_target": statistics.median(s["packets_to_target"] for s in samples[name]),
                "max_final_loss": f"{max(s['final_loss'] for s in samples[name]):.1e}",
                "repeats": args.repeats,
                "n": args.n,
                "inputs": args.inputs,
                "reorder": not (args.no_reorder and name not in UEP),
                "factor": args.factor,
            })
    finally:
        client.close()
        cluster.close()
    columns = list(rows[0])
    print("  ".join(columns))
    for row in rows:
        print("  ".join(str(row[c]) for c in columns))
    best = min((r for r in rows if r["scheme"] != "dask.array"), key=lambda r: r["median_seconds_to_target"])
    print(f"best: {best['scheme']} at {best['ratio_to_dask_array']}x dask.array's time "
          f"(goal <= 0.5x: {'met' if best['ratio_to_dask_array'] <= 0.5 else 'NOT met'})")
    if args.csv:
        from uepmm.experiments.tables import write_csv

        os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
        write_csv(args.csv, rows, columns)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
