"""The demo experiment: Sec. VI matrices, four codes, two partitions, loss per deadline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..codes import make_code
from ..importance import TABLE3_GAMMA, paper_sec6_classes
from ..latency import Exponential
from .plotting import new_figure
from .synthetic import loss_vs_deadline, sec6_matrices, sec6_workers

__all__ = ["DEMO_CODES", "DEMO_DEADLINES", "PLOT_GRID", "plot_demo", "run_demo"]

DEMO_CODES = ("uncoded", "mds", "now", "ew")
DEMO_DEADLINES = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
#: Extra deadlines evaluated for the plot (free: one run per trial prices every deadline).
PLOT_GRID = tuple(round(0.1 * i, 1) for i in range(1, 61))


def run_demo(
    *,
    trials: int = 10,
    deadlines: Sequence[float] = DEMO_DEADLINES,
    seed: int = 0,
    size_scale: float = 1.0,
    codes: Sequence[str] = DEMO_CODES,
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """Rows ``code, partition, workers, deadline, mean_loss, stderr, mean_received, mean_recovered``."""
    rows = []
    for partition in ("rxc", "cxr"):
        for code in codes:
            workers = sec6_workers(code)
            points = loss_vs_deadline(
                lambda rng, p=partition: sec6_matrices(p, rng, size_scale),
                deadlines,
                trials=trials,
                seed=seed,
                label=f"{code:>7} {partition}",
                show_progress=show_progress,
                code=make_code(code, gamma=TABLE3_GAMMA, ignore_unused=True),
                partition=partition,
                blocks=9,
                workers=workers,
                classes=paper_sec6_classes(partition),
                reorder=False,  # Sec. VI lays the blocks out in importance order already
                latency=Exponential(1.0),
                omega="paper",
                decoder="zero",  # the paper's decoder: this is its Sec. VI setting
            )
            rows += [
                {
                    "code": code,
                    "partition": partition,
                    "workers": workers,
                    "deadline": p.deadline,
                    "mean_loss": p.mean_loss,
                    "stderr": p.stderr,
                    "mean_received": p.mean_received,
                    "mean_recovered": p.mean_recovered,
                }
                for p in points
            ]
    return rows


def plot_demo(rows: list[dict[str, Any]], path: str) -> str | None:
    """Loss versus deadline, one curve per scheme (solid r×c, dotted c×r); ``None`` without matplotlib."""
    fig = new_figure((6.4, 4.2))
    if fig is None:
        return None
    colors = {"uncoded": "tab:blue", "mds": "tab:gray", "now": "tab:green", "ew": "orange", "repetition": "purple"}
    ax = fig.subplots()
    for (code, partition) in sorted({(r["code"], r["partition"]) for r in rows}):
        pts = sorted((r["deadline"], r["mean_loss"]) for r in rows if r["code"] == code and r["partition"] == partition)
        ax.plot(*zip(*pts), color=colors.get(code), linestyle="-" if partition == "rxc" else ":",
                label=f"{code} {partition}")
    ax.set_xlabel("deadline $T_{max}$ (latency time units)")
    ax.set_ylabel(r"normalized loss $\|C-\hat C\|_F^2/\|C\|_F^2$")
    ax.set_yscale("symlog", linthresh=1e-4)  # symlog: a loss of exactly 0 stays on the plot
    ax.set_ylim(0, 1.5)
    ax.set_title("Sec. VI synthetic setting (real encode/decode)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
