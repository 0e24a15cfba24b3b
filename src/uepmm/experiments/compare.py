"""Every scheme side by side on one workload: mean normalised loss at each deadline (``uepmm compare``).

Schemes: :data:`uepmm.scheme.SCHEMES` (each a :class:`uepmm.Scheme`: a registry code, a decoder,
Γ and a task rule; the table is in :mod:`uepmm.scheme`), in that order.

The exact-block schemes use zero-fill: a block is exact or absent, as their users get it.
A code that defines its own estimate (``Code.decoder_for``, where the code has it) replaces
the decoder; the ``decoder`` column names the one that ran.

Fairness: every scheme gets the same ``W`` workers and the same ``Ω`` (``K / W`` for
``"paper"``, Remark 1, computed once for the full ``W``), and trial ``j`` of every scheme
uses the seed :func:`~uepmm.experiments.engine_curves.trial_seed` ``(seed, j)``: the same
response-time stream, hence the same stragglers (common random numbers).

Fast path (simulated backend): one draw per (scheme, trial) exactly as :func:`uepmm.plan_job`
makes it (:func:`uepmm.draw.draw_job`; per deadline for ``gamma="auto"``, whose Γ depends on
it), then every deadline is read off: the rows that arrived by ``t`` give the recovered set
(the rank decision) and the decoder's reconstruction ``M`` (``P_hat = M P``), priced by one
Gram matrix of the exact sub-products (:meth:`uepmm.loss.BlockLoss.reconstruction_loss`).
This is what :func:`uepmm.coded_matmul` with ``deadline=t`` and that seed returns (the tests
check it against full fidelity).  Adaptive packets (``JobSpec.adaptive``) are simulated once per
draw up to the last deadline (:mod:`uepmm.adaptive`) and read off the same way.
``backend="dask"`` runs :func:`uepmm.coded_matmul` for every (scheme, trial, deadline) with real compute.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._progress import progress
from .._validation import as_matrix, positive_int
from ..api import coded_matmul, plan_job
from ..codes import CODES
from ..decoders import DecodeContext, decoder_for_code, make_decoder
from ..design.auto import auto_code
from ..draw import draw_job
from ..loss import BlockLoss
from ..matrices import check_pair
from ..scheme import SCHEMES, Scheme
from ..spec import JobSpec
from .engine_curves import trial_seed
from .plotting import new_figure
from .tables import write_csv

__all__ = ["Scheme", "SCHEMES", "DEFAULT_DEADLINES", "COLUMNS", "resolve_schemes", "scheme_spec", "compare_schemes",
           "fast_losses", "winners", "plot_compare", "write_compare", "TIE"]


#: Deadlines of ``uepmm compare`` when none are given (latency-model units; ``inf`` waits for all).
DEFAULT_DEADLINES = (0.5, 1.0, 2.0, 4.0, 8.0, math.inf)
#: Losses closer than this tie in :func:`winners` (an LMMSE estimate of a complete set is exact up to rounding).
TIE = 1e-15
#: Columns of every result row.
COLUMNS = ("scheme", "code", "decoder", "partition", "cost", "deadline", "mean_loss", "std_loss", "stderr",
           "trials", "workers", "tasks")


def resolve_schemes(names: Sequence[str] | None, partition: str) -> tuple[list[Scheme], list[str]]:
    """The schemes to run and notes on the ones skipped.

    ``names=None`` means all: a scheme whose code is not in :data:`uepmm.codes.CODES` or that
    does not fit ``partition`` is skipped with a note.  Asked for by name, either is a ``ValueError``.
    """
    explicit = names is not None
    chosen = list(SCHEMES) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in SCHEMES]
    if unknown:
        raise ValueError(f"schemes: unknown scheme(s) {', '.join(map(repr, unknown))}; valid values are "
                         f"{', '.join(SCHEMES)}")
    out, notes = [], []
    for name in chosen:
        scheme = SCHEMES[name]
        if scheme.code_name not in CODES:
            message = (f"scheme {name!r} needs code {scheme.code_name!r}, which this uepmm does not have "
                       f"(codes: {', '.join(CODES)})")
            if explicit:
                raise ValueError(f"{message}; drop it from --schemes")
            notes.append(f"skipped {message}")
            continue
        try:
            scheme.check_partition(partition)
        except ValueError as exc:
            if explicit:
                raise ValueError(f"{exc}, or --partition {scheme.partitions[0]}") from None
            notes.append(f"skipped {exc}")
            continue
        out.append(scheme)
    return out, notes


def scheme_spec(scheme: Scheme, base: JobSpec) -> JobSpec:
    """``base`` (workers ``W``, a numeric ``Ω``) for ``scheme``: :meth:`uepmm.Scheme.spec` with ``base``
    as the template (its code, decoder, Γ, copies and task count replaced).  ``base.prior`` is
    LMMSE's: a scheme whose decoder uses no prior gets ``prior="diagonal"``."""
    if base.prior != "diagonal" and not make_decoder(scheme.decoder).needs_energies:
        base = base.with_(prior="diagonal")
    return scheme.spec(base)


