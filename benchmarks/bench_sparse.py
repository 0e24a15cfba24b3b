"""Sparse inputs against their dense copies: plan time, run time and peak memory.

For a ``density`` -dense ``n×n @ n×n`` product (scipy ``csr_array``, uniform random pattern,
entries uniform in [0, 1)), run ``coded_matmul`` on the simulated backend with
``fidelity="fast"`` and ``deadline=inf`` once with the sparse matrices and once with
``A.toarray()``, ``B.toarray()``, and report:

* ``plan_s``: ``plan_job`` alone (validation, line statistics, importance order, blocks, draw);
* ``run_s``: the whole ``coded_matmul`` (plan, the K exact sub-products of fast fidelity, decode);
* ``input_MB``: the bytes of ``A`` and ``B`` as passed (sparse: data and index arrays);
* ``peak_MB``: peak memory that ``coded_matmul`` allocated on top of its inputs (tracemalloc,
  which sees numpy's and scipy's array buffers), including the fast fidelity's ``K`` exact
  sub-products (``K × U × Q`` float64: the size of ``C`` for r×c, ``M`` times it for c×r) and ``C_hat``;
* ``blocks_MB``: the bytes of the blocks the workers would receive.

Usage:  python benchmarks/bench_sparse.py [--n 4000] [--densities 0.01 0.1] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

import uepmm
from uepmm.experiments.tables import format_rows
from uepmm.sparse import nbytes

CODES = [("mds", 12), ("ew", 30)]
PARTITIONS = ("rxc", "cxr")


def measure(A, B, partition: str, code: str, workers: int) -> dict:
    kwargs = dict(code=code, partition=partition, blocks=9, workers=workers, deadline=math.inf, fidelity="fast",
                  seed=0)
    start = time.perf_counter()
    plan = uepmm.plan_job(A, B, **kwargs)
    plan_s = time.perf_counter() - start
    blocks_mb = sum(nbytes(b) for b in plan.job.a_blocks + plan.job.b_blocks) / 1e6
    del plan
    tracemalloc.start()
    start = time.perf_counter()
    res = uepmm.coded_matmul(A, B, **kwargs)
    run_s = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.recovered.all()
    return {"plan_s": plan_s, "run_s": run_s, "input_MB": (nbytes(A) + nbytes(B)) / 1e6, "peak_MB": peak / 1e6,
            "blocks_MB": blocks_mb, "estimate": res.estimate}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="A and B are n×n")
    parser.add_argument("--densities", type=float, nargs="+", default=[0.01, 0.1])
    parser.add_argument("--quick", action="store_true", help="n = 1000")
    args = parser.parse_args(argv)
    n = 1000 if args.quick else args.n
    rows = []
    for density in args.densities:
        rng = np.random.default_rng(0)
        A = sp.random_array((n, n), density=density, format="csr", rng=rng)
        B = sp.random_array((n, n), density=density, format="csr", rng=rng)
        Ad, Bd = A.toarray(), B.toarray()
        for partition in PARTITIONS:
            for code, workers in CODES:
                sparse_row = measure(A, B, partition, code, workers)
                dense_row = measure(Ad, Bd, partition, code, workers)
                diff = np.abs(sparse_row.pop("estimate") - dense_row.pop("estimate")).max()
                for path, row in (("sparse", sparse_row), ("dense", dense_row)):
                    rows.append({"density": density, "partition": partition, "code": code, "input": path, **row})
                    print(format_rows([rows[-1]], "table").splitlines()[-1], file=sys.stderr)
                rows[-1]["max|sparse-dense|"] = rows[-2]["max|sparse-dense|"] = float(diff)
    print(f"n = {n}, blocks = 9, fidelity = 'fast', deadline = inf, simulated backend")
    print(format_rows(rows, "table"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
