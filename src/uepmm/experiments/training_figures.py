"""The DNN training figures of paper Sec. VII-C, drawn from run CSVs (``uepmm train``).

* Fig. 13 -- MNIST test accuracy vs mini-batch iteration, r×c, one panel per ``T_max``;
* Fig. 14 -- the same for c×r;
* Fig. 15 -- MNIST test accuracy at fixed iterations vs ``T_max``, both partitions;
* Fig. 1  -- CIFAR-10 test accuracy between epochs 30 and 120 at ``T_max = 1``.

Colours as in Sec. VII-C / Fig. 16: red centralized (no stragglers), blue uncoded, green
NOW-UEP, yellow/orange EW-UEP, purple 2-block repetition; continuous lines r×c, dotted
c×r.  Runs with several seeds are averaged (per evaluation iteration).  Each function
``figNN(runs_dir, out_dir) -> path`` writes ``figNN.csv`` (the table drawn) and
``figNN.png`` and returns the PNG's path; ``figNN_table(runs_dir)`` returns the table.

:func:`training_tables` writes the two MNIST accuracy tables of ``docs/training.md``
(final accuracy per scheme/partition/deadline; Fig. 15's accuracy at fixed iterations)
as CSV and as the Markdown the document shows.  Run CSVs of older versions (with a
``seconds`` column) are read as well.
"""

from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .plotting import new_figure
from .tables import write_csv

__all__ = [
    "FIG15_ITERATIONS",
    "SCHEME_COLOURS",
    "SCHEME_LABELS",
    "TRAINING_FIGURES",
    "fig1",
    "fig1_table",
    "fig13",
    "fig13_table",
    "fig14",
    "fig14_table",
    "fig15",
    "fig15_table",
    "final_accuracy_table",
    "load_runs",
    "training_tables",
]

SCHEME_ORDER = ("centralized", "uncoded", "now", "ew", "repetition")
SCHEME_COLOURS = {"centralized": "red", "uncoded": "blue", "now": "green", "ew": "orange", "repetition": "purple"}
SCHEME_LABELS = {
    "centralized": "centralized (no stragglers)",
    "uncoded": "uncoded",
    "now": "NOW-UEP",
    "ew": "EW-UEP",
    "repetition": "2-block repetition",
}
PARTITION_STYLES = {"rxc": "-", "cxr": ":", "-": "-"}
#: Fig. 15: the mini-batch iterations the paper compares (Sec. VII-C mentions 1000 and 1500).
FIG15_ITERATIONS = (1000, 1500)
_NUMERIC = ("deadline", "epoch", "test_accuracy", "test_loss", "train_loss", "recovered", "coded_loss", "seconds")


def load_runs(runs_dir: str | os.PathLike, dataset: str | None = None) -> list[dict[str, Any]]:
    """Every row of every complete run CSV (``*.csv`` with the run columns) in ``runs_dir``."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise FileNotFoundError(
            f"runs directory {str(root)!r} does not exist; point --runs at the --out of uepmm train"
        )
    rows: list[dict[str, Any]] = []
    for path in sorted(root.glob("*.csv")):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"scheme", "iteration", "test_accuracy"} <= set(reader.fieldnames):
                continue
            for row in reader:
                parsed: dict[str, Any] = dict(row)
                for key in _NUMERIC:
                    if key in parsed:
                        parsed[key] = float(parsed[key])
                parsed["iteration"] = int(parsed["iteration"])
                parsed["seed"] = int(parsed["seed"])
                rows.append(parsed)
    if dataset is not None:
        rows = [r for r in rows if r.get("dataset") == dataset]
    if not rows:
        what = f"{dataset} " if dataset else ""
        raise FileNotFoundError(f"no complete {what}run CSVs in {str(root)!r}; run uepmm train ... --out {root} first")
    return rows


def _curves(rows: list[dict[str, Any]]) -> dict[tuple[str, str, float], dict[str, np.ndarray]]:
    """(scheme, partition, deadline) -> iteration, epoch, accuracy, loss (means over seeds) and seeds."""
    grouped: dict[tuple[str, str, float], dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        grouped[(r["scheme"], r["partition"], r["deadline"])][r["iteration"]].append(r)
    out = {}
    for key, by_iter in grouped.items():
        its = np.array(sorted(by_iter))
        seeds = {r["seed"] for rs in by_iter.values() for r in rs}
        out[key] = {
            "iteration": its,
            "epoch": np.array([np.mean([r["epoch"] for r in by_iter[i]]) for i in its]),
            "test_accuracy": np.array([np.mean([r["test_accuracy"] for r in by_iter[i]]) for i in its]),
            "test_loss": np.array([np.mean([r["test_loss"] for r in by_iter[i]]) for i in its]),
            "seeds": np.array([len(by_iter[i]) for i in its]),
            "n_seeds": len(seeds),
        }
    return out


def _save(fig, table: list[dict[str, Any]], out_dir: str | os.PathLike, name: str) -> Path:
    """Write ``name.csv`` (the table drawn) and ``name.png`` to ``out_dir``; return the PNG's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / f"{name}.csv", table)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110)
    return path


