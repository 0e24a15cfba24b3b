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

Fast path (simulated backend, :func:`uepmm.recommend.replay_losses`, which ``scheme="auto"``
prices with a prior instead): one draw per (scheme, trial) exactly as :func:`uepmm.plan_job`
makes it (:func:`uepmm.draw.draw_job`; per deadline for ``gamma="auto"``, whose Γ depends on
it), then every deadline is read off: the rows that arrived by ``t`` give the recovered set
(the rank decision) and the decoder's reconstruction ``M`` (``P_hat = M P``), priced by one
Gram matrix of the exact sub-products (:meth:`uepmm.loss.BlockLoss.reconstruction_loss`).
This is what :func:`uepmm.coded_matmul` with ``deadline=t`` and that seed returns (the tests
check it against full fidelity).  ``backend="dask"`` runs :func:`uepmm.coded_matmul` for
every (scheme, trial, deadline) with real compute.  Adaptive packets (``JobSpec.adaptive``) are simulated once
per draw up to the last deadline (:mod:`uepmm.adaptive`) and read off the same way.

What a user reads: :func:`format_wide_table` (schemes × deadlines, the least loss of each
deadline marked), the long rows (:data:`COLUMNS`, with ``uep`` from :attr:`uepmm.Scheme.uep`)
as CSV/JSON, and :func:`plot_compare` (losses below :data:`EXACT_FLOOR` on an "exact" floor).
The cost model is the caller's (``base.cost``); ``uepmm compare`` defaults to ``"work"``.
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
from ..decoders import make_decoder
from ..loss import BlockLoss
from ..matrices import check_pair
from ..recommend import replay_losses
from ..scheme import SCHEMES, Scheme
from ..spec import JobSpec
from .engine_curves import trial_seed
from .plotting import new_figure
from .tables import format_rows, write_csv

__all__ = ["Scheme", "SCHEMES", "DEFAULT_DEADLINES", "COLUMNS", "resolve_schemes", "scheme_spec", "compare_schemes",
           "fast_losses", "winners", "format_wide_table", "plot_series", "plot_compare", "write_compare", "TIE",
           "EXACT_FLOOR"]


#: Deadlines of ``uepmm compare`` when none are given (latency-model units; ``inf`` waits for all).
DEFAULT_DEADLINES = (0.5, 1.0, 2.0, 4.0, 8.0, math.inf)
#: Losses closer than this tie in :func:`winners` (an LMMSE estimate of a complete set is exact up to rounding).
TIE = 1e-15
#: Losses below this are drawn on the plot's "exact" floor (:func:`plot_series`): rounding residue, not error.
EXACT_FLOOR = 1e-12
#: Columns of every result row (``uep``: 1 when the scheme's code protects classes unequally, :attr:`Scheme.uep`).
COLUMNS = ("scheme", "code", "decoder", "partition", "cost", "deadline", "mean_loss", "std_loss", "stderr",
           "trials", "workers", "tasks", "uep")


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
    # the job's statistics (the replay designs the code of each deadline; planned at a finite one, a
    # gamma="auto" plan's own design is one the replay reuses)
    finite = [float(t) for t in np.ravel(deadlines) if math.isfinite(t)]
    plan = plan_job(A, B, spec.with_(deadline=finite[0] if finite else math.inf), seed=trial_seed(seed, 0))
    if pricing is None:
        layout = plan.job.partition
        pricing = BlockLoss(layout, layout.block_products(plan.job.a_blocks, plan.job.b_blocks))
    return replay_losses(plan, deadlines, trials, seed, pricing)


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
                "workers": base.workers, "tasks": spec.workers, "uep": int(scheme.uep),
            })
    return rows, notes


