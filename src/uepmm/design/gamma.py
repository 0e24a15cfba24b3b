"""Window probabilities by design: :func:`design_gamma`, :func:`gamma_loss`, :class:`GammaDesign`.

:mod:`uepmm.design` has the overview, :mod:`uepmm.design.objectives` the objectives and
:mod:`uepmm.design.optimiser` the optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import probability_vector
from ..importance import TABLE3_GAMMA
from ..latency import LatencyModel
from .objectives import _LmmseMonteCarlo, _mds, _objective
from .optimiser import _minimise
from .problem import _problem

__all__ = ["GammaDesign", "design_gamma", "gamma_loss"]


@dataclass(frozen=True)
class GammaDesign:
    """Result of :func:`design_gamma`.

    ``gamma``: the designed window probabilities; ``expected_loss``: the objective there
    (normalised by ``E||C||_F^2``, weighted mean over ``deadlines`` with ``weights``, which
    are normalised to sum to 1); ``table3_loss``: the same objective at the paper's Table III
    ``Γ = (0.40, 0.35, 0.25)`` (NaN unless ``L = 3``); ``mds_loss``: an MDS code under the
    same decoder; ``objective`` / ``mds_objective``: how each was computed (``theorem1``,
    ``theorem2-bound``, ``lmmse-exact``, ``monte-carlo-lmmse``; see :mod:`uepmm.design.objectives`);
    ``cost`` and ``work``: the cost model and, for ``"work"``, the block products of each window.

    Examples
    --------
    ``expected_loss`` is :func:`~uepmm.design.gamma_loss` at the designed ``Γ``:

    >>> import math, uepmm
    >>> from uepmm.design import gamma_loss
    >>> setting = dict(workers=30, latency=uepmm.Exponential(1.0), deadline=0.5, omega=1.0)
    >>> design = uepmm.design_gamma("ew", [3, 3, 3], [40, 1, 0.07], **setting)
    >>> loss = gamma_loss("ew", [3, 3, 3], design.gamma, [40, 1, 0.07], **setting)
    >>> math.isclose(loss, design.expected_loss, rel_tol=1e-12)
    True
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
    cost: str = "equal"
    work: tuple[int, ...] | None = None  # cost="work": block products of each window


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
    cost: str = "equal",
    work: Sequence[int] | None = None,
    mds_work: int | None = None,
    product_energy: Sequence[float] | None = None,
) -> GammaDesign:
    """Window probabilities ``Γ`` minimising the expected normalised loss at ``deadline``.

    ``code``: ``"now"`` or ``"ew"``; ``k``: sub-products per class (class 1 most
    important); ``class_energy``: ``E||P_k||_F^2`` of a sub-product of each class (all
    ``> 0``; only ratios matter); ``workers``: ``W``; ``latency``: the response-time model,
    with ``omega`` the scaling of Remark 1 (default ``K / W``); ``deadline``: ``T > 0`` or a
    sequence of deadlines, the objective then being their mean weighted by ``weights``
    (default equal); ``partition``: ``"rxc"`` or ``"cxr"``; ``decoder``: ``"zero"`` (the
    paper's zero fill) or ``"lmmse"``; ``trials`` and ``seed``: the Monte Carlo draws of the
    EW/MDS LMMSE objectives (ignored otherwise).  ``cost``: ``"equal"`` (the paper's: every
    packet answers after one draw) or ``"work"`` (a packet of window ``l`` answers after the sum
    of ``work[l]`` draws, :mod:`uepmm.design.work`; ``work`` defaults to the window sizes in c×r,
    r×c needs it, and ``mds_work``, an MDS packet's, to ``K`` in c×r and ``work[-1]`` for EW r×c;
    :func:`uepmm.design.window_work` computes both).  ``product_energy``: every sub-product's energy in class
    order, whose class means are ``class_energy``; the LMMSE Monte Carlo (EW, MDS) then uses them as its prior
    instead of each class's energy repeated (the closed-form objectives keep the class means).  See
    :mod:`uepmm.design.objectives` and :mod:`uepmm.design.optimiser`.  Deterministic: the same arguments give the
    same result.

    Examples
    --------
    The Sec. VI setting (``k = (3, 3, 3)``, class energies 40 : 1 : 0.07) at ``T = 0.5``: the
    designed ``Γ`` beats the paper's Table III under the same objective.

    >>> import uepmm
    >>> design = uepmm.design_gamma("now", [3, 3, 3], [40, 1, 0.07], workers=30,
    ...                             latency=uepmm.Exponential(1.0), deadline=0.5, omega=1.0)
    >>> design.objective, len(design.gamma), abs(sum(design.gamma) - 1) < 1e-12
    ('theorem1', 3, True)
    >>> design.expected_loss < design.table3_loss
    True
    """
    problem = _problem(
        code, k, class_energy, workers, latency, deadline, omega, partition, decoder, weights, trials, seed,
        cost, work, mds_work, product_energy,
    )
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
        cost=problem.cost,
        work=problem.work,
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
    cost: str = "equal",
    work: Sequence[int] | None = None,
    mds_work: int | None = None,
) -> float:
    """The objective of :func:`design_gamma` at a given ``Γ`` (same arguments and draws).

    ``code`` may also be ``"mds"`` (``gamma`` is then ignored; pass ``None``).

    Examples
    --------
    The paper's Table III ``Γ`` against MDS, at the Sec. VI setting and ``T = 0.5`` (here,
    with zero fill, MDS has the lower expected loss):

    >>> import uepmm
    >>> from uepmm.design import gamma_loss
    >>> setting = dict(workers=30, latency=uepmm.Exponential(1.0), deadline=0.5, omega=1.0)
    >>> now = gamma_loss("now", [3, 3, 3], uepmm.TABLE3_GAMMA, [40, 1, 0.07], **setting)
    >>> mds = gamma_loss("mds", [3, 3, 3], None, [40, 1, 0.07], **setting)
    >>> 0 < mds < now < 1
    True
    """
    is_mds = isinstance(code, str) and code.lower() == "mds"
    problem = _problem("now" if is_mds else code, k, class_energy, workers, latency, deadline, omega,
                       partition, decoder, weights, trials, seed, cost, work, mds_work)
    needs_mc = is_mds or problem.code_object.expanding  # as _objective: NOW's LMMSE loss has a closed form
    mc = _LmmseMonteCarlo(problem) if problem.decoder == "lmmse" and needs_mc else None
    if is_mds:
        return float(_mds(problem, mc)[0])
    g = probability_vector(gamma, "gamma", len(problem.k))
    return float(_objective(problem, mc)[0](g / g.sum()))
