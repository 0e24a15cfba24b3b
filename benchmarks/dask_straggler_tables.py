"""Markdown tables from the CSVs of ``bench_dask_straggler.py`` (docs/comparison.md, "Dask, one process slowed").

    python benchmarks/dask_straggler_tables.py docs/figures/comparison/dask_straggler_*.csv

For each CSV (one configuration: matrices, inputs, n, slow-down): one row per scheme, one column per
target, each cell ``median s (min–max) ×ratio to dask.array``; then the best uepmm scheme per target
with its ratios to ``dask.array`` and to the oracle.  Reads only the CSVs (no cluster, no timing).
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict


def _cell(row: dict) -> str:
    median = float(row["seconds_median"])  # "inf": never reached
    if not math.isfinite(median):
        return "never"
    spread = f"{float(row['seconds_min']):.2f}–{float(row['seconds_max']):.2f}"
    return f"{median:.2f} ({spread}) ×{float(row['ratio_to_dask_array']):.2f}"


def table(path: str) -> str:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return f"{path}: no rows\n"
    first = rows[0]
    targets = list(dict.fromkeys(r["target"] for r in rows))
    by_scheme: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        by_scheme[r["scheme"]][r["target"]] = r
    slowed = "no process slowed" if float(first["slowed"]) == 1 else f"one process slowed {first['slowed']}×"
    title = f"{first['matrices']} {first['n']}², {first['inputs']} inputs, {slowed}"
    out = [f"**{title}** (`{path}`): median s (min–max over repeats) ×dask.array", "",
           "| scheme | " + " | ".join(f"loss ≤ {t}" if t != "exact" else "exact" for t in targets) + " |",
           "| --- |" + " --- |" * len(targets)]
    for scheme, cells in by_scheme.items():
        out.append(f"| {scheme} | " + " | ".join(_cell(cells[t]) if t in cells else "–" for t in targets) + " |")
    out.append("")
    best = []
    for t in targets:
        runs = [(by_scheme[s][t], s) for s in by_scheme if s not in ("dask.array", "oracle") and t in by_scheme[s]]
        if not runs:
            continue
        row, scheme = min(runs, key=lambda item: float(item[0]["seconds_median"]))
        if math.isfinite(float(row["seconds_median"])):
            best.append(f"{t}: {scheme} ×{float(row['ratio_to_dask_array']):.2f} dask.array, "
                        f"×{float(row['ratio_to_oracle']):.1f} oracle")
    out.append("Best uepmm scheme per target: " + ("; ".join(best) if best else "none reaches a target") + ".")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="+", help="CSVs written by bench_dask_straggler.py --csv")
    args = parser.parse_args(argv)
    print("\n".join(table(path) for path in args.csv))


if __name__ == "__main__":
    main()
