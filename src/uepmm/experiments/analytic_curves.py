"""Analytic curves of Figs. 9-11 and the crossover times against MDS.

* r×c loss: Theorem 1 (eqs. 13, 16, 17), exact for the large-field code.
* c×r bound: Theorem 2 (eqs. 18, 19).
* MDS: ``P(N(t) < K)`` (everything or nothing), which is the normalised loss of *both*
  partitions: with nothing recovered ``C_hat = 0`` and the loss is ``||C||^2``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import theory
from .._validation import positive_float
from ..codes import make_code
from .engine_curves import curves_for
from .figure_options import (
    DEFAULT_OPTIONS,
    FIG_GAMMA,
    FIG_K,
    FIG_LATENCY,
    FIG_T_MAX,
    FIG_WORKERS,
    FigureOptions,
)

__all__ = ["analytic_loss", "crossover_time", "crossover_times", "mds_loss", "time_grid"]


def time_grid(t_step: float, t_max: float = FIG_T_MAX) -> np.ndarray:
    """``0, h, 2h, ..., t_max`` with ``h <= t_step`` (``t_max`` always included)."""
    t_step = positive_float(t_step, "t_step")
    t_max = positive_float(t_max, "t_max")
    n = max(1, math.ceil(t_max / t_step - 1e-9))
    return np.round(np.linspace(0.0, t_max, n + 1), 12)


def analytic_loss(code: str, partition: str, times: np.ndarray, omega: float, bound: bool = False) -> np.ndarray:
    """Normalised expected loss: Theorem 1 (eq. 17) or, with ``bound``, Theorem 2 (eq. 19)."""
    energy = theory.sec6_class_energy(partition)
    return theory.expected_loss(
        make_code(code, gamma=FIG_GAMMA, ignore_unused=True), FIG_K, None, FIG_LATENCY, times, FIG_WORKERS, energy,
        partition="cxr" if bound else "rxc", omega=omega, normalize=True,
    )


def mds_loss(times: np.ndarray, omega: float) -> np.ndarray:
    """``P(N(t) < K)``: the normalised MDS loss of both partitions (everything or nothing)."""
    return analytic_loss("mds", "rxc", times, omega)


def crossover_time(times: np.ndarray, uep: np.ndarray, mds: np.ndarray) -> float:
    """The time until which the UEP loss stays strictly below the MDS loss.

    From the first grid point where UEP is better, find the first later point where it is
    not and interpolate ``uep - mds`` linearly between the two.  ``nan`` if UEP is never
    better, or never stops being better on the grid.
    """
    times = np.asarray(times, dtype=np.float64)
    diff = np.asarray(uep, dtype=np.float64) - np.asarray(mds, dtype=np.float64)
    better = np.flatnonzero(diff < 0)
    if better.size == 0:
        return math.nan
    after = np.flatnonzero(diff[better[0]:] >= 0)
    if after.size == 0:
        return math.nan
    i = int(better[0] + after[0])
    frac = -diff[i - 1] / (diff[i] - diff[i - 1])
    return float(times[i - 1] + frac * (times[i] - times[i - 1]))


def crossover_times(
    options: FigureOptions = DEFAULT_OPTIONS, t_step: float = 0.001, t_max: float = 3.0
) -> dict[str, float]:
    """Times until which NOW / EW beat MDS, on a fine grid, keyed ``"{code}_{partition}"``.

    r×c from Theorem 1; c×r from the engine Monte Carlo (``options.estimator``), and, for
    reference, ``"{code}_cxr_theory"``: eq. 17 with the c×r energies, which is the exact
    c×r expectation under Assumption 1 (independent zero-mean blocks make the cross terms
    of ``||sum of missing P_m||^2`` vanish in expectation).
    """
    times = time_grid(t_step, t_max)
    mds = mds_loss(times, options.omega)
    out: dict[str, float] = {}
    for code in ("now", "ew"):
        out[f"{code}_rxc"] = crossover_time(times, analytic_loss(code, "rxc", times, options.omega), mds)
        out[f"{code}_cxr"] = crossover_time(
            times, curves_for(options, "cxr", code).vs_time(times, options.estimator), mds
        )
        out[f"{code}_cxr_theory"] = crossover_time(times, analytic_loss(code, "cxr", times, options.omega), mds)
    return out
