"""Minimisation of an objective over the probability simplex (the ``Γ`` of ``design_gamma``).

``Γ`` is parametrised by stick breaking, ``Γ_1 = v_1``, ``Γ_l = v_l prod_{j<l} (1 - v_j)``,
``Γ_L = prod_{j<L} (1 - v_j)`` with ``v`` in the box ``[0, 1]^(L-1)``, so every face of the
simplex (``Γ_l = 0`` exactly) is a bound.  A lattice over the simplex gives the starting
points: step 0.05 for ``L <= 3`` (0.1 for the Monte Carlo objective); for larger ``L`` the
finest lattice of at most ``_GRID_BUDGET`` points (a quarter of that for Monte Carlo)
filled up to that budget with Dirichlet(1) points drawn from ``seed``.  The best three
(Monte Carlo: two) are refined with L-BFGS-B (smooth objectives, finite-difference
gradients, the objective divided by the best grid value so that its tolerances are
relative) or bounded Nelder–Mead (the piecewise-constant Monte Carlo objective, ``Γ``
resolved to about 0.005).  The best point seen is returned; entries below ``1e-6`` are set
to exactly 0 when that is no worse.  A grid value at or below ``1e-14`` is returned as it
is (every class is decoded by the deadline with probability 1 to rounding; there is
nothing left to optimise).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# scipy.optimize is imported where it is used, so that ``import uepmm`` stays light.

#: Grid points evaluated before the local refinement when ``L > 3``.
_GRID_BUDGET = 250
#: Number of best grid points refined locally.
_STARTS = 3
#: Normalised losses at or below this count as zero (the grid point is kept, no refinement).
_NEGLIGIBLE_LOSS = 1e-14


def _gamma_from_sticks(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    gamma = np.empty(v.size + 1)
    rest = 1.0
    for i, vi in enumerate(v):
        gamma[i] = rest * vi
        rest *= 1.0 - vi
    gamma[-1] = rest
    gamma = np.maximum(gamma, 0.0)
    return gamma / gamma.sum()


def _sticks_from_gamma(gamma: np.ndarray) -> np.ndarray:
    v = np.empty(gamma.size - 1)
    rest = 1.0
    for i in range(gamma.size - 1):
        v[i] = gamma[i] / rest if rest > 1e-15 else 0.0
        rest -= gamma[i]
    return np.clip(v, 0.0, 1.0)


def _lattice(L: int, m: int) -> np.ndarray:
    """All ``Γ`` with entries in ``{0, 1/m, ..., 1}`` summing to 1."""
    points = []

    def rec(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            points.append(prefix + [left])
            return
        for a in range(left, -1, -1):
            rec(prefix + [a], left - a, slots - 1)

    rec([], m, L)
    return np.asarray(points, dtype=np.float64) / m


def _start_grid(L: int, seed: int, smooth: bool) -> tuple[np.ndarray, float]:
    """Starting points and the lattice step (coarser for the costlier Monte Carlo objective)."""
    if L <= 3:
        return (_lattice(L, 20), 0.05) if smooth else (_lattice(L, 10), 0.1)
    budget = _GRID_BUDGET if smooth else _GRID_BUDGET // 4
    m = 1
    while math.comb(m + L, L - 1) <= budget:
        m += 1
    grid = _lattice(L, m)
    extra = budget - grid.shape[0]
    uniform = np.full((1, L), 1.0 / L)
    if extra > 1:
        rng = np.random.default_rng(seed)
        grid = np.vstack([grid, uniform, rng.dirichlet(np.ones(L), extra - 1)])
    return grid, 1.0 / m


def _minimise(f: Callable[[np.ndarray], float], L: int, smooth: bool, seed: int) -> tuple[np.ndarray, float]:
    from scipy import optimize

    if L == 1:
        one = np.ones(1)
        return one, f(one)
    grid, step = _start_grid(L, seed, smooth)
    values = np.array([f(g) for g in grid])
    best_gamma, best_value = grid[int(np.argmin(values))], float(values.min())
    if best_value <= _NEGLIGIBLE_LOSS:  # nothing left to gain: every class is decoded by the deadline
        return best_gamma, best_value
    scale = best_value  # the local methods see values of order 1
    bounds = [(0.0, 1.0)] * (L - 1)
    for index in np.argsort(values, kind="stable")[: _STARTS if smooth else _STARTS - 1]:
        v0 = _sticks_from_gamma(grid[index])

        def g(v: np.ndarray) -> float:
            return f(_gamma_from_sticks(v)) / scale

        if smooth:
            res = optimize.minimize(
                g, v0, method="L-BFGS-B", bounds=bounds,
                options={"ftol": 1e-10, "gtol": 1e-7, "maxfun": 500},
            )
        else:
            simplex = [v0]
            for i in range(L - 1):
                vi = v0.copy()
                vi[i] = vi[i] + step if vi[i] + step <= 1.0 else vi[i] - step
                simplex.append(vi)
            res = optimize.minimize(
                g, v0, method="Nelder-Mead", bounds=bounds,
                options={"initial_simplex": np.asarray(simplex), "xatol": 5e-3, "fatol": 1e-9, "maxfev": 60 * (L - 1)},
            )
        gamma = _gamma_from_sticks(res.x)
        value = f(gamma)
        if value < best_value:
            best_gamma, best_value = gamma, value
    # Γ_l that are zero up to the optimiser's resolution become exactly zero when that is no worse
    snapped = np.where(best_gamma < 1e-6, 0.0, best_gamma)
    snapped /= snapped.sum()
    if not np.array_equal(snapped, best_gamma):
        value = f(snapped)
        if value <= best_value * (1 + 1e-9):
            best_gamma, best_value = snapped, value
    return best_gamma, best_value
