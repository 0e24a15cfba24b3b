"""The tables of Figs. 8-11: one dict per point, with the columns of :data:`COLUMNS`.

* Fig. 8: analytic ``P_d,l(N)`` (:func:`uepmm.theory.decoding_probabilities`).
* Figs. 9, 10: r×c loss from Theorem 1 (eqs. 13, 16, 17); c×r loss from the engine Monte
  Carlo (:mod:`uepmm.experiments.engine_curves`); MDS.
* Fig. 11: c×r engine Monte Carlo ("exact") against the Theorem 2 bound (eqs. 18, 19).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import theory
from .._validation import positive_int
from .analytic_curves import analytic_loss, mds_loss, time_grid
from .engine_curves import curves_for
from .figure_options import (
    COLUMNS,
    DEFAULT_OPTIONS,
    FIG_GAMMA,
    FIG_K,
    FIG_MAX_PACKETS,
    FigureOptions,
)

__all__ = ["fig8_table", "fig9_table", "fig10_table", "fig11_table"]


def _rows(columns: tuple[str, ...], data: Sequence[np.ndarray]) -> list[dict[str, float]]:
    stacked = np.column_stack([np.asarray(d, dtype=np.float64) for d in data])
    rows = []
    for values in stacked:
        row = {}
        for name, value in zip(columns, values):
            row[name] = int(value) if name == "packets" else float(value)
        rows.append(row)
    return rows


def fig8_table(max_packets: int = FIG_MAX_PACKETS) -> list[dict[str, float]]:
    """Fig. 8: ``P_d,l(N)`` of NOW and EW for ``N = 0..max_packets`` (k = (3,3,3), Table III gamma)."""
    max_packets = positive_int(max_packets, "max_packets", minimum=0)
    now = theory.decoding_probabilities("now", FIG_K, FIG_GAMMA, max_packets)
    ew = theory.decoding_probabilities("ew", FIG_K, FIG_GAMMA, max_packets)
    packets = np.arange(max_packets + 1)
    return _rows(COLUMNS["fig8"], [packets, *now.T, *ew.T])


def fig9_table(options: FigureOptions = DEFAULT_OPTIONS) -> list[dict[str, float]]:
    """Fig. 9: normalised expected loss versus time (r×c Theorem 1, c×r engine Monte Carlo, MDS)."""
    t = time_grid(options.t_step)
    data = [t]
    for code in ("now", "ew"):
        data.append(analytic_loss(code, "rxc", t, options.omega))
    for code in ("now", "ew"):
        data.append(curves_for(options, "cxr", code).vs_time(t, options.estimator))
    data.append(mds_loss(t, options.omega))
    return _rows(COLUMNS["fig9"], data)


def fig10_table(options: FigureOptions = DEFAULT_OPTIONS) -> list[dict[str, float]]:
    """Fig. 10: normalised loss versus packets received (r×c eq. 17, c×r engine Monte Carlo, MDS)."""
    packets = np.arange(FIG_MAX_PACKETS + 1)
    data: list[np.ndarray] = [packets]
    for code in ("now", "ew"):
        data.append(
            theory.expected_loss_vs_packets(
                code, FIG_K, FIG_GAMMA, theory.sec6_class_energy("rxc"), FIG_MAX_PACKETS, "rxc", normalize=True
            )
        )
    for code in ("now", "ew"):
        data.append(curves_for(options, "cxr", code).vs_packets()[0])
    data.append(
        theory.expected_loss_vs_packets(
            "mds", FIG_K, None, theory.sec6_class_energy("rxc"), FIG_MAX_PACKETS, normalize=True
        )
    )
    return _rows(COLUMNS["fig10"], data)


def fig11_table(options: FigureOptions = DEFAULT_OPTIONS) -> list[dict[str, float]]:
    """Fig. 11: c×r engine Monte Carlo ("exact") versus the Theorem 2 upper bound, and MDS."""
    t = time_grid(options.t_step)
    data = [t]
    for code in ("now", "ew"):
        data.append(curves_for(options, "cxr", code).vs_time(t, options.estimator))
        data.append(analytic_loss(code, "cxr", t, options.omega, bound=True))
    data.append(mds_loss(t, options.omega))
    return _rows(COLUMNS["fig11"], data)
