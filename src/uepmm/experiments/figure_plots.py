"""The PNGs of Figs. 8-11, drawn from their tables (:mod:`uepmm.experiments.figure_tables`).

Each ``plot_figN(rows, path)`` returns ``path``, or ``None`` when matplotlib is not
installed.  Losses are drawn on a log axis, where zeros are masked (the CSV keeps them).
"""

from __future__ import annotations

import numpy as np

from .figure_options import FIG_K
from .plotting import new_figure

__all__ = ["plot_fig8", "plot_fig9", "plot_fig10", "plot_fig11"]

_COLORS = {"now": "tab:green", "ew": "tab:orange", "mds": "tab:gray"}
_CLASS_COLORS = ("tab:red", "tab:blue", "tab:purple")
_FIGSIZE = (6.4, 4.4)
_LOSS_LABEL = r"normalised loss $E\|C-\hat C\|_F^2 \,/\, E\|C\|_F^2$"


def _column(rows: list[dict[str, float]], name: str) -> np.ndarray:
    return np.asarray([r[name] for r in rows], dtype=np.float64)


def _positive(values: np.ndarray) -> np.ndarray:
    """Zeros cannot be drawn on a log axis: mask them (the CSV keeps them)."""
    return np.where(values > 0, values, np.nan)


def _save(fig, ax, path: str, *, log: bool, ylabel: str) -> str:
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both" if log else "major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_fig8(rows: list[dict[str, float]], path: str) -> str | None:
    """Decoding probability per class versus packets received (NOW solid, EW dashed)."""
    fig = new_figure(_FIGSIZE)
    if fig is None:
        return None
    ax = fig.subplots()
    n = _column(rows, "packets")
    for code, style, name in (("now", "-", "NOW-UEP"), ("ew", "--", "EW-UEP")):
        for level in range(3):
            ax.plot(n, _column(rows, f"{code}_{level + 1}"), style, marker="o", markersize=3,
                    color=_CLASS_COLORS[level], label=f"{name}, class {level + 1}")
    ax.set_xlabel("number of received packets $N$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, n.max())
    ax.set_title("Fig. 8: decoding probabilities, k=(3,3,3), Γ=(0.40,0.35,0.25)")
    return _save(fig, ax, path, log=False, ylabel=r"decoding probability $P_{d,l}(N)$")


def _plot_loss_vs_time(rows, path, series, title) -> str | None:
    fig = new_figure(_FIGSIZE)
    if fig is None:
        return None
    ax = fig.subplots()
    x = _column(rows, "t")
    for column, label, color, style in series:
        ax.plot(x, _positive(_column(rows, column)), style, color=color, label=label)
    ax.set_xlabel("deadline $t$ (exponential latency, rate 1)")
    ax.set_xlim(x.min(), x.max())
    ax.set_title(title)
    return _save(fig, ax, path, log=True, ylabel=_LOSS_LABEL)


def plot_fig9(rows: list[dict[str, float]], path: str) -> str | None:
    """Normalised loss versus time, log scale (solid r×c Theorem 1, dotted c×r Monte Carlo)."""
    series = [
        ("now_rxc", "NOW-UEP r×c (Theorem 1)", _COLORS["now"], "-"),
        ("ew_rxc", "EW-UEP r×c (Theorem 1)", _COLORS["ew"], "-"),
        ("now_cxr", "NOW-UEP c×r (engine MC)", _COLORS["now"], ":"),
        ("ew_cxr", "EW-UEP c×r (engine MC)", _COLORS["ew"], ":"),
        ("mds", "MDS (r×c and c×r)", _COLORS["mds"], "-."),
    ]
    return _plot_loss_vs_time(rows, path, series, "Fig. 9: W=30, exponential λ=1")


def plot_fig10(rows: list[dict[str, float]], path: str) -> str | None:
    """Normalised loss versus packets received, log scale (zeros are not drawn)."""
    series = [
        ("now_rxc", "NOW-UEP r×c (eq. 17)", _COLORS["now"], "-o"),
        ("ew_rxc", "EW-UEP r×c (eq. 17)", _COLORS["ew"], "-o"),
        ("now_cxr", "NOW-UEP c×r (engine MC)", _COLORS["now"], ":s"),
        ("ew_cxr", "EW-UEP c×r (engine MC)", _COLORS["ew"], ":s"),
        ("mds", "MDS (r×c and c×r)", _COLORS["mds"], "-.^"),
    ]
    fig = new_figure(_FIGSIZE)
    if fig is None:
        return None
    ax = fig.subplots()
    n = _column(rows, "packets")
    for column, label, color, style in series:
        ax.plot(n, _positive(_column(rows, column)), style, color=color, markersize=3, label=label)
    K = sum(FIG_K)
    ax.axvline(K, color=_COLORS["mds"], linewidth=0.8, linestyle=":", label=f"MDS loss is 0 from N = K = {K}")
    ax.set_xlabel("number of received packets $N$")
    ax.set_xlim(0, n.max())
    ax.set_title("Fig. 10: loss versus packets received")
    return _save(fig, ax, path, log=True, ylabel=_LOSS_LABEL)


def plot_fig11(rows: list[dict[str, float]], path: str) -> str | None:
    """c×r: engine Monte Carlo versus the Theorem 2 bound, log scale."""
    series = [
        ("now_exact", "NOW-UEP c×r (engine MC)", _COLORS["now"], "-"),
        ("now_bound", "NOW-UEP c×r bound (Theorem 2)", _COLORS["now"], "--"),
        ("ew_exact", "EW-UEP c×r (engine MC)", _COLORS["ew"], "-"),
        ("ew_bound", "EW-UEP c×r bound (Theorem 2)", _COLORS["ew"], "--"),
        ("mds", "MDS", _COLORS["mds"], "-."),
    ]
    return _plot_loss_vs_time(rows, path, series, "Fig. 11: c×r loss and its upper bound")
