"""Window selection probabilities ``Γ`` designed for the job (the paper leaves this open).

:func:`design_gamma` chooses ``Γ`` on the probability simplex to minimise the expected
normalised loss ``E[L(T)] / E||C||_F^2`` at a deadline ``T`` (or the weighted mean over
several deadlines), for a NOW or EW code with class sizes ``k`` and per-sub-product class
energies ``e_l``.

Objectives (the ``objective`` field of the result says which one was used):

* ``decoder="zero"`` (the paper's decoder: recovered sub-products in place, zeros
  elsewhere), r×c: ``"theorem1"``, Theorem 1 (eqs. 13 + 17), exact.  c×r:
  ``"theorem2-bound"``, the Theorem 2 upper bound (eq. 19), which is ``K`` times the r×c
  expression, so its minimiser is the same ``Γ``.
* ``decoder="lmmse"`` (DESIGN.md §6: ``P_hat = S G^T (G S G^T)^+ Y`` with class energies as
  the prior), loss of a realisation ``lmmse_error / E||C||^2`` (r×c) or
  ``lmmse_error_sum / E||C||^2`` (c×r, ``C = sum_k P_k``), averaged over the arrivals, the
  window draws and the Gaussian coefficients:

  - NOW: ``"lmmse-exact"``.  Within a class every sub-product has the same energy ``e_l``;
    with ``n_l`` packets on the ``k_l`` sub-products of class ``l`` the error of that class
    is ``e_l (k_l - rank)`` = ``e_l (k_l - n_l)^+`` for any coefficients of full rank (r×c;
    the trace of a projector), and in expectation the same for the sum (c×r; the row space
    of i.i.d. Gaussian rows is a uniformly random subspace).  Since ``n_l`` is
    Binomial(``N``, ``Γ_l``) given ``N`` arrivals, the expected loss is a closed form.
  - EW: ``"monte-carlo-lmmse"``, Monte Carlo with common random numbers.  ``trials``
    draws, made once from ``seed``: per draw one uniform and one Gaussian coefficient row
    per worker.  For a candidate ``Γ`` the uniforms become windows by the inverse CDF of
    ``Γ``, so the estimate is a deterministic function of ``Γ`` (piecewise constant: a
    window changes when the CDF crosses a uniform).  Arrivals are not sampled: workers
    are exchangeable, so the first ``N`` rows of a draw are the ``N`` received, and every
    ``N`` is weighted by its exact probability (eq. 13), which removes the arrival noise.
    The LMMSE error of every prefix ``N`` comes from one pass of an incremental
    orthogonal projector over the rows, vectorised over the draws.

MDS (``mds_loss``): every class iff ``N >= K`` for the zero-fill objectives (the same
Theorem 1 / Theorem 2 bound); under LMMSE, Gaussian rows on all ``K`` sub-products, by the
same Monte Carlo (``mds_objective`` says which), exact at ``N >= K``.

Optimiser: ``Γ`` is parametrised by stick breaking, ``Γ_1 = v_1``, ``Γ_l = v_l
prod_{j<l} (1 - v_j)``, ``Γ_L = prod_{j<L} (1 - v_j)`` with ``v`` in the box ``[0, 1]^(L-1)``,
so every face of the simplex (``Γ_l = 0`` exactly) is a bound.  A lattice over the simplex
gives the starting points: step 0.05 for ``L <= 3`` (0.1 for the Monte Carlo objective);
for larger ``L`` the finest lattice of at most ``_GRID_BUDGET`` points (a quarter of that
for Monte Carlo) filled up to that budget with Dirichlet(1) points drawn from ``seed``.
The best three (Monte Carlo: two) are refined with L-BFGS-B (smooth objectives,
finite-difference gradients, the objective divided by the best grid value so that its
tolerances are relative) or bounded Nelder–Mead (the piecewise-constant Monte Carlo
objective, ``Γ`` resolved to about 0.005).  The best point seen is returned; entries below
``1e-6`` are set to exactly 0 when that is no worse.  A grid value at or below ``1e-14``
is returned as it is (every class is decoded by the deadline with probability 1 to
rounding; there is nothing left to optimise).

Cost.  The zero-fill objectives compute ``P_d,l(N)`` only for ``N`` up to the point where
``P(N > n) <= 1e-15`` (``P_d,l(N)`` does not depend on ``W``), which shortens the EW dynamic
programme a lot for early deadlines: ``L = 3, W = 30`` designs in well under a second,
``L = 8, W = 300`` in seconds (``benchmarks/bench_design.py``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._validation import (
    choice,
    int_sequence,
    positive_float,
    positive_int,
    probability_vector,
)
from .importance import TABLE3_GAMMA
from .latency import LatencyModel

__all__ = ["DECODERS", "DESIGN_CODES", "OBJECTIVES", "GammaDesign", "design_gamma", "gamma_loss"]

# scipy.stats / scipy.optimize and uepmm.theory (which needs scipy.stats) are imported where
# they are used: ``import uepmm`` loads this module and stays as light as it was without it
# (scipy.stats also builds array-API helpers at import that trip over a stubbed-out torch).

#: Partitionings (as uepmm.theory.PARTITIONS).
PARTITIONS = ("rxc", "cxr")
#: Codes whose window probabilities can be designed.
DESIGN_CODES = ("now", "ew")
#: ``zero``: recovered sub-products in place, zeros elsewhere (the paper); ``lmmse``: DESIGN.md §6.
DECODERS = ("zero", "lmmse")
#: Values of :attr:`GammaDesign.objective`.
OBJECTIVES = ("theorem1", "theorem2-bound", "lmmse-exact", "monte-carlo-lmmse")

#: Grid points evaluated before the local refinement when ``L > 3``.
_GRID_BUDGET = 250
#: Number of best grid points refined locally.
_STARTS = 3
#: Probability mass of large ``N`` left out by the Monte Carlo (normalised loss <= 1 per unit mass).
_TAIL_MASS = 1e-12
#: The same for the analytic objectives.
_EXACT_TAIL_MASS = 1e-15
#: Normalised losses at or below this count as zero (the grid point is kept, no refinement).
_NEGLIGIBLE_LOSS = 1e-14
#: Relative tolerance of the incremental projector (as the decoder's ``RANK_TOL``).
_RANK_TOL = 1e-9


@dataclass(frozen=True)
class GammaDesign:
    """Result of :func:`design_gamma`.

    ``gamma``: the designed window probabilities; ``expected_loss``: the objective there
    (normalised by ``E||C||_F^2``, weighted mean over ``deadlines`` with ``weights``, which
    are normalised to sum to 1); ``table3_loss``: the same objective at the paper's Table III
    ``Γ = (0.40, 0.35, 0.25)`` (NaN unless ``L = 3``); ``mds_loss``: an MDS code under the
    same decoder; ``objective`` / ``mds_objective``: how each was computed (see the module
    docstring: ``theorem1``, ``theorem2-bound``, ``lmmse-exact``, ``monte-carlo-lmmse``).
    """

    code: str
    gamma: tuple[float, ...]
    expected_loss: float
    table3_loss: float
    mds_loss: float
    objective: str
    deadlines: tuple[float, ...]
    weights: tuple[float, ...]
    decoder: str = "zero"
    partition: str = "rxc"
    mds_objective: str = "theorem1"


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Problem:
    code: str
    k: tuple[int, ...]
    energy: np.ndarray  # per class
    workers: int
    arrivals: np.ndarray  # P(N = n), n = 0..W, mixed over the deadlines with their weights
    partition: str
    decoder: str
    deadlines: tuple[float, ...]
    weights: tuple[float, ...]
    trials: int
    seed: int
    latency: LatencyModel
    omega: float

    @property
    def total(self) -> float:
        return float(np.dot(self.k, self.energy))


def _class_energy(value: object, L: int) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"class_energy must be a sequence of {L} positive numbers (one per class), got {value!r}")
    try:
        e = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"class_energy must be a sequence of {L} positive numbers (one per class), got {value!r}") from None
    if e.ndim != 1:
        raise ValueError(f"class_energy must be 1-D (one energy per class), got shape {e.shape}")
    if e.size != L:
        raise ValueError(
            f"class_energy has {e.size} entries but k has {L} classes; give one per-sub-product "
            f"energy E||P_k||_F^2 per class, e.g. class_energy=(40, 1, 0.07) for k=(3, 3, 3)"
        )
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(
            f"class_energy entries must be finite and > 0, got {e.tolist()}; a class of zero "
            f"energy needs no protection: leave its sub-products out of k"
        )
    return e


def _deadlines(value: object) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"deadline must be a positive number or a sequence of them, got {value!r}")
    items = (value,) if isinstance(value, numbers.Real) else value
    try:
        items = tuple(items)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"deadline must be a positive number or a sequence of them, got {value!r}") from None
    if not items:
        raise ValueError("deadline is empty; give at least one deadline T > 0")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise TypeError(f"deadline must be a positive number or a sequence of them, got entry {item!r}")
        t = float(item)
        if not math.isfinite(t) or t <= 0:
            raise ValueError(f"deadline must be finite and > 0 (the time at which the PS decodes), got {t}")
        out.append(t)
    return tuple(out)


def _weights(value: object, count: int) -> tuple[float, ...]:
    if value is None:
        return (1.0 / count,) * count
    if isinstance(value, (str, bytes)):
        raise TypeError(f"weights must be a sequence of {count} non-negative numbers (one per deadline), got {value!r}")
    items = (value,) if isinstance(value, numbers.Real) else value
    try:
        w = np.asarray(tuple(items), dtype=np.float64)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"weights must be a sequence of {count} non-negative numbers (one per deadline), got {value!r}") from None
    if w.ndim != 1 or w.size != count:
        raise ValueError(
            f"weights has {w.size} entries but there are {count} deadlines; give one weight per "
            f"deadline (or omit weights for equal weights)"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"weights must be finite, >= 0 and not all zero, got {w.tolist()}")
    return tuple((w / w.sum()).tolist())


def _problem(code, k, class_energy, workers, latency, deadline, omega, partition, decoder, weights, trials, seed) -> _Problem:
    code = choice(code, "code", DESIGN_CODES)
    decoder = choice(decoder, "decoder", DECODERS)
    partition = choice(partition, "partition", PARTITIONS)
    k = int_sequence(k, "k")
    energy = _class_energy(class_energy, len(k))
    workers = positive_int(workers, "workers")
    if not isinstance(latency, LatencyModel):
        raise TypeError(
            f"latency must be a uepmm.latency.LatencyModel (e.g. uepmm.Exponential(1.0)), got {type(latency).__name__}"
        )
    deadlines = _deadlines(deadline)
    w = _weights(weights, len(deadlines))
    omega = sum(k) / workers if omega is None else positive_float(omega, "omega")
    trials = positive_int(trials, "trials")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a non-negative integer (the Monte Carlo draws are fixed by it), got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer (the Monte Carlo draws are fixed by it), got {seed}")
    from . import theory

    arrivals = np.asarray(w) @ theory.arrival_distribution(latency, deadlines, workers, omega)
    return _Problem(code, k, energy, workers, arrivals, partition, decoder, deadlines, w, trials, int(seed), latency, omega)


# --------------------------------------------------------------------------- objectives


def _last_needed(arrivals: np.ndarray, tail_mass: float) -> int:
    """Largest ``n`` such that ``P(N >= n) > tail_mass`` (0 if none)."""
    tail = np.cumsum(arrivals[::-1])[::-1]  # tail[n] = P(N >= n)
    needed = np.flatnonzero(tail > tail_mass)
    return int(needed[-1]) if needed.size else 0


def _zero_fill(problem: _Problem, code: str) -> Callable[[np.ndarray], float]:
    """Theorem 1 (r×c) or the Theorem 2 bound (c×r), mixed over the deadlines, normalised.

    The decoding probabilities are computed for ``N <= n_max`` only, where ``P(N > n_max)
    <= _EXACT_TAIL_MASS``: ``P_d,l(N)`` does not depend on ``W`` and the normalised
    conditional loss is at most 1 (r×c) or ``K`` (c×r bound), so the neglected part is below
    ``K * 1e-15``, while the dynamic programme over ``N`` gets much shorter when the
    deadline is early (for EW its cost grows as ``n_max^2``).
    """
    from . import theory

    weights = np.asarray(problem.k, dtype=np.float64) * problem.energy / problem.total
    if problem.partition == "cxr":
        weights = weights * sum(problem.k)
    n_max = max(_last_needed(problem.arrivals, _EXACT_TAIL_MASS), 1)
    arrivals = problem.arrivals[: n_max + 1]

    def loss(gamma: np.ndarray | None) -> float:
        probs = theory.decoding_probabilities(code, problem.k, gamma, n_max)
        return float(arrivals @ ((1.0 - probs) @ weights))

    return loss


def _lmmse_now(problem: _Problem) -> Callable[[np.ndarray], float]:
    """NOW under LMMSE: ``sum_l e_l E[(k_l - n_l)^+] / E||C||^2``, ``n_l | N ~ Bin(N, Γ_l)``."""
    from scipy import stats

    N = np.arange(problem.workers + 1)[:, None]
    short = [np.arange(k_l)[None, :] for k_l in problem.k]  # n_l = 0..k_l-1

    def loss(gamma: np.ndarray) -> float:
        per_n = np.zeros(problem.workers + 1)
        for k_l, e_l, g_l, n in zip(problem.k, problem.energy, gamma, short):
            pmf = stats.binom.pmf(n, N, min(max(float(g_l), 0.0), 1.0))
            per_n += e_l * (pmf @ (k_l - n[0]).astype(np.float64))
        return float(problem.arrivals @ per_n) / problem.total

    return loss


class _LmmseMonteCarlo:
    """Expected LMMSE loss by Monte Carlo with common random numbers (module docstring)."""

    def __init__(self, problem: _Problem):
        self.problem = problem
        self.max_rows = _last_needed(problem.arrivals, _TAIL_MASS)
        self.arrivals = problem.arrivals[: self.max_rows + 1]
        rng = np.random.default_rng(problem.seed)
        K = sum(problem.k)
        self.uniforms = rng.random((problem.trials, self.max_rows))
        self.coefficients = rng.standard_normal((problem.trials, self.max_rows, K))
        self.classes = np.repeat(np.arange(len(problem.k)), problem.k)
        energies = np.repeat(problem.energy, problem.k)
        self.root = np.sqrt(energies)
        self.energies = energies
        self.sum_of_products = problem.partition == "cxr"

    def windows(self, gamma: np.ndarray) -> np.ndarray:
        cdf = np.cumsum(gamma)
        cdf /= cdf[-1]
        cdf[-1] = 1.0
        return np.minimum(np.searchsorted(cdf, self.uniforms, side="right"), len(gamma) - 1)

    def prefix_errors(self, rows: np.ndarray) -> np.ndarray:
        """``out[r, n]``: LMMSE error of draw ``r`` after its first ``n`` rows (``n = 0..``).

        Keeps the orthogonal projector onto the complement of the row space of the scaled
        rows ``G S^(1/2)`` (classical Gram-Schmidt with one re-orthogonalisation, a rank-one
        downdate per new direction); the error is ``sum_k s_k ||R e_k||^2`` (r×c) or
        ``||R sqrt(s)||^2`` (c×r).
        """
        trials, n, K = rows.shape
        scaled = rows * self.root[None, None, :]
        proj = np.broadcast_to(np.eye(K), (trials, K, K)).copy()
        out = np.empty((trials, n + 1))
        out[:, 0] = self.energies.sum()
        for i in range(n):
            b = scaled[:, i, :, None]
            v = proj @ (proj @ b)
            nb2 = np.einsum("rki,rki->r", b, b)
            nv2 = np.einsum("rki,rki->r", v, v)
            ok = nv2 > (_RANK_TOL**2) * nb2
            v *= np.where(ok, 1.0 / np.sqrt(np.where(ok, nv2, 1.0)), 0.0)[:, None, None]
            proj -= v @ v.transpose(0, 2, 1)
            if self.sum_of_products:
                w = proj @ self.root
                out[:, i + 1] = np.einsum("rk,rk->r", w, w)
            else:
                out[:, i + 1] = np.einsum("rjk,rjk->rk", proj, proj) @ self.energies
        return out

    def loss_of_rows(self, rows: np.ndarray) -> float:
        errors = self.prefix_errors(rows).mean(axis=0)
        return float(self.arrivals @ errors) / self.problem.total

    def rows(self, gamma: np.ndarray | None, expanding: bool) -> np.ndarray:
        if gamma is None:  # MDS: Gaussian coefficients on every sub-product
            return self.coefficients
        win = self.windows(np.asarray(gamma, dtype=np.float64))[:, :, None]
        mask = self.classes[None, None, :] <= win if expanding else self.classes[None, None, :] == win
        return self.coefficients * mask

    def loss(self, gamma: np.ndarray | None, code: str) -> float:
        return self.loss_of_rows(self.rows(gamma, code == "ew"))


# --------------------------------------------------------------------------- optimiser


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
            res = optimize.minimize(g, v0, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-10, "gtol": 1e-7, "maxfun": 500})
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


# --------------------------------------------------------------------------- public API


def _objective(problem: _Problem, mc: _LmmseMonteCarlo | None) -> tuple[Callable[[np.ndarray], float], str, bool]:
    """``(loss(Γ), objective kind, smooth)`` for the problem's code and decoder."""
    if problem.decoder == "zero":
        return _zero_fill(problem, problem.code), _zero_kind(problem), True
    if problem.code == "now":
        return _lmmse_now(problem), "lmmse-exact", True
    assert mc is not None
    return (lambda gamma: mc.loss(gamma, problem.code)), "monte-carlo-lmmse", False