def _scheme_key(scheme: str) -> int:
    return SCHEME_ORDER.index(scheme) if scheme in SCHEME_ORDER else len(SCHEME_ORDER)


# ------------------------------------------------------------- Figs. 13/14
def _accuracy_table(runs_dir, partition: str, dataset: str = "mnist") -> list[dict[str, Any]]:
    curves = _curves(load_runs(runs_dir, dataset))
    deadlines = sorted({d for (s, p, d) in curves if p == partition})
    if not deadlines:
        raise FileNotFoundError(f"no {dataset} runs with partition {partition!r} in {str(runs_dir)!r}")
    table = []
    for deadline in deadlines:
        keys = [k for k in curves if k[1] == partition and k[2] == deadline] + [
            k for k in curves if k[0] == "centralized"
        ]
        for key in sorted(keys, key=lambda k: _scheme_key(k[0])):
            c = curves[key]
            for i in range(len(c["iteration"])):
                table.append({
                    "dataset": dataset, "partition": partition, "deadline": deadline, "scheme": key[0],
                    "iteration": int(c["iteration"][i]), "epoch": float(c["epoch"][i]),
                    "test_accuracy": float(c["test_accuracy"][i]), "test_loss": float(c["test_loss"][i]),
                    "seeds": int(c["seeds"][i]),
                })
    return table


def fig13_table(runs_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Fig. 13 data: MNIST accuracy vs iteration for r×c, per deadline and scheme."""
    return _accuracy_table(runs_dir, "rxc")


def fig14_table(runs_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Fig. 14 data: MNIST accuracy vs iteration for c×r, per deadline and scheme."""
    return _accuracy_table(runs_dir, "cxr")


def _panels(n: int):
    """A figure of ``n`` panels, two per row; raises ``ImportError`` without matplotlib."""
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = new_figure((6.2 * cols, 4.3 * rows), required=True)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _draw_accuracy(table: list[dict[str, Any]], partition: str, title: str, out_dir, name: str) -> Path:
    deadlines = sorted({r["deadline"] for r in table})
    fig, axes = _panels(len(deadlines))
    for ax, deadline in zip(axes, deadlines):
        rows = [r for r in table if r["deadline"] == deadline]
        for scheme in sorted({r["scheme"] for r in rows}, key=_scheme_key):
            pts = [r for r in rows if r["scheme"] == scheme]
            style = "-" if scheme == "centralized" else PARTITION_STYLES[partition]
            ax.plot([r["iteration"] for r in pts], [r["test_accuracy"] for r in pts], style,
                    color=SCHEME_COLOURS.get(scheme, "black"), label=SCHEME_LABELS.get(scheme, scheme), lw=1.4)
        ax.set_title(f"$T_{{max}}$ = {deadline:g}")
        ax.set_xlabel("mini-batch iteration")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, table, out_dir, name)


