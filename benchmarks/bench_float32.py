"""Benchmark: float32 end to end against float64 (docs/performance.md, "Float32 end to end").

    PYTHONPATH=src python benchmarks/bench_float32.py [--seeds 5] [--scale 1.0] [--csv out.csv]

For the paper's Sec. VI matrices (900 × 900 times 900 × 900 at scale 1; r×c with N = P = 3,
c×r with M = 9), every code of the comparison (MDS and polynomial W = 15, NOW and EW W = 30,
Table III Γ) and ``--seeds`` seeds, one job with ``deadline=inf`` (everything recovered, the
zero-fill decoder, simulated backend, full fidelity) on:

* ``A, B`` rounded to float32 (the inputs of every run below, so all see the same numbers);
* the same values as float64: ``err64``, the float64 pipeline's error;
* float32 inputs, decoding weights (solved in float64) applied in float32, the shipped
  default: ``err32``;
* float32 inputs, weights and sums in float64 (``DECODE_WORK_DTYPE`` patched), rounded to
  float32 once at the end: ``err32_f64sums``.

Errors are relative Frobenius errors ``||C_hat - C||_F / ||C||_F`` against ``C = A @ B``
computed in float64 from the float32 values.  ``floor`` is float32's own rounding of that
``C``, the best any float32 result can do.  ``cond`` is the condition number of the received
rows, and ``err32 / (cond eps32)`` the float32 error in units of the conditioning times float32's
machine epsilon.  Also the bytes of one packet (float32 against float64).  Deterministic: the same command
writes the same CSV (timings are printed, not written).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import uepmm  # noqa: E402
from uepmm import decoding  # noqa: E402
from uepmm.experiments.synthetic import sec6_matrices  # noqa: E402

CASES = (("mds", "rxc", 15), ("polynomial", "rxc", 15), ("now", "rxc", 30), ("ew", "rxc", 30),
         ("mds", "cxr", 15), ("now", "cxr", 30), ("ew", "cxr", 30))
EPS32 = float(np.finfo(np.float32).eps)
FIELDS = ("code", "partition", "workers", "seed", "cond", "floor", "err64", "err32", "err32_f64sums", "ratio",
          "packet_bytes32", "packet_bytes64")


def _rel(C_hat: np.ndarray, C: np.ndarray) -> float:
    return float(np.linalg.norm(C_hat.astype(np.float64) - C) / np.linalg.norm(C))


def run_case(code: str, partition: str, workers: int, seed: int, scale: float) -> tuple[dict, dict]:
    A, B = sec6_matrices(partition, np.random.default_rng(1000 + seed), scale)
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    A64, B64 = A32.astype(np.float64), B32.astype(np.float64)
    C = A64 @ B64
    job = dict(code=code, partition=partition, blocks=9, workers=workers, deadline=np.inf, seed=seed)
    timings = {}
    t = time.perf_counter()
    r64 = uepmm.coded_matmul(A64, B64, **job)
    timings["decode64"] = r64.report["decode_seconds"]
    r32 = uepmm.coded_matmul(A32, B32, **job)
    timings["decode32"] = r32.report["decode_seconds"]
    with mock.patch.object(decoding, "DECODE_WORK_DTYPE", np.dtype(np.float64)):
        r32s = uepmm.coded_matmul(A32, B32, **job)
    timings["decode32_f64sums"] = r32s.report["decode_seconds"]
    timings["total"] = time.perf_counter() - t
    assert r32.estimate.dtype == np.float32 and r32s.estimate.dtype == np.float32
    assert r64.recovered.all() and r32.recovered.all() and r32s.recovered.all()
    plan = uepmm.plan_job(A32, B32, **{k: v for k, v in job.items()})
    packet32 = plan.job.compute_packet(0)
    row = {
        "code": code, "partition": partition, "workers": workers, "seed": seed,
        "cond": f"{r64.report['condition_number']:.4g}",
        "floor": f"{_rel(C.astype(np.float32), C):.4g}",
        "err64": f"{_rel(r64.estimate, C):.4g}",
        "err32": f"{_rel(r32.estimate, C):.4g}",
        "err32_f64sums": f"{_rel(r32s.estimate, C):.4g}",
        "ratio": f"{_rel(r32.estimate, C) / (r64.report['condition_number'] * EPS32):.3g}",
        "packet_bytes32": packet32.nbytes,
        "packet_bytes64": packet32.size * 8,
    }
    return row, timings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="size scale of the Sec. VI matrices (1 = 900)")
    parser.add_argument("--csv", type=Path, default=None, help="write the per-seed rows here")
    args = parser.parse_args(argv)
    rows, times = [], []
    for code, partition, workers in CASES:
        for seed in range(args.seeds):
            row, timing = run_case(code, partition, workers, seed, args.scale)
            rows.append(row)
            times.append((code, partition, timing))
    if args.csv is not None:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    print(f"relative Frobenius error over {args.seeds} seeds: median [min, max]")
    print(f"{'code':<11}{'part':<5}{'W':>3}  {'cond':>22}  {'err64':>30}  {'err32':>30}  "
          f"{'err32, float64 sums':>30}  {'err32/(cond eps32)':>30}  {'float32 floor':>12}")
    for code, partition, workers in CASES:
        mine = [r for r in rows if r["code"] == code and r["partition"] == partition]

        def spread(key, mine=mine):
            v = np.array([float(r[key]) for r in mine])
            return f"{np.median(v):.2e} [{v.min():.2e}, {v.max():.2e}]"

        floor = np.median([float(r["floor"]) for r in mine])
        print(f"{code:<11}{partition:<5}{workers:>3}  {spread('cond'):>22}  {spread('err64'):>30}  "
              f"{spread('err32'):>30}  {spread('err32_f64sums'):>30}  {spread('ratio'):>30}  {floor:>12.2e}")
    print(f"packet bytes: float32 {rows[0]['packet_bytes32']} vs float64 {rows[0]['packet_bytes64']} "
          f"({rows[0]['partition']}); decode seconds (median over all runs): "
          + ", ".join(f"{k} {np.median([t[k] for _, _, t in times]):.4f}" for k in
                      ("decode64", "decode32", "decode32_f64sums")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
