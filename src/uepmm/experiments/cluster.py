"""Loss versus deadline on a real Dask cluster, beside the simulated backend's figures.

For each code and trial, one job runs on the cluster with ``deadline = max(deadlines)`` and
``track_loss=True``: the loss at an earlier deadline ``d`` is the loss after the last
packet that arrived by ``d * time_unit`` seconds (the response times and coefficients do
not depend on the deadline, so this is the job that ``deadline=d`` would have run).  The
same seeds then run on the simulated backend (``fidelity="fast"``): the *paired* figures
differ only where scheduling jitter moved an arrival across a deadline.  An independent
simulated Monte Carlo with many more trials gives the *expectation*, and ``z`` compares the
two means.  The loss is heavy-tailed (mostly near 0, now and then large), so a few dozen
trials estimate their own spread poorly; ``z`` therefore uses the spread of the many
simulated trials for both means: ``z = (dask - expected) / (s_sim * sqrt(1/n_dask + 1/n_sim))``,
the two-sample test of equal means under the hypothesis that both are draws from the
same distribution.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._progress import progress
from .._validation import positive_float, positive_int
from ..api import Result, coded_matmul
from ..latency import LatencyModel

__all__ = ["ClusterLossPoint", "cluster_loss_vs_deadline"]

@dataclass(frozen=True)
class ClusterLossPoint:
    """Mean normalized loss of one code at one deadline (model time units)."""

    code: str
    workers: int
    deadline: float
    dask_mean: float
    dask_stderr: float
    paired_mean: float  # simulated backend, the same seeds as the Dask trials
    paired_diff_stderr: float  # standard error of the mean of (dask - paired) per trial
    mismatches: int  # trials whose (received, recovered) at this deadline differ from the paired run
    expected_mean: float  # simulated backend, independent seeds
    expected_stderr: float
    z: float  # (dask_mean - expected_mean) / (s_sim * sqrt(1/trials + 1/expectation_trials))
    trials: int
    expectation_trials: int

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def _at(result: Result, deadlines: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loss, received and recovered counts after the last packet by each deadline."""
    times = np.asarray([e.time for e in result.timeline]) / scale
    count = np.searchsorted(times, deadlines + 1e-12, side="right")
    loss = np.concatenate([[1.0], [e.loss for e in result.timeline]])[count]
    received = np.concatenate([[0], [e.received for e in result.timeline]])[count]
    recovered = np.concatenate([[0], [e.recovered for e in result.timeline]])[count]
    return loss, received, recovered


def _stderr(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan


def cluster_loss_vs_deadline(
    make_matrices: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]],
    codes: Sequence[tuple[str, int]],
    deadlines: Sequence[float],
    *,
    backend: Any,
    trials: int,
    expectation_trials: int,
    latency: LatencyModel,
    seed: int = 0,
    show_progress: bool = False,
    **coded_kwargs: Any,
) -> list[ClusterLossPoint]:
    """Loss versus deadline for each ``(code, workers)`` on ``backend`` (a ``DaskBackend``).

    Trial ``t`` draws its matrices and its job seed from ``SeedSequence(seed)``; the Dask
    trials and the paired simulated runs use seeds ``0..trials-1``, the expectation the next
    ``expectation_trials``.  ``coded_kwargs`` go to every :func:`~uepmm.coded_matmul` call.
    """
    trials = positive_int(trials, "trials")
    expectation_trials = positive_int(expectation_trials, "expectation_trials")
    grid = np.asarray(sorted(positive_float(d, "deadlines entries") for d in deadlines))
    if grid.size == 0:
        raise ValueError("deadlines must name at least one deadline")
    time_unit = float(getattr(backend, "time_unit", 1.0))
    points: list[ClusterLossPoint] = []
    for code, workers in codes:
        seeds = [
            (np.random.default_rng(data), int(run.generate_state(1)[0]))
            for data, run in (s.spawn(2) for s in np.random.SeedSequence(seed).spawn(trials + expectation_trials))
        ]
        common = dict(code=code, workers=workers, latency=latency, track_loss=True, **coded_kwargs)
        dask = np.empty((trials, grid.size))
        paired = np.empty_like(dask)
        mismatch = np.zeros(grid.size, dtype=int)
        label = f"{code} (W={workers}) on dask"
        for t, (rng, run_seed) in progress(enumerate(seeds[:trials]), trials, label, enabled=show_progress):
            A, B = make_matrices(rng)
            real = coded_matmul(A, B, deadline=float(grid[-1]), seed=run_seed, backend=backend, **common)
            sim = coded_matmul(A, B, deadline=float(grid[-1]), seed=run_seed, fidelity="fast", **common)
            dask[t], real_received, real_recovered = _at(real, grid, time_unit)
            paired[t], sim_received, sim_recovered = _at(sim, grid, 1.0)
            mismatch += (real_received != sim_received) | (real_recovered != sim_recovered)
        expected = np.empty((expectation_trials, grid.size))
        for t, (rng, run_seed) in enumerate(seeds[trials:]):
            A, B = make_matrices(rng)
            sim = coded_matmul(A, B, deadline=float(grid[-1]), seed=run_seed, fidelity="fast", **common)
            expected[t] = _at(sim, grid, 1.0)[0]
        for i, deadline in enumerate(grid):
            d_mean = float(dask[:, i].mean())
            e_mean, e_sd = (
                float(expected[:, i].mean()),
                float(expected[:, i].std(ddof=1)) if expectation_trials > 1 else 0.0,
            )
            scale = e_sd * math.sqrt(1.0 / trials + 1.0 / expectation_trials)
            z = (
                (d_mean - e_mean) / scale
                if scale > 0
                else (0.0 if d_mean == e_mean else math.copysign(math.inf, d_mean - e_mean))
            )
            points.append(
                ClusterLossPoint(
                    code, int(workers), float(deadline), d_mean, _stderr(dask[:, i]), float(paired[:, i].mean()),
                    _stderr(dask[:, i] - paired[:, i]), int(mismatch[i]), e_mean, _stderr(expected[:, i]), float(z),
                    trials, expectation_trials,
                )
            )
    return points
