"""Benchmark: decode cost of the polynomial (r×c) and MatDot (c×r) codes next to one worker's product.

    PYTHONPATH=src python benchmarks/bench_decode_cost.py [--seeds 5] [--repeats 5]

The paper's Sec. VI sizes (:func:`uepmm.experiments.synthetic.sec6_matrices`): r×c ``A`` 900×900,
``B`` 900×900 in ``N = P = 3`` blocks (``K = 9``); c×r ``A`` 900×900, ``B`` 900×900 in ``M = 9``
inner blocks; ``W = 30`` workers (``uepmm.paper.SEC6_WORKERS``), exponential latency.  For each
seed (a different arrival order, hence a different subset of evaluation points) the packets of
the first arrivals are computed once; then, ``repeats`` times each:

* worker: one packet, ``Job.compute_packet`` (the encoding sums and the block product);
* decode: a fresh session of the decoder ``coded_matmul`` uses, fed the packets in arrival order
  up to the threshold (``K = 9`` for polynomial, ``2M - 1 = 17`` for MatDot): the rank decision
  or count, the solve, and the combination of the packets (``DecodeSession.add``), then ``estimate``;
* solve: the small system alone (polynomial: ``lstsq`` of the 9×9 rows; MatDot: ``matdot_weights``).

Prints the median over repeats for each seed, the median and range over seeds, and the ratio of
decode to worker time; then the combination of 17 MatDot-size packets (900×900) alone, by
:func:`uepmm.codes.matdot.weighted_sum` (element-wise) and by
:func:`uepmm.decoding._combine_chunked` (a one-row GEMM per slice).  Times depend on the machine
and its load; the condition numbers do not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from uepmm import Exponential, plan_job  # noqa: E402
from uepmm.codes.matdot import matdot_weights, weighted_sum  # noqa: E402
from uepmm.codes.polynomial import chebyshev_leja_points  # noqa: E402
from uepmm.decoders import DecodeContext, decoder_for_code  # noqa: E402
from uepmm.decoding import _combine_chunked  # noqa: E402
from uepmm.experiments.synthetic import sec6_matrices  # noqa: E402
from uepmm.paper import SEC6_WORKERS  # noqa: E402

SETTINGS = (("polynomial", "rxc", (3, 3)), ("matdot", "cxr", 9))


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _measure(code: str, partition: str, blocks, seed: int, repeats: int) -> dict:
    A, B = sec6_matrices(partition, np.random.default_rng(seed))
    plan = plan_job(A, B, code=code, partition=partition, blocks=blocks, workers=SEC6_WORKERS,
                    latency=Exponential(1.0), seed=seed)
    job, layout = plan.job, plan.job.partition
    threshold = plan.code.recovery_threshold(layout.num_products)
    arrived = [int(w) for w in np.argsort(job.times, kind="stable")[:threshold]]
    packets = {w: job.compute_packet(w) for w in arrived}
    decoder = decoder_for_code(plan.code, plan.spec.decoder_object)
    context = DecodeContext(layout, plan.order, plan.dtype, job.workers, plan.classes, plan.scores, None,
                            plan.energies, plan.code)

    def decode():
        session = decoder.start(context)
        for w in arrived:
            session.add(job.encoding.generator[w], packets[w], worker=w)
        assert session.complete
        return session.estimate()

    estimate = decode()
    C = A @ B
    if code == "matdot":
        points = chebyshev_leja_points(job.workers)[arrived]
        cond = matdot_weights(points, layout.num_products)[1]

        def solve():
            return matdot_weights(points, layout.num_products)
    else:
        rows = job.encoding.generator[arrived]
        cond = float(np.linalg.cond(rows))
        eye = np.eye(layout.num_products)

        def solve():
            return np.linalg.lstsq(rows.T, eye, rcond=None)

    return {
        "worker": _median_time(lambda: job.compute_packet(arrived[0]), repeats),
        "decode": _median_time(decode, repeats),
        "solve": _median_time(solve, repeats),
        "packets": threshold,
        "cond": cond,
        "error": float(np.linalg.norm(estimate - C) / np.linalg.norm(C)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| code | partition | packets decoded | worker product (ms) | decode (ms) | of which solve (ms) | "
          "decode / worker | cond. (median, max) | rel. error (max) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for code, partition, blocks in SETTINGS:
        rows = [_measure(code, partition, blocks, seed, args.repeats) for seed in range(args.seeds)]

        def span(key, scale=1e3, rows=rows):
            values = np.asarray([r[key] for r in rows]) * scale
            return f"{np.median(values):.2f} ({values.min():.2f}–{values.max():.2f})"

        ratios = np.asarray([r["decode"] / r["worker"] for r in rows])
        conds = np.asarray([r["cond"] for r in rows])
        print(f"| {code} | {partition} | {rows[0]['packets']} | {span('worker')} | {span('decode')} | "
              f"{span('solve')} | {np.median(ratios):.2f} ({ratios.min():.2f}–{ratios.max():.2f}) | "
              f"{np.median(conds):.1e}, {conds.max():.1e} | {max(r['error'] for r in rows):.1e} |")
    rng = np.random.default_rng(0)
    packets, weights = [rng.standard_normal((900, 900)) for _ in range(17)], rng.standard_normal(17)
    routines = {
        "codes.matdot.weighted_sum": lambda: weighted_sum(weights, packets, np.zeros((900, 900))),
        "decoding._combine_chunked": lambda: _combine_chunked(weights[:, None], packets, np.zeros((1, 900, 900))),
    }
    print()
    print("| combination of 17 packets of 900×900 | median (ms) |")
    print("| --- | --- |")
    for name, fn in routines.items():
        print(f"| {name} | {_median_time(fn, args.repeats) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
