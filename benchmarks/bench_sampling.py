"""Benchmark: loss of norm-weighted sampling against the number of packets, theory and Monte Carlo.

    PYTHONPATH=src python benchmarks/bench_sampling.py [--trials 400] [--csv out.csv]

The Sec. VI matrices (one draw, seed 0; :func:`uepmm.experiments.synthetic.sec6_matrices`,
``size_scale`` 0.5 by default to keep it short), r×c (``N = P = 3``) and c×r (``M = 9``).  For
``n`` packets (``workers = n``, no latency: every packet arrives) the normalized loss
``||C - C_hat||^2 / ||C||^2`` of ``coded_matmul(code="sampling", fidelity="fast")``, mean and
standard error over ``trials`` seeds, next to the closed form
``(1/n)(sum_k ||P_k||^2 / p_k - ||C||^2) / ||C||^2`` (:func:`uepmm.theory.sampling_expected_loss`)
with the code's probabilities ``p_k ∝ ||A-block|| ||B-block||``, and the same formula at the
optimal ``p_k ∝ ||P_k||`` (which needs the products, so the PS cannot use it).
Deterministic: the same command gives the same numbers.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from uepmm import coded_matmul, plan_job, theory  # noqa: E402
from uepmm.experiments.synthetic import sec6_matrices  # noqa: E402

PACKETS = (1, 2, 5, 10, 20, 30)
SETTINGS = (("rxc", (3, 3)), ("cxr", 9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--size-scale", type=float, default=0.5)
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for partition, blocks in SETTINGS:
        A, B = sec6_matrices(partition, np.random.default_rng(0), args.size_scale)
        C = A @ B
        total = float(np.sum(C**2))
        plan = plan_job(A, B, code="sampling", partition=partition, blocks=blocks, workers=1, seed=0)
        energies = np.asarray([np.sum(P**2) for P in plan.job.partition.block_products(plan.job.a_blocks,
                                                                                        plan.job.b_blocks)])
        p = np.asarray(plan.code.probabilities)
        best = np.sqrt(energies) / np.sqrt(energies).sum()
        for n in PACKETS:
            losses = np.asarray([
                coded_matmul(A, B, code="sampling", partition=partition, blocks=blocks, workers=n, latency=None,
                             fidelity="fast", seed=s).normalized_loss(C)
                for s in range(args.trials)
            ])
            rows.append({
                "partition": partition, "packets": n,
                "mc_mean": float(losses.mean()), "mc_stderr": float(losses.std(ddof=1) / math.sqrt(args.trials)),
                "theory": float(theory.sampling_expected_loss(energies, p, total, n)) / total,
                "theory_optimal_p": float(theory.sampling_expected_loss(energies, best, total, n)) / total,
                "trials": args.trials,
            })
    print("| partition | packets n | Monte Carlo mean ± s.e. | theory (p ∝ ‖A‖‖B‖) | theory, optimal p ∝ ‖P_k‖ |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['partition']} | {r['packets']} | {r['mc_mean']:.4f} ± {r['mc_stderr']:.4f} | {r['theory']:.4f} | "
              f"{r['theory_optimal_p']:.4f} |")
    if args.csv is not None:
        keys = list(rows[0])
        lines = [",".join(keys)] + [",".join(format(r[k], ".10g") if isinstance(r[k], float) else str(r[k])
                                             for k in keys) for r in rows]
        args.csv.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
