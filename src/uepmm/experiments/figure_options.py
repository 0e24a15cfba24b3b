"""The Sec. VI setting of Figs. 8-11 (Table III) and the knobs every figure shares.

``K = 9`` sub-products in three classes ``k = (3, 3, 3)``, window selection probabilities
``Gamma = (0.40, 0.35, 0.25)``, ``W = 30`` workers with exponential response times of
rate ``lambda = 1``.  :data:`FIG9_OMEGA` is the time scaling of the figures (see
:mod:`uepmm.experiments.paper_figures` on the Ω question).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._validation import choice, positive_float, positive_int
from ..latency import Exponential
from ..paper import SEC6_COUNTS, SEC6_RATE, SEC6_WORKERS, TABLE3_GAMMA

__all__ = [
    "COLUMNS",
    "DEFAULT_MATRIX_DRAWS",
    "DEFAULT_OPTIONS",
    "ESTIMATORS",
    "FIG9_OMEGA",
    "FIG_GAMMA",
    "FIG_K",
    "FIG_LATENCY",
    "FIG_MAX_PACKETS",
    "FIG_T_MAX",
    "FIG_WORKERS",
    "PAPER_CROSSOVERS",
    "FigureOptions",
    "FigureOutput",
]

#: Sub-products per class (Table III).
FIG_K = SEC6_COUNTS
#: Window selection probabilities (Table III).
FIG_GAMMA = TABLE3_GAMMA
#: Workers in Sec. VI.
FIG_WORKERS = SEC6_WORKERS
#: Exponential response times with lambda = 1 (Sec. VI).
FIG_LATENCY = Exponential(SEC6_RATE)
#: Time scaling of Figs. 9 and 11: plain F(t) (see :mod:`uepmm.experiments.paper_figures`).
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

#: Estimators of the c×r loss versus time (:meth:`~uepmm.experiments.engine_curves.EngineCurves.vs_time`).
ESTIMATORS = ("conditional", "sampled")
#: Matrix pairs drawn for the Monte Carlo when ``matrix_draws`` is not given (at most ``trials``).
DEFAULT_MATRIX_DRAWS = 10


@dataclass(frozen=True)
class FigureOptions:
    """Knobs shared by every figure (each figure reads the ones it needs).

    ``trials``: Monte Carlo trials per point (each trial: fresh code rows and response
    times).  ``matrix_draws``: Sec. VI matrix pairs the trials are spread over (default
    ``min(trials, 10)``).  ``t_step``: largest step of the time grid on ``[0, 1.2]``.
    ``omega``: the ``F(Ω t)`` scaling (default 1: plain ``F(t)``, which matches the
    paper's Fig. 9).  ``estimator``: ``"conditional"`` or ``"sampled"``
    (:mod:`uepmm.experiments.engine_curves`).  ``runs``: folder of training runs, for
    figures that plot them (none of Figs. 8-11).  ``size_scale`` shrinks the matrices
    (1 = the paper's sizes).
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


#: The defaults of :class:`FigureOptions` (the default argument of every figure).
DEFAULT_OPTIONS = FigureOptions()
