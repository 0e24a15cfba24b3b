"""Monte Carlo of the Sec. VI loss with the core engine (the c×r curves of Figs. 9-11).

Each trial draws the real code's coefficient rows (NOW, EW, MDS, MatDot; sampling with its
probabilities bound to the matrix draw's block norms) and the real latency model's
response times (:func:`draw_trial`, the draws of :func:`uepmm.plan_job`), takes the
packets in arrival order, lets the code's ``recovery_curve`` (for linear codes
:func:`~uepmm.decoding.recovery_curve`) decide what the first ``i`` arrivals recover, and prices that recovered set with
:class:`~uepmm.loss.BlockLoss` from the exact sub-products of a real Sec. VI matrix pair
at the paper's sizes.  The sub-products and their Gram matrix are computed once per
matrix draw and reused for the trials assigned to that draw ("fast" fidelity; the
engine's tests prove it recovers what the full decoder recovers).

Estimator of the loss versus time
---------------------------------
``"conditional"`` (default): with i.i.d. continuous response times, the number of arrivals
``N(t)`` (Binomial(W, F(Ω t)), eq. 13) is independent of the arrival *order* and of the
code, so ``E[L(t)] = sum_n P(N(t) = n) E[L_n]`` where ``L_n`` is the engine's loss after
its first ``n`` arrivals; ``E[L_n]`` is the Monte Carlo mean.  This Rao-Blackwellised
estimator is unbiased and resolves losses far below ``1 / trials`` (needed to locate the
EW c×r crossover near t = 0.975, where the loss is ~1e-4).  ``"sampled"``: each trial's
loss at ``t`` is ``L_{n(t)}`` with ``n(t)`` counted from that trial's sampled response
times, i.e. exactly what ``coded_matmul(..., deadline=t)`` returns for that seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import theory
from .._progress import progress
from .._validation import choice, positive_float, positive_int
from ..codes import Code, make_code
from ..decoders import DecodeContext, decoder_for_code
from ..draw import draw_job
from ..importance import ClassTable, ImportanceOrder, paper_sec6_classes, sub_product_energies
from ..latency import LatencyModel
from ..loss import BlockLoss
from ..partition import Partition, make_partition
from ..spec import JobSpec
from ..streams import trial_seed
from .figure_options import (
    DEFAULT_MATRIX_DRAWS,
    ESTIMATORS,
    FIG9_OMEGA,
    FIG_GAMMA,
    FIG_LATENCY,
    FIG_WORKERS,
    FigureOptions,
)
from .synthetic import sec6_matrices

__all__ = [
    "EngineCurves", "FIGURE_CODES", "clear_cache", "curves_for", "draw_trial", "engine_loss_curves", "figure_spec",
    "trial_seed",
]

#: Codes the figure Monte Carlo draws (the curves of Figs. 9-11; MatDot: c×r only; sampling: its
#: own estimate, priced by :meth:`BlockLoss.reconstruction_loss`).
FIGURE_CODES = ("now", "ew", "mds", "matdot", "sampling")

_PARTITION_BLOCKS = {"rxc": (3, 3), "cxr": 9}
_STREAM_MATRICES = 0  # streams.trial_seed uses spawn_key (1, trial)


def _matrix_seed(seed: int, draw: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=seed, spawn_key=(_STREAM_MATRICES, draw))


def figure_spec(
    code: str | Code,
    classes: ClassTable,
    workers: int,
    latency: LatencyModel,
    omega: float,
    gamma: Sequence[float] | None = FIG_GAMMA,
    cost: str = "equal",
) -> JobSpec:
    """The :class:`~uepmm.JobSpec` of a figure trial: ``code`` over the explicit ``classes``
    (``gamma`` goes to the codes that draw windows), ``workers``, ``latency``, ``omega`` and
    ``cost`` (``"work"``: a packet's time is the sum of one latency draw per block product)."""
    code_obj = make_code(code, gamma=gamma, ignore_unused=True)
    K = classes.num_products
    return JobSpec(
        code=code_obj, partition="cxr", blocks=K, workers=workers, latency=latency, omega=omega, classes=classes,
        cost=cost,
    )


def draw_trial(
    code: str | Code,
    classes: ClassTable,
    workers: int,
    latency: LatencyModel,
    omega: float,
    seed: np.random.SeedSequence,
    gamma: Sequence[float] | None = FIG_GAMMA,
) -> tuple[np.ndarray, np.ndarray]:
    """The coefficient rows ``(W, K)`` and response times ``(W,)`` of one job.

    :func:`uepmm.draw.draw_job` for :func:`figure_spec` ``(...)`` and ``seed``: exactly the
    draws of :func:`uepmm.plan_job` with that seed, without partitioning matrices.
    """
    drawn = draw_job(figure_spec(code, classes, workers, latency, omega, gamma), classes, seed)
    return drawn.generator, drawn.times


@dataclass(frozen=True)
class EngineCurves:
    """Per-trial Monte Carlo output of :func:`engine_loss_curves`.

    ``loss_after[j, i]``: normalised loss of trial ``j`` after its first ``i`` arrivals
    (``i = 0..W``); ``recovered_after[j, i, k]``: whether sub-product ``k`` was recovered
    then; ``arrival_times[j]``: trial ``j``'s response times, sorted.
    """

    partition: str
    code: str
    omega: float
    workers: int
    matrix_draws: int
    loss_after: np.ndarray
    recovered_after: np.ndarray
    arrival_times: np.ndarray
    latency: LatencyModel = FIG_LATENCY
    cost: str = "equal"

    @property
    def trials(self) -> int:
        return int(self.loss_after.shape[0])

    def vs_packets(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean normalised loss after ``n = 0..W`` packets, and its standard error."""
        return self.loss_after.mean(axis=0), _stderr(self.loss_after)

    def per_trial_vs_time(self, times: Sequence[float] | np.ndarray, estimator: str = "conditional") -> np.ndarray:
        """Per-trial estimate of the normalised loss at each time: shape ``(trials, len(times))``."""
        estimator = choice(estimator, "estimator", ESTIMATORS)
        times = np.asarray(times, dtype=np.float64)
        self._check_estimator(estimator)
        if estimator == "conditional":
            weights = theory.arrival_distribution(self.latency, times, self.workers, self.omega)  # [T, W+1]
            return self.loss_after @ weights.T
        counts = np.zeros((self.trials, times.size), dtype=np.int64)
        for w in range(self.workers):
            counts += self.arrival_times[:, w, None] <= times[None, :]
        return np.take_along_axis(self.loss_after, counts, axis=1)

    def vs_time(self, times: Sequence[float] | np.ndarray, estimator: str = "conditional") -> np.ndarray:
        """Mean normalised loss at each time (module docstring: the two estimators)."""
        estimator = choice(estimator, "estimator", ESTIMATORS)
        times = np.asarray(times, dtype=np.float64)
        self._check_estimator(estimator)
        if estimator == "conditional":
            weights = theory.arrival_distribution(self.latency, times, self.workers, self.omega)
            return weights @ self.loss_after.mean(axis=0)
        return self.per_trial_vs_time(times, estimator).mean(axis=0)


    def _check_estimator(self, estimator: str) -> None:
        if estimator == "conditional" and self.cost != "equal":
            raise ValueError(
                f"estimator 'conditional' weighs by Binomial(W, F(Ω t)) arrivals, which holds for cost='equal' only; "
                f"with cost={self.cost!r} the arrivals depend on the windows: use estimator={ESTIMATORS[1]!r}"
            )


def _stderr(values: np.ndarray) -> np.ndarray:
    n = values.shape[0]
    if n < 2:
        return np.full(values.shape[1:], math.nan)
    return values.std(axis=0, ddof=1) / math.sqrt(n)


_BLOCK_LOSS_CACHE: dict[tuple, tuple[BlockLoss, ...]] = {}
#: per matrix draw: the layout and the PS's prior sub-product energies (codes bound to the data)
_PRIOR_CACHE: dict[tuple, tuple[tuple[Partition, np.ndarray], ...]] = {}
_CURVE_CACHE: dict[tuple, EngineCurves] = {}


def clear_cache() -> None:
    """Forget the cached sub-product Gram matrices and Monte Carlo curves."""
    _BLOCK_LOSS_CACHE.clear()
    _PRIOR_CACHE.clear()
    _CURVE_CACHE.clear()


def _sec6_block_losses(partition: str, seed: int, draws: int, size_scale: float, show: bool) -> tuple[BlockLoss, ...]:
    """One :class:`BlockLoss` (exact sub-products -> Gram matrix) per Sec. VI matrix draw."""
    key = (partition, seed, draws, size_scale)
    if key not in _BLOCK_LOSS_CACHE:
        out, priors = [], []
        label = f"{partition} sub-products"
        for d in progress(range(draws), draws, label, enabled=show):
            A, B = sec6_matrices(partition, np.random.default_rng(_matrix_seed(seed, d)), size_scale)
            layout = make_partition(A.shape, B.shape, partition, _PARTITION_BLOCKS[partition])
            out.append(BlockLoss(layout, layout.products(A, B)))
            priors.append((layout, sub_product_energies(ImportanceOrder.identity(partition, A, B), layout, A, B)))
        _BLOCK_LOSS_CACHE[key] = tuple(out)
        _PRIOR_CACHE[key] = tuple(priors)
    return _BLOCK_LOSS_CACHE[key]


def engine_loss_curves(
    partition: str,
    code: str,
    *,
    trials: int = 100,
    seed: int = 0,
    omega: float = FIG9_OMEGA,
    matrix_draws: int | None = None,
    workers: int = FIG_WORKERS,
    size_scale: float = 1.0,
    show_progress: bool = False,
    cost: str = "equal",
) -> EngineCurves:
    """Monte Carlo of the normalised loss of the Sec. VI setting with the core engine.

    Trial ``j`` uses matrix pair ``j % matrix_draws`` (drawn with :func:`sec6_matrices`
    from ``seed``; its exact sub-products and their Gram matrix computed once) and the
    job draws of :func:`draw_trial` with :func:`trial_seed` ``(seed, j)``; NOW and EW with
    the same ``seed`` share the matrices and the response times (common random numbers).
    The packets are taken in arrival order, the code's ``recovery_curve`` gives the
    recovered set after every arrival, and :meth:`BlockLoss.normalized` prices it.
    Results are cached per argument set (they are read-only arrays).
    """
    partition = choice(partition, "partition", tuple(_PARTITION_BLOCKS))
    code = choice(code, "code", FIGURE_CODES)
    if code == "matdot" and partition != "cxr":
        raise ValueError(
            "code 'matdot' is for partition 'cxr'; for 'rxc' use code='mds' (or 'polynomial' in coded_matmul)"
        )
    trials = positive_int(trials, "trials")
    seed = positive_int(seed, "seed", minimum=0)
    omega = positive_float(omega, "omega")
    workers = positive_int(workers, "workers")
    draws = min(DEFAULT_MATRIX_DRAWS if matrix_draws is None else positive_int(matrix_draws, "matrix_draws"), trials)
    size_scale = positive_float(size_scale, "size_scale")
    key = (partition, code, trials, seed, omega, draws, workers, size_scale, cost)
    if key in _CURVE_CACHE:
        return _CURVE_CACHE[key]
    pricing = _sec6_block_losses(partition, seed, draws, size_scale, show_progress)
    classes = paper_sec6_classes(partition)
    spec = figure_spec(code, classes, workers, FIG_LATENCY, omega, cost=cost)
    loss_after = np.empty((trials, workers + 1))
    recovered_after = np.empty((trials, workers + 1, classes.num_products), dtype=bool)
    arrival_times = np.empty((trials, workers))
    label = f"{code:>4} {partition} trials"
    priors = _PRIOR_CACHE[(partition, seed, draws, size_scale)]
    for j in progress(range(trials), trials, label, enabled=show_progress):
        bound = spec.code_object.with_energies(priors[j % draws][1], priors[j % draws][0])  # sampling: p from norms
        drawn = draw_job(spec, classes, trial_seed(seed, j), code=bound)
        rows, times = drawn.generator, drawn.times
        order = np.argsort(times, kind="stable")  # the simulated backend's delivery order
        recovered_after[j] = bound.recovery_curve_from(drawn.encoding, order)  # [W+1, K]
        decoder = decoder_for_code(bound, spec.decoder_object)
        if decoder is spec.decoder_object or decoder.selects_exact_blocks:  # the paper's: recovered blocks
            loss_after[j] = pricing[j % draws].normalized(recovered_after[j])
        else:  # an estimate the scheme defines (sampling): P_hat = M P after each arrival
            loss_after[j] = _reconstruction_losses(pricing[j % draws], decoder, bound, classes, workers,
                                                   rows[order], recovered_after[j])
        arrival_times[j] = times[order]
    for array in (loss_after, recovered_after, arrival_times):
        array.flags.writeable = False
    curves = EngineCurves(
        partition, code, omega, workers, draws, loss_after, recovered_after, arrival_times, FIG_LATENCY, cost
    )
    _CURVE_CACHE[key] = curves
    return curves


def _reconstruction_losses(pricing: BlockLoss, decoder, code: Code, classes: ClassTable, workers: int,
                           rows: np.ndarray, recovered: np.ndarray) -> np.ndarray:
    """Normalised loss of ``decoder``'s estimate after the first ``n = 0..W`` rows."""
    context = DecodeContext(None, None, np.dtype(np.float64), workers, classes, code=code)
    out = np.ones(rows.shape[0] + 1)
    for n in range(1, rows.shape[0] + 1):
        M = decoder.reconstruction(rows[:n], recovered[n], context)
        out[n] = pricing.reconstruction_loss(M) / pricing.total if pricing.total > 0 else 0.0
    return out


def curves_for(options: FigureOptions, partition: str, code: str) -> EngineCurves:
    """:func:`engine_loss_curves` with the Monte Carlo knobs of ``options``."""
    return engine_loss_curves(
        partition, code, trials=options.trials, seed=options.seed, omega=options.omega,
        matrix_draws=options.draws, size_scale=options.size_scale, show_progress=options.show_progress,
    )