def fig13(runs_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Fig. 13: MNIST accuracy with r×c coded back-propagation (writes fig13.csv/png)."""
    table = fig13_table(runs_dir)
    return _draw_accuracy(table, "rxc", "MNIST test accuracy, row-times-column (cf. paper Fig. 13)", out_dir, "fig13")


def fig14(runs_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Fig. 14: MNIST accuracy with c×r coded back-propagation (writes fig14.csv/png)."""
    table = fig14_table(runs_dir)
    return _draw_accuracy(table, "cxr", "MNIST test accuracy, column-times-row (cf. paper Fig. 14)", out_dir, "fig14")


# ------------------------------------------------------------------ Fig. 15
def _fixed_iterations(max_iteration: int) -> tuple[int, ...]:
    if max_iteration >= FIG15_ITERATIONS[-1]:
        return FIG15_ITERATIONS
    return tuple(round(max_iteration * f) for f in (1 / 3, 2 / 3))


def fig15_table(runs_dir: str | os.PathLike, iterations: tuple[int, ...] | None = None) -> list[dict[str, Any]]:
    """Fig. 15 data: accuracy at fixed iterations vs ``T_max`` for every scheme and partition.

    The accuracy "at iteration i" is the mean over the evaluations in ``(0.9 i, i]``
    (and over seeds), which steadies the single-evaluation noise; default iterations
    1000 and 1500 (Sec. VII-C), or 1/3 and 2/3 of the runs' length for shorter runs.
    """
    rows = load_runs(runs_dir, "mnist")
    curves = _curves(rows)
    if iterations is None:
        iterations = _fixed_iterations(max(r["iteration"] for r in rows))
    table = []
    for target in iterations:
        for (scheme, partition, deadline), c in sorted(
            curves.items(), key=lambda kv: (_scheme_key(kv[0][0]), kv[0][1:])
        ):
            window = (c["iteration"] > 0.9 * target) & (c["iteration"] <= target)
            if not window.any():
                continue
            table.append({
                "iteration": int(target), "scheme": scheme, "partition": partition, "deadline": deadline,
                "test_accuracy": float(np.mean(c["test_accuracy"][window])), "evaluations": int(window.sum()),
                "seeds": int(c["n_seeds"]),
            })
    if not table:
        raise FileNotFoundError(f"no MNIST evaluations near iterations {iterations} in {str(runs_dir)!r}")
    return table


def fig15(runs_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Fig. 15: MNIST accuracy at fixed iterations vs ``T_max`` (writes fig15.csv/png)."""
    table = fig15_table(runs_dir)
    iterations = sorted({r["iteration"] for r in table})
    fig, axes = _panels(len(iterations))
    deadlines = sorted({r["deadline"] for r in table if r["scheme"] != "centralized"})
    for ax, target in zip(axes, iterations):
        rows = [r for r in table if r["iteration"] == target]
        for r in rows:
            if r["scheme"] == "centralized" and deadlines:
                ax.plot([min(deadlines), max(deadlines)], [r["test_accuracy"]] * 2, "-",
                        color=SCHEME_COLOURS["centralized"], label=SCHEME_LABELS["centralized"], lw=1.4)
        for scheme in sorted({r["scheme"] for r in rows if r["scheme"] != "centralized"}, key=_scheme_key):
            for partition in ("rxc", "cxr"):
                pts = sorted((r for r in rows if r["scheme"] == scheme and r["partition"] == partition),
                             key=lambda r: r["deadline"])
                if pts:
                    ax.plot([r["deadline"] for r in pts], [r["test_accuracy"] for r in pts],
                            PARTITION_STYLES[partition], marker="o", ms=3.5, color=SCHEME_COLOURS.get(scheme, "black"),
                            label=f"{SCHEME_LABELS.get(scheme, scheme)} "
                                  f"({'r×c' if partition == 'rxc' else 'c×r'})",
                            lw=1.4)
        ax.set_xscale("log", base=2)
        ax.set_xticks(deadlines)
        ax.set_xticklabels([f"{d:g}" for d in deadlines])
        ax.set_xlabel("$T_{max}$")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"mini-batch iteration {target}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("MNIST test accuracy vs deadline (cf. paper Fig. 15; solid r×c, dotted c×r)")
    fig.tight_layout()
    return _save(fig, table, out_dir, "fig15")


# ------------------------------------------------------------------- Fig. 1
def fig1_table(runs_dir: str | os.PathLike, deadline: float = 1.0, first_epoch: float = 30.0) -> list[dict[str, Any]]:
    """Fig. 1 data: CIFAR-10 accuracy vs epoch from ``first_epoch`` on, at ``T_max = deadline``."""
    curves = _curves(load_runs(runs_dir, "cifar10"))
    table = []
    for (scheme, partition, d), c in sorted(curves.items(), key=lambda kv: (_scheme_key(kv[0][0]), kv[0][1:])):
        if scheme != "centralized" and d != deadline:
            continue
        for i in range(len(c["iteration"])):
            if c["epoch"][i] + 1e-9 < first_epoch:
                continue
            table.append({
                "scheme": scheme, "partition": partition, "deadline": d, "iteration": int(c["iteration"][i]),
                "epoch": float(c["epoch"][i]), "test_accuracy": float(c["test_accuracy"][i]),
                "test_loss": float(c["test_loss"][i]), "seeds": int(c["seeds"][i]),
            })
    if not table:
        raise FileNotFoundError(
            f"no CIFAR-10 evaluations at epoch >= {first_epoch:g} with T_max = {deadline:g} in {str(runs_dir)!r}"
        )
    return table


def fig1(runs_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Fig. 1: CIFAR-10 accuracy between epochs 30 and 120, ``T_max = 1`` (writes fig1.csv/png).

    Runs trained for fewer than 30 epochs (smoke runs) are drawn from their first epoch."""
    try:
        table = fig1_table(runs_dir)
    except FileNotFoundError:
        table = fig1_table(runs_dir, first_epoch=0.0)
    fig = new_figure((7.5, 4.8), required=True)
    ax = fig.subplots()
    for scheme, partition in sorted(
        {(r["scheme"], r["partition"]) for r in table}, key=lambda k: (_scheme_key(k[0]), k[1])
    ):
        pts = [r for r in table if r["scheme"] == scheme and r["partition"] == partition]
        label = SCHEME_LABELS.get(scheme, scheme) + (
            "" if partition == "-" else f" ({'r×c' if partition == 'rxc' else 'c×r'})"
        )
        ax.plot([r["epoch"] for r in pts], [r["test_accuracy"] for r in pts], PARTITION_STYLES.get(partition, "-"),
                color=SCHEME_COLOURS.get(scheme, "black"), label=label, lw=1.4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("CIFAR-10 test accuracy, $\\lambda$ = 0.5, $T_{max}$ = 1 (cf. paper Fig. 1)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _save(fig, table, out_dir, "fig1")


# ------------------------------------------------------------------- tables
_TABLE_SCHEMES = {"uncoded": "uncoded", "now": "NOW-UEP", "ew": "EW-UEP", "repetition": "repetition"}
_TABLE_PARTITIONS = {"rxc": "r×c", "cxr": "c×r"}


def final_accuracy_table(runs_dir: str | os.PathLike, dataset: str = "mnist") -> list[dict[str, Any]]:
    """Each run's test accuracy at its last evaluation and its mean share of sub-products
    recovered per coded product over the whole run (evaluation intervals weighted by their
    iterations; NaN for centralized), averaged over seeds, per (scheme, partition, deadline)."""
    per_run: dict[tuple[str, str, float, int], list[dict[str, Any]]] = defaultdict(list)
    for r in load_runs(runs_dir, dataset):
        per_run[(r["scheme"], r["partition"], r["deadline"], r["seed"])].append(r)
    grouped: dict[tuple[str, str, float], list[tuple[int, float, float]]] = defaultdict(list)
    for (scheme, partition, deadline, _seed), rows in per_run.items():
        rows.sort(key=lambda r: r["iteration"])
        weights = np.diff([r["iteration"] for r in rows])
        shares = np.array([r.get("recovered", math.nan) for r in rows[1:]], dtype=float)
        ok = ~np.isnan(shares) & (weights > 0)
        recovered = float(np.average(shares[ok], weights=weights[ok])) if ok.any() else math.nan
        grouped[(scheme, partition, deadline)].append((rows[-1]["iteration"], rows[-1]["test_accuracy"], recovered))
    table = []
    for key in sorted(grouped, key=lambda k: (_scheme_key(k[0]), k[1:])):
        (scheme, partition, deadline), runs = key, grouped[key]
        table.append({
            "dataset": dataset, "partition": partition, "scheme": scheme, "deadline": deadline,
            "iteration": max(it for it, _, _ in runs),
            "test_accuracy": float(np.mean([a for _, a, _ in runs])),
            "recovered": float(np.mean([rec for _, _, rec in runs])), "seeds": len(runs),
        })
    return table


def _markdown_grid(cells: dict[tuple[str, str, float], str], best: dict[float, tuple[str, str]]) -> list[str]:
    """Rows partition × scheme, columns T; ``best[T]`` = the (partition, scheme) to bold."""
    deadlines = sorted({d for (_, _, d) in cells})
    lines = ["| partition | scheme | " + " | ".join(f"T={d:g}" for d in deadlines) + " |",
             "| --- | --- | " + " | ".join("---" for _ in deadlines) + " |"]
    for partition, plabel in _TABLE_PARTITIONS.items():
        for scheme, slabel in _TABLE_SCHEMES.items():
            if not any((partition, scheme, d) in cells for d in deadlines):
                continue
            row = []
            for d in deadlines:
                text = cells.get((partition, scheme, d), "–")
                if best.get(d) == (partition, scheme):
                    head, _, tail = text.partition(" ")
                    text = f"**{head}**" + (f" {tail}" if tail else "")
                row.append(text)
            lines.append(f"| {plabel} | {slabel} | " + " | ".join(row) + " |")
    return lines


def _unique_best(values: dict[tuple[str, str, float], float]) -> dict[float, tuple[str, str]]:
    """Per deadline, the (partition, scheme) whose value is the unique maximum at 3 decimals."""
    best = {}
    for d in sorted({d for (_, _, d) in values}):
        column = {(p, s): round(v, 3) for (p, s, dd), v in values.items() if dd == d}
        top = max(column.values())
        winners = [k for k, v in column.items() if v == top]
        if len(winners) == 1:
            best[d] = winners[0]
    return best


def training_tables(runs_dir: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Path]:
    """The MNIST accuracy tables of ``docs/training.md`` from the run CSVs in ``runs_dir``.

    Writes to ``out_dir``: ``table_final_accuracy.csv`` (:func:`final_accuracy_table`),
    ``table_fig15.csv`` (:func:`fig15_table`) and ``tables.md`` (both as the Markdown of
    the document: cells ``accuracy (recovered)`` and ``accuracy at 1000 / 1500``, the
    unique best per column in bold); returns ``{"final": ..., "fig15": ..., "markdown": ...}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = final_accuracy_table(runs_dir, "mnist")
    fig15_rows = fig15_table(runs_dir)
    write_csv(out / "table_final_accuracy.csv", final)
    write_csv(out / "table_fig15.csv", fig15_rows)

    coded = [r for r in final if r["scheme"] != "centralized"]
    central = [r for r in final if r["scheme"] == "centralized"]
    steps = sorted({r["iteration"] for r in final})
    seeds = sorted({r["seeds"] for r in coded})
    lines = [f"Test accuracy after {'/'.join(f'{s:,}' for s in steps)} steps (and the mean share of sub-products "
             "recovered per coded product)"
             + (f"; centralized: **{central[0]['test_accuracy']:.3f}**" if central else "")
             + ("; one seed per cell." if seeds == [1] else f"; mean over {'/'.join(map(str, seeds))} seeds per cell."),
             ""]
    cells = {(r["partition"], r["scheme"], r["deadline"]): f"{r['test_accuracy']:.3f} ({r['recovered']:.0%})"
             for r in coded}
    lines += _markdown_grid(cells, _unique_best({(r["partition"], r["scheme"], r["deadline"]): r["test_accuracy"]
                                                 for r in coded}))
    iterations = sorted({r["iteration"] for r in fig15_rows})
    at = defaultdict(dict)
    for r in fig15_rows:
        at[(r["partition"], r["scheme"], r["deadline"])][r["iteration"]] = r["test_accuracy"]
    fmt = lambda by_it: " / ".join(f"{by_it[i]:.3f}" if i in by_it else "–" for i in iterations)  # noqa: E731
    central15 = [v for (p, s, d), v in at.items() if s == "centralized"]
    lines += ["", f"Fig. 15 (accuracy averaged over the evaluations in `(0.9 i, i]`), iteration "
              f"{' / '.join(map(str, iterations))}" + (f"; centralized {fmt(central15[0])}" if central15 else "") + ":",
              ""]
    lines += _markdown_grid({k: fmt(v) for k, v in at.items() if k[1] != "centralized"}, {})
    (out / "tables.md").write_text("\n".join(lines) + "\n")
    return {"final": out / "table_final_accuracy.csv", "fig15": out / "table_fig15.csv", "markdown": out / "tables.md"}


#: Figure name -> ``fn(runs_dir, out_dir) -> Path`` (for ``uepmm figure``).
TRAINING_FIGURES: dict[str, Callable[[str | os.PathLike, str | os.PathLike], Path]] = {
    "fig13": fig13,
    "fig14": fig14,
    "fig15": fig15,
    "fig1": fig1,
}
