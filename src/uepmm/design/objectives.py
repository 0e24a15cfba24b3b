"""Objectives of the design: the expected normalised loss as a function of ``Γ``.

Every objective is mixed over the deadlines (through the problem's arrival distribution)
and normalised by ``E||C||_F^2``; the ``objective`` field of the result says which one was
used:

* ``decoder="zero"`` (the paper's decoder: recovered sub-products in place, zeros
  elsewhere), r×c: ``"theorem1"``, Theorem 1 (eqs. 13 + 17), exact.  c×r:
  ``"theorem2-bound"``, the Theorem 2 upper bound (eq. 19), which is ``K`` times the r×c
  expression, so its minimiser is the same ``Γ``.
* ``decoder="lmmse"`` (docs/design.md §5: ``P_hat = S G^T (G S G^T)^+ Y`` with class energies as
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

``cost="work"`` (:mod:`uepmm.design.work`): per deadline, the same objectives at the arrived
windows' ``Γ' = Γ F_s / p`` with Binomial(``W``, ``p = Σ Γ_l F_{s_l}``) arrivals (NOW LMMSE: the
packets on class ``l`` are Binomial(``W``, ``Γ_l F_{s_l}``)); the Monte Carlo keeps its draws
and maps the uniforms through ``Γ'``.

MDS (``mds_loss``): every class iff ``N >= K`` for the zero-fill objectives (the same
Theorem 1 / Theorem 2 bound); under LMMSE, Gaussian rows on all ``K`` sub-products, by the
same Monte Carlo (``mds_objective`` says which), exact at ``N >= K``.

Cost.  The zero-fill objectives compute ``P_d,l(N)`` only for ``N`` up to the point where
``P(N > n) <= 1e-15`` (``P_d,l(N)`` does not depend on ``W``), which shortens the EW dynamic
programme a lot for early deadlines: ``L = 3, W = 30`` designs in well under a second,
``L = 8, W = 300`` in seconds (``benchmarks/bench_design.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..codes import make_code
from .problem import _Problem

__all__ = ["OBJECTIVES"]

# scipy.stats and uepmm.theory (which needs scipy.stats) are imported where they are used, so
# that ``import uepmm`` stays light (see uepmm.design.problem).

#: Values of :attr:`GammaDesign.objective`.
OBJECTIVES = ("theorem1", "theorem2-bound", "lmmse-exact", "monte-carlo-lmmse")

#: Probability mass of large ``N`` left out by the Monte Carlo (normalised loss <= 1 per unit mass).
_TAIL_MASS = 1e-12
#: The same for the analytic objectives.
_EXACT_TAIL_MASS = 1e-15
#: Relative tolerance of the incremental projector (as the decoder's ``RANK_TOL``).
_RANK_TOL = 1e-9


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
    from .. import theory

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


def _effective(problem: _Problem, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cost="work"``: per deadline, ``p = Σ_l Γ_l F_{s_l}(t)`` and the arrived windows' ``Γ' = Γ F / p``
    (``Γ`` itself where nothing can arrive; ``N = 0`` then has probability one)."""
    joint = gamma[None, :] * problem.window_cdf
    p = joint.sum(axis=1)
    effective = np.where(p[:, None] > 0, joint / np.where(p > 0, p, 1.0)[:, None], gamma[None, :])
    return np.clip(p, 0.0, 1.0), effective


def _top_arrivals(problem: _Problem) -> np.ndarray:
    """``P(N = n)`` per deadline at the largest arrival probability any ``Γ`` (or MDS) can give: its
    tail bounds theirs (the Binomial tail grows with ``p``), so it fixes how many ``N`` to keep."""
    from scipy import stats

    top = np.maximum(problem.window_cdf.max(axis=1), problem.mds_cdf)
    return stats.binom.pmf(np.arange(problem.workers + 1)[None, :], problem.workers, top[:, None])


def _zero_fill_work(problem: _Problem, code: str) -> Callable[[np.ndarray | None], float]:
    """:func:`_zero_fill` under ``cost="work"``: per deadline, the decoding probabilities of ``Γ'``
    and Binomial(``W``, ``p``) arrivals (MDS: ``p = F_{s_mds}(t)``), truncated as there."""
    from scipy import stats

    from .. import theory

    weights = np.asarray(problem.k, dtype=np.float64) * problem.energy / problem.total
    if problem.partition == "cxr":
        weights = weights * sum(problem.k)
    n_max = [max(_last_needed(top, _EXACT_TAIL_MASS), 1) for top in _top_arrivals(problem)]

    def loss(gamma: np.ndarray | None) -> float:
        if gamma is None:
            p, effective = problem.mds_cdf, [None] * len(n_max)
        else:
            p, effective = _effective(problem, np.asarray(gamma, dtype=np.float64))
        value = 0.0
        for weight, m, p_d, g_d in zip(problem.weights, n_max, p, effective):
            probs = theory.decoding_probabilities(code, problem.k, g_d, m)
            value += weight * float(stats.binom.pmf(np.arange(m + 1), problem.workers, p_d) @ ((1.0 - probs) @ weights))
        return value

    return loss


