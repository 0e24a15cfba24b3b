"""Parameter-server memory and wall time with ``dask.array`` inputs (not a test; docs/performance.md).

Two n×n float64 ``dask.array`` s are created ON a LocalCluster (``da.random.RandomState(seed)``,
persisted there), then multiplied three ways on the same cluster:

* ``uepmm``: ``coded_matmul(A, B, backend="dask", client=client, ...)`` with the data left on
  the cluster (statistics, blocks, packets and decoding combinations as cluster tasks); the
  timing ends when the estimate's combination futures exist on the cluster;
* ``dask.array``: ``client.persist(A @ B)`` until it is in cluster memory (timed first; it is
  also the reference product);
* ``pulled`` (``--pulled``, the behaviour before: what the issue measured): ``A`` and ``B``
  computed into this process, then ``coded_matmul`` on the numpy copies (numpy out).

For each, a thread samples this process's resident set size (psutil) every 2 ms; ``peak_MB`` is
the peak minus the RSS just before the call.  Each uepmm run also checks the estimate on the
cluster: ``normalized_loss(A @ B)`` (two floats come back) must be below 1e-20 (exact).

Run from the repository root, one size at a time (2 cores, 24 GiB here)::

    PYTHONPATH=src python benchmarks/bench_dask_memory.py --n 4000 --seeds 0 1 2 --pulled
    PYTHONPATH=src python benchmarks/bench_dask_memory.py --n 8000 --seeds 0 1
    PYTHONPATH=src python benchmarks/bench_dask_memory.py --n 4096 --code uncoded --workers 9 --seeds 0 1 2
    PYTHONPATH=src python benchmarks/bench_dask_memory.py --n 4096 --code uncoded --workers 9 --seeds 0 1 2 --no-reorder

Prints one CSV row per (seed, path): n, code, W, seed, path, seconds, peak_MB, loss, and for
uepmm the breakdown: plan_s (statistics on the cluster, order, draw), blocks_s (block tasks
computed on the cluster, probe references), start_s (start line), run_s (start to the last
packet decoded), decode_s (combination tasks until their futures exist).

The "client process" holds the LocalCluster's scheduler too (as in the issue's measurement).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import psutil  # noqa: E402


class PeakRSS:
    """Peak resident set size growth of this process while the ``with`` block runs (MB)."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.process = psutil.Process()

    def __enter__(self):
        self.base = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)
        self.growth_mb = (self.peak - self.base) / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--code", default="mds")
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--chunks", type=int, default=0, help="chunk side of A and B (default n/4)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-reorder", action="store_true", help="reorder=False (no importance permutation)")
    parser.add_argument("--pulled", action="store_true", help="also the pull-into-the-PS path (numpy copies)")
    args = parser.parse_args(argv)

    import dask.array as da
    from distributed import Client, LocalCluster, wait

    import uepmm

    n, chunk = args.n, args.chunks or -(-args.n // 4)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=max(6, -(-args.workers // 2) + 2), processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR,
        memory_limit=0,
    )
    client = Client(cluster, set_as_default=False)
    settings = dict(code=args.code, partition="rxc", blocks=args.blocks, workers=args.workers, latency=None,
                    backend="dask", client=client, reorder=not args.no_reorder)
    print("n,code,W,seed,path,seconds,peak_MB,loss,plan_s,blocks_s,start_s,run_s,decode_s")
    try:
        warm = client.persist(da.ones((90, 90), chunks=30))
        uepmm.coded_matmul(warm, warm, **settings, seed=0)  # imports and first-use costs on the workers
        for seed in args.seeds:
            rs = da.random.RandomState(seed)
            A = client.persist(rs.standard_normal((n, n), chunks=chunk))
            B = client.persist(rs.standard_normal((n, n), chunks=chunk))
            with client.as_current():
                wait([A, B])
            with PeakRSS() as mem:
                t = time.perf_counter()
                C = client.persist(A @ B)  # dask.array's own product, kept as the reference
                with client.as_current():
                    wait(C)
                seconds = time.perf_counter() - t
            print(f"{n},{args.code},{args.workers},{seed},dask.array,{seconds:.2f},{mem.growth_mb:.1f},", flush=True)

            with PeakRSS() as mem:
                t = time.perf_counter()
                res = uepmm.coded_matmul(A, B, **settings, seed=seed)
                seconds = time.perf_counter() - t
            loss = res.normalized_loss(C)
            if not loss < 1e-20:
                raise AssertionError(f"the estimate is not exact: normalized loss {loss}")
            parts = [res.report[key] for key in ("plan_seconds", "scatter_seconds", "startup_seconds",
                                                 "elapsed_seconds", "decode_seconds")]
            print(f"{n},{args.code},{args.workers},{seed},uepmm,{seconds:.2f},{mem.growth_mb:.1f},{loss:.2e},"
                  + ",".join(f"{p:.2f}" for p in parts), flush=True)
            del res

            if args.pulled:
                with PeakRSS() as mem:
                    t = time.perf_counter()
                    An, Bn = client.compute([A, B], sync=True)
                    res = uepmm.coded_matmul(An, Bn, **settings, seed=seed)
                    seconds = time.perf_counter() - t
                del An, Bn, res
                print(f"{n},{args.code},{args.workers},{seed},pulled,{seconds:.2f},{mem.growth_mb:.1f},", flush=True)
            del A, B, C
    finally:
        client.close()
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
