"""The synthetic setting of paper Sec. VI and loss-versus-deadline Monte Carlo.

Sec. VI: blocks with i.i.d. N(0, 10), N(0, 1), N(0, 0.1) entries (high, medium, low).
r×c: ``N = P = 3``, ``U = Q = 300``, ``H = 900`` (one block per level); c×r: ``M = 9``,
``U = Q = 900``, ``H = 100`` (blocks 1-3 high, 4-6 medium, 7-9 low).  ``scale`` shrinks
every dimension for quick runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._progress import progress
from ..api import coded_matmul
from ..codes import make_code
from ..decoders import decoder_for_code
from ..paper import SEC6_VARIANCES
from ..spec import JobSpec

__all__ = ["SEC6_VARIANCES", "sec6_matrices", "gaussian_matrices", "LossPoint", "loss_vs_deadline", "sec6_workers"]



def _scaled(size: int, scale: float) -> int:
    return max(1, int(round(size * scale)))


def sec6_matrices(partition: str, rng: np.random.Generator, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` of Sec. VI for ``partition`` ``"rxc"`` or ``"cxr"``."""
    sd = np.sqrt(SEC6_VARIANCES)
    if partition == "rxc":
        u, h, q = _scaled(300, scale), _scaled(900, scale), _scaled(300, scale)
        A = np.vstack([s * rng.standard_normal((u, h)) for s in sd])
        B = np.hstack([s * rng.standard_normal((h, q)) for s in sd])
        return A, B
    if partition == "cxr":
        u, h, q = _scaled(900, scale), _scaled(100, scale), _scaled(900, scale)
        A = np.hstack([s * rng.standard_normal((u, h)) for s in np.repeat(sd, 3)])
        B = np.vstack([s * rng.standard_normal((h, q)) for s in np.repeat(sd, 3)])
        return A, B
    raise ValueError(f"unknown partition {partition!r}; valid values are 'rxc', 'cxr'")


def gaussian_matrices(
    rows: int, inner: int, cols: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal ``A`` (rows×inner) and ``B`` (inner×cols)."""
    return rng.standard_normal((rows, inner)), rng.standard_normal((inner, cols))


def sec6_workers(code: str, blocks: int = 9, coded_workers: int = 30) -> int:
    """Workers per code in the demo: a fixed-task code's tasks (uncoded ``K``, repetition
    ``2K``), else ``coded_workers``."""
    code_obj = make_code(code)
    if code_obj.deterministic:
        return code_obj.task_count(blocks) or 2 * blocks
    return coded_workers


@dataclass(frozen=True)
class LossPoint:
    """Mean normalized loss at one deadline over the trials, with its standard error."""

    deadline: float
    mean_loss: float
    stderr: float
    mean_received: float
    mean_recovered: float
    trials: int


def loss_vs_deadline(
    make_matrices: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]],
    deadlines: Sequence[float],
    *,
    trials: int,
    seed: int | None = 0,
    label: str = "",
    show_progress: bool = False,
    **coded_kwargs: Any,
) -> list[LossPoint]:
    """Monte Carlo of the normalized loss at several deadlines with real encoding/decoding.

    Each trial draws fresh matrices and runs :func:`~uepmm.coded_matmul` once with
    ``deadline=inf`` and ``track_loss=True``: the loss at deadline ``t`` is the loss after
    the last packet that arrived by ``t`` (identical to a run with ``deadline=t`` and the
    same seed, since times and coefficients do not depend on the deadline).
    """
    deadlines = np.asarray(sorted(float(d) for d in deadlines))
    root = np.random.SeedSequence(seed)
    losses = np.empty((trials, deadlines.size))
    received = np.empty_like(losses)
    recovered = np.empty_like(losses)
    trial_seeds = root.spawn(trials)
    # one run per trial reads every deadline off its timeline, unless the estimate at a deadline
    # is not the zero-fill of what was recovered by then (another decoder, or Γ designed per deadline)
    spec = JobSpec(**{k: v for k, v in coded_kwargs.items() if k in JobSpec.field_names()})
    decoder = decoder_for_code(spec.code_object, spec.decoder_object)  # the scheme's own, if it defines C_hat
    per_deadline = spec.auto_gamma or not decoder.selects_exact_blocks
    for t, trial_seed in progress(enumerate(trial_seeds), trials, label or "trials", enabled=show_progress):
        data_seed, run_seed = trial_seed.spawn(2)
        A, B = make_matrices(np.random.default_rng(data_seed))
        if per_deadline:
            C = A @ B
            for i, d in enumerate(deadlines):
                result = coded_matmul(A, B, deadline=d, seed=run_seed, **coded_kwargs)
                losses[t, i] = result.normalized_loss(C)
                received[t, i] = np.count_nonzero(result_times(result) <= d)
                recovered[t, i] = int(result.recovered.sum())
            continue
        result = coded_matmul(A, B, deadline=math.inf, track_loss=True, seed=run_seed, **coded_kwargs)
        # real clusters time packets in seconds: back to the latency model's units
        times = np.asarray([e.time for e in result.timeline]) / result.report.get("time_unit", 1.0)
        loss_after = np.concatenate([[1.0], [e.loss for e in result.timeline]])
        rec_after = np.concatenate([[0], [e.recovered for e in result.timeline]])
        # packets after the timeline ends (everything recovered) would not change anything
        count = np.searchsorted(times, deadlines, side="right")
        losses[t] = loss_after[count]
        recovered[t] = rec_after[count]
        all_times = np.sort(result_times(result))
        received[t] = np.searchsorted(all_times, deadlines, side="right")
    return [
        LossPoint(
            float(d),
            float(losses[:, i].mean()),
            float(losses[:, i].std(ddof=1) / np.sqrt(trials)) if trials > 1 else math.nan,
            float(received[:, i].mean()),
            float(recovered[:, i].mean()),
            trials,
        )
        for i, d in enumerate(deadlines)
    ]


def result_times(result: Any) -> np.ndarray:
    """All workers' response times of a simulated result (recorded in its report)."""
    return np.asarray(result.report.get("response_times", [e.time for e in result.timeline]))
