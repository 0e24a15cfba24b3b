"""A Dask packet's computation against a plain block product, in this process (no cluster).

The function a Dask packet task runs (``uepmm.backends._dask_tasks._compute``: the packet in row
slabs) on an uncoded r×c row (one block product, coefficient 1) and on an MDS-style row mixing
the three B blocks of one A block, against ``A_i @ B_j``; single-threaded BLAS, median of
``--repeats``::

    PYTHONPATH=src python benchmarks/bench_packet_compute.py --n 4095 --repeats 7

Run with another checkout's ``src`` on ``PYTHONPATH`` to time another version.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4095, help="n × n factors in 3 × 3 blocks (n/3 lines each)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.n % 3 or args.n < 3:
        parser.error(f"--n must be a positive multiple of 3, got {args.n}")

    import uepmm
    from uepmm.backends._dask_tasks import TaskSpec, _compute

    rng = np.random.default_rng(0)
    rows = args.n // 3
    a_blocks = {i: rng.standard_normal((rows, args.n)) for i in range(3)}
    b_blocks = {j: rng.standard_normal((args.n, rows)) for j in range(3)}
    one = np.zeros(9)
    one[0] = 1.0  # sub-product (0, 0): A_0 B_0
    mixed = np.zeros(9)
    mixed[:3] = rng.standard_normal(3)  # A_0 (g_0 B_0 + g_1 B_1 + g_2 B_2): still one block product

    def packet(row):
        spec = TaskSpec(job_id="bench", worker=0, kind="rxc", grid=(3, 3), row=row, factors=None, delay=0.0)
        return lambda: _compute(spec, {0: a_blocks[0]}, {j: b_blocks[j] for j in np.flatnonzero(row) % 3})

    plain = _median_seconds(lambda: a_blocks[0] @ b_blocks[0], args.repeats)
    print(f"uepmm from {os.path.dirname(uepmm.__file__)}; blocks {rows} x {args.n} by {args.n} x {rows}")
    print(f"plain A_0 @ B_0: {plain:.3f} s")
    for label, row in (("uncoded packet", one), ("packet mixing 3 B blocks", mixed)):
        seconds = _median_seconds(packet(row), args.repeats)
        print(f"{label}: {seconds:.3f} s, {seconds / plain:.2f}x the plain product")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
