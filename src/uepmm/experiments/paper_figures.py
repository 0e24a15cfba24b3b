"""The paper's synthetic figures (Sec. V-VI, Figs. 8-11): each a table (CSV) and a PNG drawn from it.

Setting (Sec. VI, Table III): ``K = 9`` sub-products in three classes ``k = (3, 3, 3)``,
window selection probabilities ``Gamma = (0.40, 0.35, 0.25)``, ``W = 30`` workers with
exponential response times of rate ``lambda = 1``; entries of high / medium / low blocks
are N(0, 10) / N(0, 1) / N(0, 0.1); r×c ``N = P = 3, U = Q = 300, H = 900``; c×r
``M = 9, U = Q = 900, H = 100``.

Sources of every column
-----------------------
* Fig. 8: analytic ``P_d,l(N)`` (:func:`uepmm.theory.decoding_probabilities`).
* r×c loss (Figs. 9, 10): Theorem 1 (eqs. 13, 16, 17), exact for the large-field code.
* c×r loss (Figs. 9, 10, 11 "exact"): Monte Carlo with the core engine
  (:func:`engine_loss_curves`): the real NOW/EW code draws each worker's coefficient row,
  the real latency model draws each worker's response time, the decoder's
  :func:`~uepmm.decoding.recovery_curve` decides what the first ``i`` arrivals recover,
  and :class:`~uepmm.loss.BlockLoss` prices that recovered set from the exact
  sub-products of a real Sec. VI matrix pair at the paper's sizes.  The sub-products and
  their Gram matrix are computed once per matrix draw and reused for the trials assigned
  to that draw ("fast" fidelity; the engine's tests prove it recovers what the full
  decoder recovers).
* c×r bound (Fig. 11): Theorem 2 (eqs. 18, 19).
* MDS: ``P(N(t) < K)`` (everything or nothing), which is the normalised loss of *both*
  partitions: with nothing recovered ``C_hat = 0`` and the loss is ``||C||^2``.

Time scaling (the Ω question)
-----------------------------
Remark 1 scales response times as ``F(Ω t)`` with ``Ω = K / W``; with ``Ω = 9/30`` the
crossovers of Fig. 9 would sit near t = 1.55 (NOW) and 2.8 (EW r×c), outside the paper's
t-axis (0..1.2).  With plain ``F(t)`` (``Ω = 1``) they sit at 0.465 / 0.839 / 0.974 against
the paper's 0.44 / 0.825 / 0.975, so the figures default to :data:`FIG9_OMEGA` ``= 1``
(``omega`` in :class:`FigureOptions`; ``uepmm figure --omega``).  Sec. VII's training runs
do use Remark 1 (Table VII).

Estimator of the c×r loss versus time
-------------------------------------
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
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .. import theory
from .._progress import progress
from .._validation import choice, positive_float, positive_int
from ..codes import Code, make_code
from ..decoding import recovery_curve
from ..importance import SEC6_COUNTS, TABLE3_GAMMA, ClassTable, paper_sec6_classes
from ..latency import Exponential, LatencyModel, paper_omega
from ..loss import BlockLoss
from ..partition import make_partition
from .synthetic import sec6_matrices
from .tables import write_csv

__all__ = [
    "FIG_K",
    "FIG_GAMMA",
    "FIG_WORKERS",
    "FIG_LATENCY",
    "FIG9_OMEGA",
    "FIG_T_MAX",
    "FIG_MAX_PACKETS",
    "COLUMNS",
    "PAPER_CROSSOVERS",
    "ESTIMATORS",
    "FigureOptions",
    "FigureOutput",
    "EngineCurves",
    "engine_loss_curves",
    "trial_seed",
    "draw_trial",
    "time_grid",
    "crossover_time",
    "crossover_times",
    "fig8_table",
    "fig9_table",
    "fig10_table",
    "fig11_table",
    "plot_fig8",
    "plot_fig9",
    "plot_fig10",
    "plot_fig11",
    "fig8",
    "fig9",
    "fig10",
    "fig11",
    "FIGURES",
    "run_figure",
    "omega_option",
    "clear_cache",
]

#: Sub-products per class (Table III).
FIG_K = SEC6_COUNTS
#: Window selection probabilities (Table III).
FIG_GAMMA = TABLE3_GAMMA
#: Workers in Sec. VI.
FIG_WORKERS = 30
#: Exponential response times with lambda = 1 (Sec. VI).
FIG_LATENCY = Exponential(1.0)
#: Time scaling of Figs. 9 and 11: plain F(t) (see the module docstring).
FIG9_OMEGA = 1.0
#: Right end of the time axis of Figs. 9 and 11.
FIG_T_MAX = 1.2
#: Packets axis of Figs. 8 and 10 (0..W).
FIG_MAX_PACKETS = FIG_WORKERS

#: Exact CSV columns of every figure.
COLUMNS: dict[str, tuple[str, ...]] = {
    "fig8": ("packets", "now_1", "now_2", "now_3", "ew_1", "ew_2", "ew_3"),
    "fig9": ("t", "now_rxc", "ew_rxc", "now_cxr", "ew_cxr", "mds"),
    "fig10": ("packets", "now_rxc", "ew_rxc", "now_cxr", "ew_cxr", "mds"),
    "fig11": ("t", "now_exact", "now_bound", "ew_exact", "ew_bound", "mds"),
}

#: Sec. VI: "until time t = ..." the UEP code beats MDS, per (code, partition).
PAPER_CROSSOVERS: dict[tuple[str, str], float] = {
    ("now", "rxc"): 0.44,
    ("now", "cxr"): 0.44,
    ("ew", "rxc"): 0.825,
    ("ew", "cxr"): 0.975,
}

ESTIMATORS = ("conditional", "sampled")
#: Matrix pairs drawn for the Monte Carlo when ``matrix_draws`` is not given (at most ``trials``).
DEFAULT_MATRIX_DRAWS = 10

_PARTITION_BLOCKS = {"rxc": (3, 3), "cxr": 9}
_STREAM_MATRICES = 0
_STREAM_TRIALS = 1


# =============================================================================== options


@dataclass(frozen=True)
class FigureOptions:
    """Knobs shared by every figure (each figure reads the ones it needs).

    ``trials``: Monte Carlo trials per point (each trial: fresh code rows and response
    times).  ``matrix_draws``: Sec. VI matrix pairs the trials are spread over (default
    ``min(trials, 10)``).  ``t_step``: largest step of the time grid on ``[0, 1.2]``.
    ``omega``: the ``F(Ω t)`` scaling (default 1: plain ``F(t)``, which matches the
    paper's Fig. 9).  ``estimator``: ``"conditional"`` or ``"sampled"`` (module
    docstring).  ``runs``: folder of training runs, for figures that plot them (none of
    Figs. 8-11).  ``size_scale`` shrinks the matrices (1 = the paper's sizes).
    """

    trials: int = 100
    seed: int = 0
    t_step: float = 0.01
    omega: float = FIG9_OMEGA
    estimator: str = "conditional"
    matrix_draws: int | None = None
    runs: str | None = None
    size_scale: float = 1.0
    show_progress: bool = False

    def __post_init__(self) -> None:
        positive_int(self.trials, "trials")
        positive_int(self.seed, "seed", minimum=0)
        step = positive_float(self.t_step, "t_step")
        if step > FIG_T_MAX:
            raise ValueError(f"t_step={step} exceeds the time axis [0, {FIG_T_MAX}]; use e.g. t_step=0.01")
        positive_float(self.omega, "omega")
        object.__setattr__(self, "estimator", choice(self.estimator, "estimator", ESTIMATORS))
        if self.matrix_draws is not None:
            positive_int(self.matrix_draws, "matrix_draws")
        positive_float(self.size_scale, "size_scale")
        if self.runs is not None and not isinstance(self.runs, str):
            raise TypeError(f"runs must be a folder path (str) or None, got {self.runs!r}")

    @property
    def draws(self) -> int:
        """Matrix pairs actually drawn (never more than ``trials``)."""
        wanted = DEFAULT_MATRIX_DRAWS if self.matrix_draws is None else self.matrix_draws
        return min(wanted, self.trials)


@dataclass(frozen=True)
class FigureOutput:
    """What a registered figure wrote: its table and the two files."""

    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, float]]
    csv_path: str
    png_path: str | None
    notes: list[str] = field(default_factory=list)


# =============================================================================== the engine


def trial_seed(seed: int, trial: int) -> np.random.SeedSequence:
    """A fresh seed of Monte Carlo trial ``trial``: pass it as ``plan_job(seed=...)`` to get the same draws."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(_STREAM_TRIALS, trial))


def _matrix_seed(seed: int, draw: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=seed, spawn_key=(_STREAM_MATRICES, draw))


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

    Exactly the draws of :func:`uepmm.plan_job` with ``seed=seed`` (the seed is split into
    a code stream and a latency stream the same way, the code is
    :func:`uepmm.codes.make_code`'s, the times are ``latency.sample_response``), without
    validating and partitioning the matrices again for every trial.  ``gamma`` is used
    when ``code`` is the name of a UEP code.
    """
    code_seed, latency_seed = seed.spawn(2)
    if isinstance(code, str):
        code = make_code(code, gamma=gamma if code in ("now", "ew") else None)
    encoding = code.encode(classes, workers, np.random.default_rng(code_seed))
    times = latency.sample_response(np.random.default_rng(latency_seed), workers, omega)
    return encoding.generator, times


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
        if estimator == "conditional":
            weights = theory.arrival_distribution(self.latency, times, self.workers, self.omega)
            return weights @ self.loss_after.mean(axis=0)
        return self.per_trial_vs_time(times, estimator).mean(axis=0)


def _stderr(values: np.ndarray) -> np.ndarray:
    n = values.shape[0]
    if n < 2:
        return np.full(values.shape[1:], math.nan)
    return values.std(axis=0, ddof=1) / math.sqrt(n)


_BLOCK_LOSS_CACHE: dict[tuple, tuple[BlockLoss, ...]] = {}
_CURVE_CACHE: dict[tuple, EngineCurves] = {}


def clear_cache() -> None:
    """Forget the cached sub-product Gram matrices and Monte Carlo curves."""
    _BLOCK_LOSS_CACHE.clear()
    _CURVE_CACHE.clear()


def _sec6_block_losses(partition: str, seed: int, draws: int, size_scale: float, show: bool) -> tuple[BlockLoss, ...]:
    """One :class:`BlockLoss` (exact sub-products -> Gram matrix) per Sec. VI matrix draw."""
    key = (partition, seed, draws, size_scale)
    if key not in _BLOCK_LOSS_CACHE:
        out = []
        label = f"{partition} sub-products"
        for d in progress(range(draws), draws, label, enabled=show):
            A, B = sec6_matrices(partition, np.random.default_rng(_matrix_seed(seed, d)), size_scale)
            layout = make_partition(A.shape, B.shape, partition, _PARTITION_BLOCKS[partition])
            out.append(BlockLoss(layout, layout.products(A, B)))
        _BLOCK_LOSS_CACHE[key] = tuple(out)
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
) -> EngineCurves:
    """Monte Carlo of the normalised loss of the Sec. VI setting with the core engine.

    Trial ``j`` uses matrix pair ``j % matrix_draws`` (drawn with :func:`sec6_matrices`
    from ``seed``; its exact sub-products and their Gram matrix computed once) and the
    job draws of :func:`draw_trial` with :func:`trial_seed` ``(seed, j)``; NOW and EW with
    the same ``seed`` share the matrices and the response times (common random numbers).
    The packets are taken in arrival order, the decoder's :func:`recovery_curve` gives the
    recovered set after every arrival, and :meth:`BlockLoss.normalized` prices it.
    Results are cached per argument set (they are read-only arrays).
    """
    partition = choice(partition, "partition", tuple(_PARTITION_BLOCKS))
    code = choice(code, "code", ("now", "ew", "mds"))
    trials = positive_int(trials, "trials")
    seed = positive_int(seed, "seed", minimum=0)
    omega = positive_float(omega, "omega")
    workers = positive_int(workers, "workers")
    draws = min(DEFAULT_MATRIX_DRAWS if matrix_draws is None else positive_int(matrix_draws, "matrix_draws"), trials)
    size_scale = positive_float(size_scale, "size_scale")
    key = (partition, code, trials, seed, omega, draws, workers, size_scale)
    if key in _CURVE_CACHE:
        return _CURVE_CACHE[key]
    pricing = _sec6_block_losses(partition, seed, draws, size_scale, show_progress)
    classes = paper_sec6_classes(partition)
    code_obj = make_code(code, gamma=FIG_GAMMA if code in ("now", "ew") else None)
    loss_after = np.empty((trials, workers + 1))
    recovered_after = np.empty((trials, workers + 1, classes.num_products), dtype=bool)
    arrival_times = np.empty((trials, workers))
    label = f"{code:>4} {partition} trials"
    for j in progress(range(trials), trials, label, enabled=show_progress):
        rows, times = draw_trial(code_obj, classes, workers, FIG_LATENCY, omega, trial_seed(seed, j))
        order = np.argsort(times, kind="stable")  # the simulated backend's delivery order
        recovered_after[j] = recovery_curve(rows[order])  # [W+1, K]
        loss_after[j] = pricing[j % draws].normalized(recovered_after[j])
        arrival_times[j] = times[order]
    for array in (loss_after, recovered_after, arrival_times):
        array.flags.writeable = False
    curves = EngineCurves(partition, code, omega, workers, draws, loss_after, recovered_after, arrival_times)
    _CURVE_CACHE[key] = curves
    return curves


def _curves(options: FigureOptions, partition: str, code: str) -> EngineCurves:
    return engine_loss_curves(
        partition, code, trials=options.trials, seed=options.seed, omega=options.omega,
        matrix_draws=options.draws, size_scale=options.size_scale, show_progress=options.show_progress,
    )


# =============================================================================== analytic pieces


def time_grid(t_step: float, t_max: float = FIG_T_MAX) -> np.ndarray:
    """``0, h, 2h, ..., t_max`` with ``h <= t_step`` (``t_max`` always included)."""
    t_step = positive_float(t_step, "t_step")
    t_max = positive_float(t_max, "t_max")
    n = max(1, math.ceil(t_max / t_step - 1e-9))
    return np.round(np.linspace(0.0, t_max, n + 1), 12)


def _analytic_loss(code: str, partition: str, times: np.ndarray, omega: float, bound: bool = False) -> np.ndarray:
    """Normalised expected loss: Theorem 1 (eq. 17) or, with ``bound``, Theorem 2 (eq. 19)."""
    energy = theory.sec6_class_energy(partition)
    return theory.expected_loss(
        code, FIG_K, FIG_GAMMA if code in ("now", "ew") else None, FIG_LATENCY, times, FIG_WORKERS, energy,
        partition="cxr" if bound else "rxc", omega=omega, normalize=True,
    )


def _mds_loss(times: np.ndarray, omega: float) -> np.ndarray:
    """``P(N(t) < K)``: the normalised MDS loss of both partitions (everything or nothing)."""
    return _analytic_loss("mds", "rxc", times, omega)


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


def crossover_times(options: FigureOptions = FigureOptions(), t_step: float = 0.001, t_max: float = 3.0) -> dict[str, float]:
    """Times until which NOW / EW beat MDS, on a fine grid, keyed ``"{code}_{partition}"``.

    r×c from Theorem 1; c×r from the engine Monte Carlo (``options.estimator``), and, for
    reference, ``"{code}_cxr_theory"``: eq. 17 with the c×r energies, which is the exact
    c×r expectation under Assumption 1 (independent zero-mean blocks make the cross terms
    of ``||sum of missing P_m||^2`` vanish in expectation).
    """
    times = time_grid(t_step, t_max)
    mds = _mds_loss(times, options.omega)
    out: dict[str, float] = {}
    for code in ("now", "ew"):
        out[f"{code}_rxc"] = crossover_time(times, _analytic_loss(code, "rxc", times, options.omega), mds)
        out[f"{code}_cxr"] = crossover_time(times, _curves(options, "cxr", code).vs_time(times, options.estimator), mds)
        out[f"{code}_cxr_theory"] = crossover_time(times, _analytic_loss(code, "cxr", times, options.omega), mds)
    return out


# =============================================================================== tables


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


def fig9_table(options: FigureOptions = FigureOptions()) -> list[dict[str, float]]:
    """Fig. 9: normalised expected loss versus time (r×c Theorem 1, c×r engine Monte Carlo, MDS)."""
    t = time_grid(options.t_step)
    data = [t]
    for code in ("now", "ew"):
        data.append(_analytic_loss(code, "rxc", t, options.omega))
    for code in ("now", "ew"):
        data.append(_curves(options, "cxr", code).vs_time(t, options.estimator))
    data.append(_mds_loss(t, options.omega))
    return _rows(COLUMNS["fig9"], data)


def fig10_table(options: FigureOptions = FigureOptions()) -> list[dict[str, float]]:
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
        data.append(_curves(options, "cxr", code).vs_packets()[0])
    data.append(
        theory.expected_loss_vs_packets("mds", FIG_K, None, theory.sec6_class_energy("rxc"), FIG_MAX_PACKETS, normalize=True)
    )
    return _rows(COLUMNS["fig10"], data)


def fig11_table(options: FigureOptions = FigureOptions()) -> list[dict[str, float]]:
    """Fig. 11: c×r engine Monte Carlo ("exact") versus the Theorem 2 upper bound, and MDS."""
    t = time_grid(options.t_step)
    data = [t]
    for code in ("now", "ew"):
        data.append(_curves(options, "cxr", code).vs_time(t, options.estimator))
        data.append(_analytic_loss(code, "cxr", t, options.omega, bound=True))
    data.append(_mds_loss(t, options.omega))
    return _rows(COLUMNS["fig11"], data)


# =============================================================================== plots

_COLORS = {"now": "tab:green", "ew": "tab:orange", "mds": "tab:gray"}
_CLASS_COLORS = ("tab:red", "tab:blue", "tab:purple")


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


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
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


_LOSS_LABEL = r"normalised loss $E\|C-\hat C\|_F^2 \,/\, E\|C\|_F^2$"


def plot_fig8(rows: list[dict[str, float]], path: str) -> str | None:
    """Decoding probability per class versus packets received (NOW solid, EW dashed)."""
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
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
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
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
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
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


# =============================================================================== registry


def _write(name: str, rows: list[dict[str, float]], plot: Callable, out_dir: str, notes: list[str] | None = None) -> FigureOutput:
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, f"{name}.csv")
    write_csv(csv_path, rows)
    png_path = plot(rows, os.path.join(out_dir, f"{name}.png"))
    return FigureOutput(name, COLUMNS[name], rows, csv_path, png_path, notes or [])


def fig8(out_dir: str, options: FigureOptions = FigureOptions()) -> FigureOutput:
    """Write ``fig8.csv`` and ``fig8.png`` to ``out_dir``."""
    return _write("fig8", fig8_table(), plot_fig8, out_dir)


def fig9(out_dir: str, options: FigureOptions = FigureOptions()) -> FigureOutput:
    """Write ``fig9.csv`` and ``fig9.png``; the notes give the crossover times (step 0.001)."""
    rows = fig9_table(options)
    cross = crossover_times(options, t_step=0.001, t_max=FIG_T_MAX)
    notes = [
        f"UEP beats MDS until t = {cross[f'{c}_{p}']:.3f} ({c.upper()} {p}; paper: {PAPER_CROSSOVERS[(c, p)]})"
        for c in ("now", "ew") for p in ("rxc", "cxr")
    ]
    return _write("fig9", rows, plot_fig9, out_dir, notes)


def fig10(out_dir: str, options: FigureOptions = FigureOptions()) -> FigureOutput:
    """Write ``fig10.csv`` and ``fig10.png`` to ``out_dir``."""
    return _write("fig10", fig10_table(options), plot_fig10, out_dir)


def fig11(out_dir: str, options: FigureOptions = FigureOptions()) -> FigureOutput:
    """Write ``fig11.csv`` and ``fig11.png`` to ``out_dir``."""
    return _write("fig11", fig11_table(options), plot_fig11, out_dir)


#: Every figure the ``uepmm figure`` command knows: name -> ``f(out_dir, options) -> FigureOutput``.
#: A figure built from training runs sets the attribute ``needs_runs = True`` on its function
#: and reads ``options.runs``; ``uepmm figure all`` skips it when no ``--runs`` is given.
def _training_figure(name: str) -> Callable[[str, FigureOptions], FigureOutput]:
    """Adapter for a Sec. VII training figure (``uepmm.experiments.training_figures``)."""

    def make(out_dir: str, options: FigureOptions) -> FigureOutput:
        from .training_figures import TRAINING_FIGURES

        png = TRAINING_FIGURES[name](options.runs, out_dir)
        return FigureOutput(name, (), [], os.path.join(str(out_dir), f"{name}.csv"), str(png))

    make.needs_runs = True  # type: ignore[attr-defined]
    make.__doc__ = f"{name} from the training-run CSVs in options.runs."
    return make


FIGURES: dict[str, Callable[[str, FigureOptions], FigureOutput]] = {
    "fig8": fig8,
    "fig9": fig9,
    "fig10": fig10,
    "fig11": fig11,
    **{name: _training_figure(name) for name in ("fig13", "fig14", "fig15", "fig1")},
}


def run_figure(name: str, out_dir: str, options: FigureOptions = FigureOptions()) -> FigureOutput:
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
            raise ValueError(f"omega must be a positive number, 'plain' (1) or 'paper' (K/W = 0.3), got {value!r}") from None
    return positive_float(value, "omega")