def winners(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per deadline: the scheme(s) with the least mean loss (all within :data:`TIE` named), that loss,
    the best of the others and its loss, the best UEP row (``uep`` = 1, :attr:`Scheme.uep`) and the best
    other row (``uep`` = 0) with their losses (keys present when there is such a row)."""
    out = []
    for t in sorted({r["deadline"] for r in rows}):
        at = sorted((r for r in rows if r["deadline"] == t), key=lambda r: r["mean_loss"])
        uep = [r for r in at if int(r.get("uep", 0))]
        other = [r for r in at if not int(r.get("uep", 0))]
        best = at[0]["mean_loss"]
        tied = [r["scheme"] for r in at if r["mean_loss"] <= best + TIE]
        rest = [r for r in at if r["mean_loss"] > best + TIE]
        row = {"deadline": t, "winner": " ".join(tied), "winner_loss": best,
               "runner_up": rest[0]["scheme"] if rest else "", "runner_up_loss": rest[0]["mean_loss"] if rest else
               math.nan}
        if uep:
            row.update(best_uep=uep[0]["scheme"], best_uep_loss=uep[0]["mean_loss"])
        if other:
            row.update(best_other=other[0]["scheme"], best_other_loss=other[0]["mean_loss"])
        out.append(row)
    return out


def _sci(x: float, digits: int = 3) -> str:
    """``x`` in compact scientific notation (``8.97e-1``); ``0`` for zero."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _ratio(uep: float, other: float) -> str:
    """The best UEP row's loss over the best other row's, as the table shows it."""
    if uep <= TIE and other <= TIE:
        return "both 0"
    if other <= TIE:
        return "inf"
    text = f"{uep / other:.2g}"
    return _sci(uep / other, 2) if "e" in text else text


def format_wide_table(rows: Sequence[dict[str, Any]], deadlines: Sequence[float] | None = None) -> str:
    """Result rows (:data:`COLUMNS`) as ``uepmm compare``'s table: a line per scheme, a column per deadline.

    Each cell is the mean loss (3 significant digits, compact scientific notation), marked ``*``
    where it is the least at that deadline (every scheme within :data:`TIE` of the least is
    marked).  When there are UEP rows (``uep`` = 1) and others, a last line ``UEP/other`` gives the
    best UEP row's loss over the best other row's (below 1: UEP wins; ``inf``: the other is exact
    and UEP is not; ``both 0``: both exact), and the legend names those rows.  ``deadlines``:
    the columns, in order (default: every deadline of ``rows``, ascending).
    """
    rows = list(rows)
    if not rows:
        return ""
    times = sorted({float(r["deadline"]) for r in rows}) if deadlines is None else [float(t) for t in deadlines]
    best = {float(w["deadline"]): w for w in winners(rows)}
    loss = {(r["scheme"], float(r["deadline"])): float(r["mean_loss"]) for r in rows}
    heads = [f"t={t:g}" for t in times]
    table = []
    for name in dict.fromkeys(r["scheme"] for r in rows):
        line = {"scheme": name}
        for t, head in zip(times, heads):
            x = loss.get((name, t))
            line[head] = "-" if x is None else _sci(x) + ("*" if x <= best[t]["winner_loss"] + TIE else " ")
        table.append(line)
    compared = [t for t in times if "best_uep" in best.get(t, {}) and "best_other" in best.get(t, {})]
    if compared:
        table.append({"scheme": "UEP/other", **{head: (_ratio(best[t]["best_uep_loss"], best[t]["best_other_loss"])
                                                 if t in compared else "-") + " " for t, head in zip(times, heads)}})
    lines = [line.rstrip() for line in format_rows(table, "table").splitlines()]
    if compared:
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
    settings = []
    for key in ("cost", "trials"):
        values = {r.get(key) for r in rows}
        if len(values) == 1 and None not in values:
            settings.append(f"{key}={values.pop()}")
    lines.append(f"* least mean loss at that deadline (every scheme within {TIE:g} of it marked)"
                 + (f"; {', '.join(settings)}" if settings else ""))
    if compared:
        def by_scheme(key: str) -> str:
            groups: dict[str, list[str]] = {}
            for t in compared:
                if not (best[t]["best_uep_loss"] <= TIE and best[t]["best_other_loss"] <= TIE):
                    groups.setdefault(best[t][key], []).append(f"{t:g}")
            return "; ".join(f"{name} at t = {', '.join(ts)}" for name, ts in groups.items()) or "all exact"
        uep_names = ", ".join(dict.fromkeys(r["scheme"] for r in rows if int(r.get("uep", 0))))
        lines += [f"UEP/other: the best UEP row's loss ({uep_names}) over the best other row's; below 1: UEP wins",
                  f"  best UEP: {by_scheme('best_uep')}", f"  best other: {by_scheme('best_other')}"]
    return "\n".join(lines)


def plot_series(rows: Sequence[dict[str, Any]], floor: float = EXACT_FLOOR) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What :func:`plot_compare` draws: per scheme (in row order) its finite deadlines and mean losses,
    a loss below ``floor`` raised to ``floor`` (the plot's "exact" floor: an exact scheme stays on the log
    axis, and rounding residue such as 1e-31 does not stretch it)."""
    out = {}
    for name in dict.fromkeys(r["scheme"] for r in rows):
        mine = [r for r in rows if r["scheme"] == name and math.isfinite(r["deadline"])]
        if mine:
            t = np.array([float(r["deadline"]) for r in mine])
            out[name] = (t, np.maximum(np.array([float(r["mean_loss"]) for r in mine]), floor))
    return out


def plot_compare(rows: Sequence[dict[str, Any]], path: str, title: str = "") -> str | None:
    """Mean loss against the finite deadlines, one line per scheme (UEP rows solid, the others dotted),
    log y; losses below :data:`EXACT_FLOOR` drawn on a grey "exact" floor (:func:`plot_series`).
    ``None`` when matplotlib is missing or there is no finite deadline."""
    series = plot_series(rows)
    fig = new_figure((8.6, 4.6))
    if fig is None or not series:
        return None
    ax = fig.subplots()
    uep = {r["scheme"]: int(r.get("uep", 0)) for r in rows}
    markers = "osD^vP<>Xhp*"
    for i, (name, (t, y)) in enumerate(series.items()):
        ax.plot(t, y, "-" if uep.get(name) else ":", color=f"C{i % 10}", marker=markers[i % len(markers)],
                markersize=4, label=name + (" (UEP)" if uep.get(name) else ""))
    ax.set_yscale("log")
    if any(np.any(y <= EXACT_FLOOR) for _, y in series.values()):
        bottom = EXACT_FLOOR / 10 ** 0.8
        ax.axhspan(bottom, EXACT_FLOOR, color="0.9", zorder=0)
        ax.axhline(EXACT_FLOOR, color="0.45", linewidth=0.9, linestyle="--", zorder=1)
        ax.text(0.01, EXACT_FLOOR / 10 ** 0.4, f"exact (< {EXACT_FLOOR:g})", transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=7, color="0.3")
        ax.set_ylim(bottom=bottom)
    ax.set_xlabel("deadline (latency-model units)")
    ax.set_ylabel("mean normalised loss")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
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