def fast_losses(
    A: Any,
    B: Any,
    spec: JobSpec,
    deadlines: Sequence[float],
    trials: int,
    seed: int = 0,
    *,
    pricing: BlockLoss | None = None,
) -> tuple[np.ndarray, str]:
    """Normalised loss of trial ``j`` at ``deadlines[i]`` (shape ``(trials, len(deadlines))``) and the
    name of the decoder that ran: trial ``j`` is ``coded_matmul(A, B, spec, deadline=t,
    seed=trial_seed(seed, j))``, computed by the fast path (module docstring).

    ``pricing``: the :class:`BlockLoss` of the job's exact sub-products (computed when ``None``;
    it depends only on the layout and the importance order, so schemes can share it).
    """
    deadlines = np.asarray(deadlines, dtype=np.float64)
    plan = plan_job(A, B, spec.with_(deadline=math.inf), seed=trial_seed(seed, 0))
    job, layout = plan.job, plan.job.partition
    if pricing is None:
        pricing = BlockLoss(layout, layout.block_products(job.a_blocks, job.b_blocks))
    # one code for every deadline, or (gamma="auto") the code designed for each deadline
    if spec.auto_gamma:
        codes = [auto_code(spec.with_(deadline=float(t)), plan.classes, plan.energies) for t in deadlines]
    else:
        codes = [plan.code] * deadlines.size
    groups: dict[int, list[int]] = {}
    for i, code in enumerate(codes):
        groups.setdefault(next(j for j, c in enumerate(codes) if c == code), []).append(i)
    decoder = decoder_for_code(plan.code, spec.decoder_object)
    # adaptive packets: simulated once to the last deadline; those by t are the same for every t (causality)
    drawing = spec.with_(deadline=float(deadlines.max())) if spec.adaptive else spec
    out = np.empty((trials, deadlines.size))
    total = pricing.total
    for j in range(trials):
        for first, members in groups.items():
            code = codes[first]
            context = DecodeContext(layout, plan.order, plan.dtype, spec.workers, plan.classes, plan.scores, None,
                                    plan.energies, code, plan.gram)
            drawn = draw_job(drawing, plan.classes, trial_seed(seed, j), layout, code)
            order = np.argsort(drawn.times, kind="stable")  # the simulated backend's delivery order
            rows, times = drawn.generator[order], drawn.times[order]
            counts = np.searchsorted(times, deadlines[members], side="right")
            # the recovery decision after each arrival, replayed once per draw (MatDot: its decoder's)
            recovered_after = code.recovery_curve_from(drawn.encoding, order[: counts.max()])
            cache: dict[int, float] = {}
            for i, n in zip(members, counts):
                if n not in cache:
                    M = decoder.reconstruction(rows[:n], recovered_after[n], context)
                    cache[n] = pricing.reconstruction_loss(M) / total if total > 0 else 0.0
                out[j, i] = cache[n]
    return out, decoder.name


def _dask_losses(
    A: Any, B: Any, spec: JobSpec, deadlines: np.ndarray, trials: int, seed: int, backend: Any
) -> tuple[np.ndarray, str]:
    """Real compute: one :func:`coded_matmul` per (trial, deadline) on ``backend``."""
    C = A @ B
    C = C.toarray() if hasattr(C, "toarray") else np.asarray(C)
    out = np.empty((trials, deadlines.size))
    name = spec.decoder_object.name
    for j in range(trials):
        for i, t in enumerate(deadlines):
            result = coded_matmul(A, B, spec, deadline=float(t), seed=trial_seed(seed, j), backend=backend)
            out[j, i] = result.normalized_loss(C)
            name = result.report.get("decoder", name)
    return out, name


