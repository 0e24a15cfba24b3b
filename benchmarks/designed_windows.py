"""Designed windows against the fixed default structures (issue #17 item 2; docs/design-gamma.md, "Designed windows").

One command (about 8 minutes on the shared 2-core machine under load; the r×c designs dominate):

    PYTHONPATH=src python benchmarks/designed_windows.py [--trials 100] [--seeds 0,1,2] [--out DIR]

``designed_windows.csv``: mean normalised loss on the Sec. VI matrices (W = 30, K = 9, Ω = 9/30,
exponential latency, ``cost="work"``, deadlines 0.5/1/2/4), each seed with its own matrices and
trials (:func:`uepmm.experiments.compare.fast_losses`), for

* r×c: ``ew-rect`` (EW, the default nested rectangles 1×1, 2×2, 3×3, factor form, LMMSE, ``gamma="auto"``)
  against the same with ``classes="rectangles-auto"`` (the chain of rectangles chosen with Γ);
* c×r: ``now-singletons`` (one class per sub-product) against ``now`` with ``classes="sizes-auto"``
  (class sizes chosen with Γ);

with the chosen structure, its design objective and the default's, and the cold-cache design time
of each (setting, seed, deadline) in ms (:func:`uepmm.design.windows.design_windows`).

``--exhaustive`` (about 3 minutes) instead writes ``exhaustive_sizes.csv``: on the Sec. VI c×r matrices
(seed 0, NOW, LMMSE, ``cost="work"``), the design objective of every composition ``(k_1, ..., k_L)`` of
K = 9 with ``L <= 4`` and of the singletons (94 structures), to check that ``ClassSizes("auto")``'s 19
candidates (non-decreasing sizes) hold the best one.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uepmm.design import windows  # noqa: E402
from uepmm.experiments.compare import fast_losses  # noqa: E402
from uepmm.experiments.tables import write_csv  # noqa: E402
from uepmm.matrices import workload_matrices  # noqa: E402
from uepmm.planning import plan_job  # noqa: E402
from uepmm.spec import JobSpec  # noqa: E402

DEADLINES = (0.5, 1.0, 2.0, 4.0)
#: (partition, scheme, JobSpec settings): the fixed default structure, then the designed one.
SCHEMES = (
    ("rxc", "ew-rect", dict(code="ew", classes="rectangles", encoding="factor", decoder="lmmse", gamma="auto")),
    ("rxc", "ew-rect-designed", dict(code="ew", classes="rectangles-auto", encoding="factor", decoder="lmmse",
                                     gamma="auto")),
    ("cxr", "now-singletons", dict(code="now", classes="singletons", decoder="lmmse", gamma="auto")),
    ("cxr", "now-sizes-designed", dict(code="now", classes="sizes-auto", decoder="lmmse", gamma="auto")),
)


def base_spec(partition: str) -> JobSpec:
    return JobSpec(partition=partition, blocks=9 if partition == "cxr" else (3, 3), workers=30, omega=9 / 30,
                   cost="work")


def run(trials: int, seeds: list[int]) -> list[dict]:
    rows = []
    for partition, name, settings in SCHEMES:
        spec = base_spec(partition).with_(**settings)
        designed = spec.classes.designed
        for seed in seeds:
            A, B = workload_matrices("sec6", partition, seed=seed)
            chosen = {}
            if designed:  # the design of each deadline, timed with a cold cache (fast_losses then reuses it)
                plan = plan_job(A, B, spec.with_(deadline=float("inf")), seed=0)
                for t in DEADLINES:
                    windows._design.cache_clear()
                    start = time.perf_counter()
                    d = windows.design_windows(spec.with_(deadline=t), plan.scores, plan.energies)
                    chosen[t] = (d.structure, d.expected_loss, d.default_loss, 1e3 * (time.perf_counter() - start),
                                 d.candidates, d.designs)
            got, decoder = fast_losses(A, B, spec, DEADLINES, trials, seed)
            for t, mean in zip(DEADLINES, got.mean(axis=0)):
                structure, objective, default_objective, ms, candidates, designs = chosen.get(
                    t, ("default", np.nan, np.nan, np.nan, 1, np.nan))
                rows.append({"partition": partition, "scheme": name, "decoder": decoder, "seed": seed, "deadline": t,
                             "trials": trials, "mean_loss": float(mean), "structure": structure,
                             "objective": objective, "default_objective": default_objective,
                             "candidates": candidates, "designs": designs, "design_ms": ms})
            print(f"{partition} {name} seed {seed}: {np.round(got.mean(axis=0), 5).tolist()} "
                  f"{[chosen[t][0] for t in DEADLINES] if designed else ''}", file=sys.stderr, flush=True)
    return rows


def exhaustive_sizes() -> list[dict]:
    """Design objective of every composition of K = 9 into at most 4 classes, and of the singletons."""
    from uepmm.design import design_gamma
    from uepmm.design.auto import AUTO_TRIALS, class_energies, energy_key
    from uepmm.importance import ClassSizes, classes_by_rank

    spec = base_spec("cxr").with_(code="now", classes="sizes-auto", decoder="lmmse", gamma="auto")
    A, B = workload_matrices("sec6", "cxr", seed=0)
    plan = plan_job(A, B, spec.with_(deadline=float("inf")), seed=0)
    compositions = [(1,) * 9]
    for cuts in itertools.product((0, 1), repeat=8):  # a cut after position i ends a class
        sizes = np.diff([0, *[i + 1 for i, c in enumerate(cuts) if c], 9]).tolist()
        if len(sizes) <= 4:
            compositions.append(tuple(sizes))
    candidates = {rule.counts for rule in ClassSizes("auto").for_layout("cxr", (9, 1)).candidates()}
    rows = []
    for t in DEADLINES:
        for counts in compositions:
            table = classes_by_rank(plan.scores, counts)
            design = design_gamma("now", counts, energy_key(class_energies(plan.energies, table)), 30,
                                  spec.latency, t, omega=spec.omega_value, partition="cxr", decoder="lmmse",
                                  cost="work", trials=AUTO_TRIALS)
            rows.append({"deadline": t, "counts": " ".join(map(str, counts)), "candidate": int(counts in candidates),
                         "objective": design.expected_loss})
        here = [r for r in rows if r["deadline"] == t]
        best = min(here, key=lambda r: r["objective"])
        best_candidate = min((r for r in here if r["candidate"]), key=lambda r: r["objective"])
        print(f"t = {t}: best of {len(here)} ({best['counts']}) {best['objective']:.6g}, best candidate "
              f"({best_candidate['counts']}) {best_candidate['objective']:.6g}", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--exhaustive", action="store_true", help="the c×r check of every composition instead")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "designed_windows"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.exhaustive:
        write_csv(out / "exhaustive_sizes.csv", exhaustive_sizes())
        print(f"wrote {out / 'exhaustive_sizes.csv'}", file=sys.stderr)
        return
    rows = run(args.trials, [int(s) for s in args.seeds.split(",")])
    write_csv(out / "designed_windows.csv", rows)
    print(f"wrote {out / 'designed_windows.csv'}", file=sys.stderr)
    for partition, name, _ in SCHEMES:  # mean over seeds
        means = [np.mean([r["mean_loss"] for r in rows if r["scheme"] == name and r["deadline"] == t])
                 for t in DEADLINES]
        print(f"{partition} {name:20s} " + " ".join(f"{m:.4g}" for m in means))


if __name__ == "__main__":
    main()
