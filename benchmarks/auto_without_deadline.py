"""``gamma="auto"`` without a deadline (``deadline=inf``): the Γ used and its loss with all ``W`` packets.

    PYTHONPATH=src python benchmarks/auto_without_deadline.py [--trials 200] [--seeds 0,1,2]

For the Sec. VI workloads (W = 30, K = 9, Ω = 9/30, exponential latency, ``cost="work"``) and the
``gamma="auto"`` rows of ``uepmm compare`` that use it (now+, ew+, now-singletons, ew-rect), prints
the Γ of the plan at ``deadline=inf`` and the mean normalised loss at ``t = inf`` over ``--trials``
jobs per seed (:func:`uepmm.experiments.compare.fast_losses`), mean over the seeds.  Run it on
another checkout (``PYTHONPATH=../other/src``) to compare rules; about a minute on a loaded 2-core
machine.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uepmm.experiments.compare import fast_losses  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.planning import plan_job  # noqa: E402
from uepmm.scheme import SCHEMES  # noqa: E402

ROWS = (("cxr", "now+"), ("cxr", "ew+"), ("cxr", "now-singletons"), ("cxr", "ew-matdot"), ("rxc", "now+"),
        ("rxc", "ew+"), ("rxc", "ew-rect"), ("rxc", "now-singletons"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--schemes", default=None, help="comma-separated scheme names (default: all rows)")
    args = parser.parse_args()
    names = None if args.schemes is None else set(args.schemes.split(","))
    import uepmm

    print(f"uepmm from {Path(uepmm.__file__).parent}")
    for partition, name in ROWS:
        if names is not None and name not in names:
            continue
        spec = SCHEMES[name].spec(partition=partition, blocks=9 if partition == "cxr" else (3, 3), workers=30,
                                  omega=9 / 30, cost="work", deadline=math.inf)
        means, gammas = [], []
        for seed in (int(s) for s in args.seeds.split(",")):
            A, B = workload_matrices("sec6", partition, seed=seed)
            gammas.append(getattr(plan_job(A, B, spec, seed=0).code, "gamma", None))
            means.append(float(fast_losses(A, B, spec, [math.inf], args.trials, seed)[0].mean()))
        shown = np.round(gammas[0], 3).tolist() if gammas[0] is not None else "Table III"
        print(f"{partition} {name:15s} seed-0 Γ {shown}: loss at t = inf {np.mean(means):.3g} "
              f"(seeds {', '.join(f'{m:.3g}' for m in means)})", flush=True)


if __name__ == "__main__":
    main()
