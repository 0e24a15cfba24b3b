"""Adaptive packets and late speculation against every other scheme (issue #18, simulated targets).

Settings: Sec. VI c×r and r×c, Gaussian 900³ c×r (:mod:`uepmm.matrices`), W = 30, K = 9,
exponential latency rate 1, Ω = K/W, ``cost="work"``, deadlines 0.5, 1, 2, 4, 100 trials per
seed, seeds 0, 1, 2 (each seed draws its matrices and its trials, as benchmarks/comparison_tables.py).
Rows: every registered scheme that fits the partition (:data:`uepmm.SCHEMES`, including
``spark``, ``cubed``, ``mds-adaptive``, ``now+adaptive``, ``ew+adaptive``), and variants with
one-product windows built here from what main has:

* ``singletons+`` / ``singletons+adaptive``: NOW with one class per sub-product (``class_counts=(1,)*K``),
  Γ designed per deadline, LMMSE (a one-product packet: work 1 in both partitions);
* r×c only, ``rect+`` / ``rect+adaptive``: EW over the nested rectangles {1}×{1} ⊂ {1,2}×{1,2} ⊂ all
  of the 3×3 grid (classes of 1, 3 and 5 sub-products by position after the importance order),
  ``encoding="factor"`` (eq. 11: one block product per packet), Γ designed, LMMSE.

Each row: the mean over the seeds of the 100-trial mean loss, and the range of the seed means.
Per deadline the script names the best adaptive UEP row, the best row that is not UEP, and their ratio.

Usage:  PYTHONPATH=src python benchmarks/bench_adaptive.py [--trials 100] [--seeds 0,1,2] [--csv PATH]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from uepmm.experiments.compare import fast_losses, resolve_schemes, scheme_spec  # noqa: E402
from uepmm.loss import BlockLoss  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.planning import plan_job  # noqa: E402
from uepmm.spec import JobSpec  # noqa: E402

SETTINGS = (("sec6", "cxr"), ("sec6", "rxc"), ("gaussian", "cxr"))
DEADLINES = (0.5, 1.0, 2.0, 4.0)
K, W = 9, 30
RECTANGLES = (0, 1, 2, 1, 1, 2, 2, 2, 2)  # k = n P + p on the 3x3 grid: {0}x{0}, {0,1}x{0,1} minus it, the rest


def variants(base: JobSpec, partition: str) -> list[tuple[str, bool, JobSpec]]:
    """(name, uep, spec) of the rows built here (module docstring)."""
    one = base.with_(code="now", gamma="auto", decoder="lmmse", class_counts=(1,) * K)
    out = [("singletons+", True, one), ("singletons+adaptive", True, one.with_(adaptive=True))]
    if partition == "rxc":
        rect = base.with_(code="ew", gamma="auto", decoder="lmmse", classes=RECTANGLES, encoding="factor")
        out += [("rect+", True, rect), ("rect+adaptive", True, rect.with_(adaptive=True))]
    return out


def run(workload: str, partition: str, trials: int, seeds: list[int]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for seed in seeds:
        A, B = workload_matrices(workload, partition, seed=seed, rows=900, inner=900, cols=900)
        base = JobSpec(partition=partition, blocks=K, workers=W, cost="work", omega=K / W)
        schemes, _ = resolve_schemes(None, partition)
        specs = [(s.name, s.uep, scheme_spec(s, base)) for s in schemes] + variants(base, partition)
        plan = plan_job(A, B, specs[0][2], seed=0)
        pricing = BlockLoss(plan.job.partition, plan.job.partition.block_products(plan.job.a_blocks,
                                                                                 plan.job.b_blocks))
        for name, uep, spec in specs:
            start = time.perf_counter()
            losses, _ = fast_losses(A, B, spec, DEADLINES, trials, seed, pricing=pricing)
            entry = table.setdefault(name, {"uep": uep, "adaptive": spec.adaptive, "means": [], "seconds": 0.0})
            entry["means"].append(losses.mean(axis=0))
            entry["seconds"] += time.perf_counter() - start
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--csv", default=None, help="write every row here")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for workload, partition in SETTINGS:
        table = run(workload, partition, args.trials, seeds)
        print(f"\n{workload} {partition}, cost=work, W={W}, K={K}, {len(seeds)} seeds x {args.trials} trials")
        print(f"{'scheme':22}" + "".join(f"  t={t:<10g}" for t in DEADLINES) + "  seconds")
        for name, entry in table.items():
            means = np.array(entry["means"])
            mean, low, high = means.mean(axis=0), means.min(axis=0), means.max(axis=0)
            print(f"{name:22}" + "".join(f"  {m:<12.3g}" for m in mean) + f"  {entry['seconds']:.1f}")
            for i, t in enumerate(DEADLINES):
                rows.append({"workload": workload, "partition": partition, "scheme": name, "uep": entry["uep"],
                             "adaptive": entry["adaptive"], "deadline": t, "mean_loss": mean[i],
                             "seed_min": low[i], "seed_max": high[i], "trials": args.trials * len(seeds)})
        print("best adaptive UEP row vs best non-UEP row (ratio):")
        for t in DEADLINES:
            mine = [(r["mean_loss"], r["scheme"]) for r in rows if r["workload"] == workload and
                    r["partition"] == partition and r["deadline"] == t and r["uep"] and r["adaptive"]]
            other = [(r["mean_loss"], r["scheme"]) for r in rows if r["workload"] == workload and
                     r["partition"] == partition and r["deadline"] == t and not r["uep"]]
            (a, an), (b, bn) = min(mine), min(other)
            ratio = a / b if b > 0 else (1.0 if a == 0 else math.inf)
            print(f"  t={t:g}: {an} {a:.3g}  {bn} {b:.3g}  ratio {ratio:.3g}  difference {a - b:.3g}")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