def _zero_kind(problem: _Problem) -> str:
    return "theorem1" if problem.partition == "rxc" else "theorem2-bound"


def _mds(problem: _Problem, mc: _LmmseMonteCarlo | None) -> tuple[float, str]:
    """MDS loss under the problem's decoder and how it was computed."""
    if problem.decoder == "zero":
        return _zero_fill(problem, "mds")(None), _zero_kind(problem)
    assert mc is not None
    return mc.loss(None, "mds"), "monte-carlo-lmmse"


def design_gamma(
    code: str,
    k: Sequence[int],
    class_energy: Sequence[float],
    workers: int,
    latency: LatencyModel,
    deadline: float | Sequence[float],
    *,
    omega: float | None = None,
    partition: str = "rxc",
    decoder: str = "zero",
    weights: Sequence[float] | None = None,
    trials: int = 2000,
    seed: int = 0,
) -> GammaDesign:
    """Window probabilities ``Γ`` minimising the expected normalised loss at ``deadline``.

    ``code``: ``"now"`` or ``"ew"``; ``k``: sub-products per class (class 1 most
    important); ``class_energy``: ``E||P_k||_F^2`` of a sub-product of each class (all
    ``> 0``; only ratios matter); ``workers``: ``W``; ``latency``: the response-time model,
    with ``omega`` the scaling of Remark 1 (default ``K / W``); ``deadline``: ``T > 0`` or a
    sequence of deadlines, the objective then being their mean weighted by ``weights``
    (default equal); ``partition``: ``"rxc"`` or ``"cxr"``; ``decoder``: ``"zero"`` (the
    paper's zero fill) or ``"lmmse"``; ``trials`` and ``seed``: the Monte Carlo draws of the
    EW/MDS LMMSE objectives (ignored otherwise).  See the module docstring for the
    objectives and the optimiser.  Deterministic: the same arguments give the same result.
    """
    problem = _problem(code, k, class_energy, workers, latency, deadline, omega, partition, decoder, weights, trials, seed)
    mc = _LmmseMonteCarlo(problem) if problem.decoder == "lmmse" else None
    loss, objective, smooth = _objective(problem, mc)
    mds_loss, mds_objective = _mds(problem, mc)
    gamma, value = _minimise(loss, len(problem.k), smooth, problem.seed)
    table3 = loss(np.asarray(TABLE3_GAMMA)) if len(problem.k) == len(TABLE3_GAMMA) else math.nan
    return GammaDesign(
        code=problem.code,
        gamma=tuple(float(g) for g in gamma),
        expected_loss=float(value),
        table3_loss=float(table3),
        mds_loss=float(mds_loss),
        objective=objective,
        deadlines=problem.deadlines,
        weights=problem.weights,
        decoder=problem.decoder,
        partition=problem.partition,
        mds_objective=mds_objective,
    )


def gamma_loss(
    code: str,
    k: Sequence[int],
    gamma: Sequence[float],
    class_energy: Sequence[float],
    workers: int,
    latency: LatencyModel,
    deadline: float | Sequence[float],
    *,
    omega: float | None = None,
    partition: str = "rxc",
    decoder: str = "zero",
    weights: Sequence[float] | None = None,
    trials: int = 2000,
    seed: int = 0,
) -> float:
    """The objective of :func:`design_gamma` at a given ``Γ`` (same arguments and draws).

    ``code`` may also be ``"mds"`` (``gamma`` is then ignored; pass ``None``).
    """
    is_mds = isinstance(code, str) and code.lower() == "mds"
    problem = _problem("now" if is_mds else code, k, class_energy, workers, latency, deadline, omega,
                       partition, decoder, weights, trials, seed)
    mc = _LmmseMonteCarlo(problem) if problem.decoder == "lmmse" and (is_mds or problem.code == "ew") else None
    if is_mds:
        return float(_mds(problem, mc)[0])
    g = probability_vector(gamma, "gamma", len(problem.k))
    return float(_objective(problem, mc)[0](g / g.sum()))
