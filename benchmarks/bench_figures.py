"""Time ``uepmm figure all`` and measure the Fig. 9 crossover times quoted in docs/reproduction.md.

Run from the repository root:

    PYTHONPATH=src python benchmarks/bench_figures.py                 # wall time of `uepmm figure all`
    PYTHONPATH=src python benchmarks/bench_figures.py --crossovers    # + crossover tables (~3 min)

A measurement, not a test: nothing is asserted.  The timed command runs in a fresh Python
process (imports included), with the defaults (100 Monte Carlo trials per point, the
paper's matrix sizes), writing to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def time_figure_all(repeats: int) -> list[float]:
    """Wall seconds of ``python -m uepmm figure all`` in a fresh process, ``repeats`` times."""
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "uepmm", "figure", "all", "--out", folder, "--no-progress"],
                check=True, env=env, stdout=subprocess.DEVNULL,
            )
            out.append(time.perf_counter() - start)
    return out


def crossover_tables() -> None:
    from uepmm.experiments.analytic_curves import (
        crossover_time,
        crossover_times,
        mds_loss,
        time_grid,
    )
    from uepmm.experiments.engine_curves import engine_loss_curves
    from uepmm.experiments.figure_options import PAPER_CROSSOVERS, FigureOptions
    from uepmm.experiments.paper_figures import omega_option

    keys = [f"{c}_{p}" for c in ("now", "ew") for p in ("rxc", "cxr")]
    print("\nCrossover times (UEP better than MDS until t), step 0.001")
    print(f"{'setting':<52}" + "".join(f"{k:>10}" for k in keys))
    print(f"{'paper (Sec. VI)':<52}" + "".join(f"{PAPER_CROSSOVERS[tuple(k.split('_'))]:>10.3f}" for k in keys))
    for label, omega, t_max in (
        ("Omega = 1 (plain F(t))", 1.0, 1.2),
        ("Omega = 9/30 (Remark 1)", omega_option("paper"), 4.0),
    ):
        cross = crossover_times(FigureOptions(trials=100, seed=0, omega=omega), t_max=t_max)
        print(f"{label + ', 100 trials, seed 0':<52}" + "".join(f"{cross[k]:>10.3f}" for k in keys))
        theory_row = {**cross, "now_cxr": cross["now_cxr_theory"], "ew_cxr": cross["ew_cxr_theory"]}
        print(f"{label + ', c×r from eq. 17 (exact mean)':<52}" + "".join(f"{theory_row[k]:>10.3f}" for k in keys))
    # How far a 100-trial simulation moves the crossovers: both partitions simulated, 10 seeds.
    times = time_grid(0.001, 1.2)
    mds = mds_loss(times, 1.0)
    for partition in ("rxc", "cxr"):
        for code in ("now", "ew"):
            values = [
                crossover_time(times, engine_loss_curves(partition, code, trials=100, seed=seed).vs_time(times), mds)
                for seed in range(10)
            ]
            print(
                f"{code}_{partition} Monte Carlo, 100 trials, seeds 0-9: min {min(values):.3f}  "
                f"mean {np.mean(values):.3f}  max {max(values):.3f}"
            )
    start = time.perf_counter()
    cross = crossover_times(FigureOptions(trials=20000, matrix_draws=100, seed=0))
    print(
        f"20000 trials over 100 matrix pairs: now_cxr {cross['now_cxr']:.3f}  ew_cxr {cross['ew_cxr']:.3f}"
        f"  ({time.perf_counter() - start:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of `uepmm figure all` (default 3)")
    parser.add_argument("--crossovers", action="store_true", help="also print the crossover tables")
    args = parser.parse_args()
    seconds = time_figure_all(args.repeats)
    print("uepmm figure all (100 trials, paper sizes): " + ", ".join(f"{s:.1f} s" for s in seconds)
          + f"  (cores: {os.cpu_count()})")
    if args.crossovers:
        crossover_tables()


if __name__ == "__main__":
    main()