def compare_schemes(
    A: Any,
    B: Any,
    base: JobSpec,
    *,
    deadlines: Sequence[float] = DEFAULT_DEADLINES,
    trials: int = 100,
    seed: int = 0,
    schemes: Sequence[str] | None = None,
    backend: Any = "simulated",
    show_progress: bool = False,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows (:data:`COLUMNS`) of every scheme × deadline, and notes on skipped schemes.

    ``base`` gives the partition, blocks, workers ``W``, latency, ``Ω``, cost and the other
    :class:`JobSpec` settings shared by every scheme (its code, decoder and Γ are replaced
    per scheme, :func:`scheme_spec`).  ``backend``: ``"simulated"`` (the fast path) or a
    Dask backend (real compute, :func:`coded_matmul` per trial and deadline).
    """
    A = as_matrix(A, "A", allow_sparse=True)
    B = as_matrix(B, "B", allow_sparse=True)
    check_pair(A, B)
    trials = positive_int(trials, "trials")
    seed = positive_int(seed, "seed", minimum=0)
    deadlines = np.asarray(sorted(float(t) for t in deadlines), dtype=np.float64)
    if deadlines.size == 0 or np.any(np.isnan(deadlines)) or np.any(deadlines < 0):
        raise ValueError(f"deadlines must be numbers >= 0 (inf allowed), at least one; got {deadlines.tolist()}")
    base = base.with_(omega=base.omega_value, fidelity="full")  # Ω of the full W for every scheme
    chosen, notes = resolve_schemes(schemes, base.partition)
    specs = []
    for scheme in chosen:
        try:
            specs.append((scheme, scheme_spec(scheme, base)))
        except ValueError as exc:
            if schemes is not None:
                raise
            notes.append(f"skipped {exc}")
    simulated = isinstance(backend, str) and backend == "simulated"
    pricing = None
    if simulated and specs:
        plan = plan_job(A, B, specs[0][1], seed=trial_seed(seed, 0))
        pricing = BlockLoss(plan.job.partition, plan.job.partition.block_products(plan.job.a_blocks,
                                                                                 plan.job.b_blocks))
    rows = []
    for scheme, spec in progress(specs, len(specs), f"compare {base.partition}", enabled=show_progress):
        if simulated:
            losses, decoder = fast_losses(A, B, spec, deadlines, trials, seed, pricing=pricing)
        else:
            losses, decoder = _dask_losses(A, B, spec.with_(backend=backend), deadlines, trials, seed, backend)
        std = losses.std(axis=0, ddof=1) if trials > 1 else np.zeros(deadlines.size)
        for i, t in enumerate(deadlines):
            rows.append({
                "scheme": scheme.name, "code": scheme.code_name, "decoder": decoder, "partition": base.partition,
                "cost": base.cost, "deadline": float(t), "mean_loss": float(losses[:, i].mean()),
                "std_loss": float(std[i]), "stderr": float(std[i] / math.sqrt(trials)), "trials": trials,
                "workers": base.workers, "tasks": spec.workers,
            })
    return rows, notes


def winners(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per deadline: the scheme(s) with the least mean loss (all within :data:`TIE` named), that loss,
    the best of the others and its loss, and the best UEP row (now/ew/now+/ew+) with its loss."""
    out = []
    for t in sorted({r["deadline"] for r in rows}):
        at = sorted((r for r in rows if r["deadline"] == t), key=lambda r: r["mean_loss"])
        uep = [r for r in at if r["code"] in ("now", "ew")]
        best = at[0]["mean_loss"]
        tied = [r["scheme"] for r in at if r["mean_loss"] <= best + TIE]
        rest = [r for r in at if r["mean_loss"] > best + TIE]
        row = {"deadline": t, "winner": " ".join(tied), "winner_loss": best,
               "runner_up": rest[0]["scheme"] if rest else "", "runner_up_loss": rest[0]["mean_loss"] if rest else
               math.nan}
        if uep:
            row.update(best_uep=uep[0]["scheme"], best_uep_loss=uep[0]["mean_loss"])
        out.append(row)
    return out


def plot_compare(rows: Sequence[dict[str, Any]], path: str, title: str = "") -> str | None:
    """Mean loss against the finite deadlines, one line per scheme, log y (a zero loss is not drawn).
    ``None`` when matplotlib is missing or there is no finite deadline."""
    finite = [r for r in rows if math.isfinite(r["deadline"])]
    fig = new_figure((7.5, 4.6))
    if fig is None or not finite:
        return None
    ax = fig.subplots()
    styles = {"now": "-", "ew": "-", "now+": "--", "ew+": "--"}
    for name in dict.fromkeys(r["scheme"] for r in finite):
        mine = [r for r in finite if r["scheme"] == name]
        t = np.array([r["deadline"] for r in mine])
        y = np.array([r["mean_loss"] for r in mine])
        ax.plot(t, np.where(y > 0, y, np.nan), styles.get(name, ":"), marker="o", markersize=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("deadline (latency-model units)")
    ax.set_ylabel("mean normalised loss")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write_compare(rows: Sequence[dict[str, Any]], out_dir: str, stem: str = "compare", title: str = "") -> list[str]:
    """``{stem}.csv`` (:data:`COLUMNS`) and ``{stem}.png`` (:func:`plot_compare`) in ``out_dir``; the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, f"{stem}.csv")
    write_csv(csv_path, rows, COLUMNS)
    png = plot_compare(rows, os.path.join(out_dir, f"{stem}.png"), title)
    return [csv_path] + ([png] if png else [])
