"""The paper's synthetic figures (Sec. V-VI, Figs. 8-11): the registry ``uepmm figure`` runs.

Each figure is a table (CSV) and a PNG drawn from it; the pieces live in one module each:

* :mod:`~uepmm.experiments.figure_options` -- the Sec. VI setting (Table III) and
  :class:`FigureOptions`;
* :mod:`~uepmm.experiments.engine_curves` -- the c×r Monte Carlo with the core engine
  (real NOW/EW rows, real latency draws, the decoder's recovery, exact sub-products);
* :mod:`~uepmm.experiments.analytic_curves` -- Theorem 1 (eqs. 13, 16, 17), Theorem 2
  (eqs. 18, 19), MDS, and the crossover times;
* :mod:`~uepmm.experiments.figure_tables` and :mod:`~uepmm.experiments.figure_plots` --
  the tables and the PNGs of Figs. 8-11.

This module registers the figures (:data:`FIGURES`, :func:`run_figure`) and re-exports
the public names of those modules.

Time scaling (the Ω question)
-----------------------------
Remark 1 scales response times as ``F(Ω t)`` with ``Ω = K / W``; with ``Ω = 9/30`` the
crossovers of Fig. 9 would sit near t = 1.55 (NOW) and 2.8 (EW r×c), outside the paper's
t-axis (0..1.2).  With plain ``F(t)`` (``Ω = 1``) they sit at 0.465 / 0.839 / 0.974 against
the paper's 0.44 / 0.825 / 0.975, so the figures default to :data:`FIG9_OMEGA` ``= 1``
(``omega`` in :class:`FigureOptions`; ``uepmm figure --omega``).  Sec. VII's training runs
do use Remark 1 (Table VII).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .._validation import positive_float
from ..latency import paper_omega
from .analytic_curves import crossover_time, crossover_times, time_grid
from .beyond import beyond
from .engine_curves import (
    EngineCurves,
    clear_cache,
    draw_trial,
    engine_loss_curves,
    trial_seed,
)
from .figure_options import (
    COLUMNS,
    DEFAULT_OPTIONS,
    ESTIMATORS,
    FIG9_OMEGA,
    FIG_GAMMA,
    FIG_K,
    FIG_LATENCY,
    FIG_MAX_PACKETS,
    FIG_T_MAX,
    FIG_WORKERS,
    PAPER_CROSSOVERS,
    FigureOptions,
    FigureOutput,
)
from .figure_plots import plot_fig8, plot_fig9, plot_fig10, plot_fig11
from .figure_tables import fig8_table, fig9_table, fig10_table, fig11_table
from .tables import write_csv

__all__ = [
    "COLUMNS",
    "ESTIMATORS",
    "FIG9_OMEGA",
    "FIGURES",
    "FIG_GAMMA",
    "FIG_K",
    "FIG_LATENCY",
    "FIG_MAX_PACKETS",
    "FIG_T_MAX",
    "FIG_WORKERS",
    "PAPER_CROSSOVERS",
    "EngineCurves",
    "FigureOptions",
    "FigureOutput",
    "clear_cache",
    "crossover_time",
    "crossover_times",
    "draw_trial",
    "engine_loss_curves",
    "fig8",
    "fig8_table",
    "fig9",
    "fig9_table",
    "fig10",
    "fig10_table",
    "fig11",
    "fig11_table",
    "omega_option",
    "plot_fig8",
    "plot_fig9",
    "plot_fig10",
    "plot_fig11",
    "run_figure",
    "time_grid",
    "trial_seed",
]


def _write(
    name: str, rows: list[dict[str, float]], plot: Callable, out_dir: str, notes: list[str] | None = None
) -> FigureOutput:
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, f"{name}.csv")
    write_csv(csv_path, rows)
    png_path = plot(rows, os.path.join(out_dir, f"{name}.png"))
    return FigureOutput(name, COLUMNS[name], rows, csv_path, png_path, notes or [])


def fig8(out_dir: str, options: FigureOptions = DEFAULT_OPTIONS) -> FigureOutput:
    """Write ``fig8.csv`` and ``fig8.png`` to ``out_dir``."""
    return _write("fig8", fig8_table(), plot_fig8, out_dir)


def fig9(out_dir: str, options: FigureOptions = DEFAULT_OPTIONS) -> FigureOutput:
    """Write ``fig9.csv`` and ``fig9.png``; the notes give the crossover times (step 0.001)."""
    rows = fig9_table(options)
    cross = crossover_times(options, t_step=0.001, t_max=FIG_T_MAX)
    notes = [
        f"UEP beats MDS until t = {cross[f'{c}_{p}']:.3f} ({c.upper()} {p}; paper: {PAPER_CROSSOVERS[(c, p)]})"
        for c in ("now", "ew") for p in ("rxc", "cxr")
    ]
    return _write("fig9", rows, plot_fig9, out_dir, notes)


def fig10(out_dir: str, options: FigureOptions = DEFAULT_OPTIONS) -> FigureOutput:
    """Write ``fig10.csv`` and ``fig10.png`` to ``out_dir``."""
    return _write("fig10", fig10_table(options), plot_fig10, out_dir)


def fig11(out_dir: str, options: FigureOptions = DEFAULT_OPTIONS) -> FigureOutput:
    """Write ``fig11.csv`` and ``fig11.png`` to ``out_dir``."""
    return _write("fig11", fig11_table(options), plot_fig11, out_dir)


def _training_figure(name: str) -> Callable[[str, FigureOptions], FigureOutput]:
    """Adapter for a Sec. VII training figure (``uepmm.experiments.training_figures``)."""

    def make(out_dir: str, options: FigureOptions) -> FigureOutput:
        from .training_figures import TRAINING_FIGURES

        png = TRAINING_FIGURES[name](options.runs, out_dir)
        return FigureOutput(name, (), [], os.path.join(str(out_dir), f"{name}.csv"), str(png))

    make.needs_runs = True  # type: ignore[attr-defined]
    make.__doc__ = f"{name} from the training-run CSVs in options.runs."
    return make


#: Every figure the ``uepmm figure`` command knows: name -> ``f(out_dir, options) -> FigureOutput``.
#: A figure built from training runs sets the attribute ``needs_runs = True`` on its function
#: and reads ``options.runs``; ``uepmm figure all`` skips it when no ``--runs`` is given.
FIGURES: dict[str, Callable[[str, FigureOptions], FigureOutput]] = {
    "fig8": fig8,
    "fig9": fig9,
    "fig10": fig10,
    "fig11": fig11,
    **{name: _training_figure(name) for name in ("fig13", "fig14", "fig15", "fig1")},
    "beyond": beyond,
}


def run_figure(name: str, out_dir: str, options: FigureOptions = DEFAULT_OPTIONS) -> FigureOutput:
    """Look ``name`` up in :data:`FIGURES` and run it."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; valid values are {', '.join(map(repr, FIGURES))}")
    if getattr(FIGURES[name], "needs_runs", False) and options.runs is None:
        raise ValueError(f"figure {name!r} plots training runs: pass runs=DIR (uepmm figure {name} --runs DIR)")
    return FIGURES[name](out_dir, options)


def omega_option(value: float | str) -> float:
    """``"paper"`` -> Remark 1's ``K / W = 9/30``; ``"plain"`` -> 1; else the number."""
    if isinstance(value, str):
        key = value.strip().lower()
        if key == "paper":
            return paper_omega(sum(FIG_K), FIG_WORKERS)
        if key == "plain":
            return 1.0
        try:
            value = float(key)
        except ValueError:
            raise ValueError(
                f"omega must be a positive number, 'plain' (1) or 'paper' (K/W = 0.3), got {value!r}"
            ) from None
    return positive_float(value, "omega")