def _lmmse_now_work(problem: _Problem) -> Callable[[np.ndarray], float]:
    """NOW under LMMSE and ``cost="work"``: the packets on class ``l`` are Binomial(``W``, ``Γ_l F_{s_l}(t)``)."""
    from scipy import stats

    short = [np.arange(k_l) for k_l in problem.k]

    def loss(gamma: np.ndarray) -> float:
        value = 0.0
        for weight, F in zip(problem.weights, problem.window_cdf):
            for k_l, e_l, g_l, F_l, n in zip(problem.k, problem.energy, gamma, F, short):
                q = min(max(float(g_l) * float(F_l), 0.0), 1.0)
                value += weight * e_l * float(stats.binom.pmf(n, problem.workers, q) @ (k_l - n))
        return value / problem.total

    return loss


class _LmmseMonteCarlo:
    """Expected LMMSE loss by Monte Carlo with common random numbers (module docstring)."""

    def __init__(self, problem: _Problem):
        self.problem = problem
        if problem.cost == "work":
            self.max_rows = max(_last_needed(top, _TAIL_MASS) for top in _top_arrivals(problem))
        else:
            self.max_rows = _last_needed(problem.arrivals, _TAIL_MASS)
        self.arrivals = problem.arrivals[: self.max_rows + 1]
        rng = np.random.default_rng(problem.seed)
        K = sum(problem.k)
        self.uniforms = rng.random((problem.trials, self.max_rows))
        self.coefficients = rng.standard_normal((problem.trials, self.max_rows, K))
        self.classes = np.repeat(np.arange(len(problem.k)), problem.k)
        energies = np.repeat(problem.energy, problem.k) if problem.product_energy is None else problem.product_energy
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
        if self.problem.cost == "work":
            return self._work_loss(gamma, code)
        return self.loss_of_rows(self.rows(gamma, make_code(code).expanding))

    def _work_loss(self, gamma: np.ndarray | None, code: str) -> float:
        """``cost="work"``: per deadline, the windows drawn from ``Γ'`` by the same uniforms and the
        first ``N`` rows weighted by Binomial(``W``, ``p``) (:mod:`uepmm.design.work`)."""
        from scipy import stats

        problem = self.problem
        n = np.arange(self.max_rows + 1)
        if gamma is None:
            errors = self.prefix_errors(self.coefficients).mean(axis=0)
            pmf = stats.binom.pmf(n[None, :], problem.workers, problem.mds_cdf[:, None])
            return float(np.asarray(problem.weights) @ (pmf @ errors)) / problem.total
        p, effective = _effective(problem, np.asarray(gamma, dtype=np.float64))
        value = 0.0
        for weight, p_d, g_d in zip(problem.weights, p, effective):
            errors = self.prefix_errors(self.rows(g_d, make_code(code).expanding)).mean(axis=0)
            value += weight * float(stats.binom.pmf(n, problem.workers, p_d) @ errors)
        return value / problem.total


def _objective(problem: _Problem, mc: _LmmseMonteCarlo | None) -> tuple[Callable[[np.ndarray], float], str, bool]:
    """``(loss(Γ), objective kind, smooth)`` for the problem's code and decoder."""
    work = problem.cost == "work"
    if problem.decoder == "zero":
        zero = _zero_fill_work if work else _zero_fill
        return zero(problem, problem.code), _zero_kind(problem), True
    if not problem.code_object.expanding:  # NOW: disjoint windows, the LMMSE loss in closed form
        return (_lmmse_now_work if work else _lmmse_now)(problem), "lmmse-exact", True
    assert mc is not None
    return (lambda gamma: mc.loss(gamma, problem.code)), "monte-carlo-lmmse", False


def _zero_kind(problem: _Problem) -> str:
    return "theorem1" if problem.partition == "rxc" else "theorem2-bound"


def _mds(problem: _Problem, mc: _LmmseMonteCarlo | None) -> tuple[float, str]:
    """MDS loss under the problem's decoder and how it was computed."""
    if problem.decoder == "zero":
        zero = _zero_fill_work if problem.cost == "work" else _zero_fill
        return zero(problem, "mds")(None), _zero_kind(problem)
    assert mc is not None
    return mc.loss(None, "mds"), "monte-carlo-lmmse"
