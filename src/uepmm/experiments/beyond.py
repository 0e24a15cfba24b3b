"""Beyond the paper (docs/beyond.md): designed window probabilities and better decoders.

The Sec. VI setting of Figs. 9-10 (``k = (3, 3, 3)``, ``W = 30``, exponential ``λ = 1``,
Ω = 1), for NOW and EW in both partitions, in four variants against MDS:

========== ======================== ==========
variant    window probabilities Γ   decoder
========== ======================== ==========
paper      Table III                zero-fill
designed   designed for each t      zero-fill
lmmse      Table III                LMMSE
both       designed for each t      LMMSE
========== ======================== ==========

MDS is shown with both decoders.  Every curve is an engine Monte Carlo: trial ``j`` draws its
job with :func:`uepmm.draw.draw_job` (:func:`~uepmm.experiments.engine_curves.trial_seed`),
the packets are taken in arrival order, and after each arrival the decoder's reconstruction
``M`` (:meth:`uepmm.decoders.Decoder.reconstruction`) is priced from the Gram matrix of the
exact sub-products of a Sec. VI matrix pair (:meth:`uepmm.loss.BlockLoss.reconstruction_loss`).
The LMMSE prior is the parameter server's: energies from the block norms.  The loss at time
``t`` is ``sum_n P(N(t) = n) E[L_n]`` (eq. 13), as in Figs. 9-11.  "designed" uses
:func:`uepmm.design.design_gamma` for the deadline ``t`` with the Sec. VI class energies and
the objective of the decoder it is used with (Theorem 1 / the Theorem 2 bound for zero-fill,
the LMMSE objective for LMMSE).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np

from .. import theory
from ..codes import make_code
from ..decoders import DecodeContext, decoder_for_code, make_decoder
from ..draw import draw_job
from ..importance import ImportanceOrder, energies_from_line_norms, paper_sec6_classes
from ..loss import BlockLoss
from ..partition import make_partition
from .analytic_curves import crossover_time, time_grid
from .engine_curves import _matrix_seed, figure_spec, trial_seed
from .figure_options import DEFAULT_OPTIONS, FIG_GAMMA, FIG_K, FIG_LATENCY, FIG_WORKERS, FigureOptions, FigureOutput
from .plotting import new_figure
from .synthetic import sec6_matrices
from .tables import write_csv

__all__ = ["VARIANTS", "beyond_table", "beyond_crossovers", "loss_after_packets", "designed_gamma", "beyond"]

#: Variant -> (Γ: "table3" or "designed", decoder).
VARIANTS = {"paper": ("table3", "zero"), "designed": ("designed", "zero"), "lmmse": ("table3", "lmmse"),
            "both": ("designed", "lmmse")}
_BLOCKS = {"rxc": (3, 3), "cxr": 9}
#: Time grid step of the figure (each designed point is one design and one Monte Carlo).
BEYOND_T_STEP = 0.1


def columns() -> list[str]:
    """``t``, then ``{code}_{partition}_{variant}`` and ``mds_{partition}_{zero|lmmse}``."""
    out = ["t"]
    for partition in ("rxc", "cxr"):
        out += [f"{code}_{partition}_{variant}" for code in ("now", "ew") for variant in VARIANTS]
        out += [f"mds_{partition}_zero", f"mds_{partition}_lmmse"]
    return out


@functools.lru_cache(maxsize=8)
def _pricing(partition: str, seed: int, draws: int, size_scale: float) -> tuple[tuple[BlockLoss, np.ndarray], ...]:
    """Per Sec. VI matrix draw: the Gram matrix of the exact sub-products and the PS's energy prior."""
    out = []
    for d in range(draws):
        A, B = sec6_matrices(partition, np.random.default_rng(_matrix_seed(seed, d)), size_scale)
        layout = make_partition(A.shape, B.shape, partition, _BLOCKS[partition])
        order = ImportanceOrder.identity(partition, A, B)  # Sec. VI: blocks already in importance order
        energies = energies_from_line_norms(order.a_line_stats, order.b_line_stats, layout)
        out.append((BlockLoss(layout, layout.products(A, B)), energies))
    return tuple(out)


@functools.lru_cache(maxsize=512)
def designed_gamma(code: str, partition: str, deadline: float, decoder: str, omega: float) -> tuple[float, ...]:
    """Γ of :func:`uepmm.design.design_gamma` for the Sec. VI class energies at ``deadline``."""
    from ..design import design_gamma

    energy = tuple(float(e) for e in theory.sec6_class_energy(partition))
    design = design_gamma(code, FIG_K, energy, FIG_WORKERS, FIG_LATENCY, deadline, omega=omega,
                          partition=partition, decoder=decoder)
    return tuple(float(g) for g in design.gamma)


@functools.lru_cache(maxsize=1024)
def loss_after_packets(
    partition: str, code: str, gamma: tuple[float, ...] | None, decoder: str, trials: int, seed: int,
    omega: float, draws: int, size_scale: float,
) -> np.ndarray:
    """Mean normalised loss after ``n = 0..W`` arrivals (engine Monte Carlo; module docstring)."""
    classes = paper_sec6_classes(partition)
    spec = figure_spec(code, classes, FIG_WORKERS, FIG_LATENCY, omega, gamma)
    dec = decoder_for_code(spec.code_object, make_decoder(decoder))  # the scheme's own, if it defines C_hat
    pricing = _pricing(partition, seed, draws, size_scale)
    K = classes.num_products
    total = np.zeros(FIG_WORKERS + 1)
    for j in range(trials):
        drawn = draw_job(spec, classes, trial_seed(seed, j))
        order = np.argsort(drawn.times, kind="stable")
        rows = drawn.generator[order]
        block_loss, energies = pricing[j % draws]
        context = DecodeContext(None, None, np.dtype(np.float64), FIG_WORKERS, classes, None, None, energies,
                                spec.code_object, spec=spec)
        for n in range(FIG_WORKERS + 1):
            received = rows[:n]
            recovered = spec.code_object.recovered_from(drawn.encoding, order[:n])
            if recovered.all():
                break  # loss 0 from here on
            M = dec.reconstruction(received, recovered, context) if n else np.zeros((K, K))
            total[n] += block_loss.reconstruction_loss(M) / block_loss.total
    return total / trials


def _series(partition: str, code: str, variant: str, times: np.ndarray, options: FigureOptions) -> np.ndarray:
    windowed = make_code(code).uses_window_probabilities  # else no Γ to design: the series are the decoders
    gamma_kind, decoder = VARIANTS[variant] if windowed else ("table3", variant)
    args = (options.trials, options.seed, options.omega, options.draws, options.size_scale)
    weights = theory.arrival_distribution(FIG_LATENCY, times, FIG_WORKERS, options.omega)  # [T, W+1]
    if not windowed or gamma_kind == "table3":
        gamma = FIG_GAMMA if windowed else None
        return weights @ loss_after_packets(partition, code, gamma, decoder, *args)
    out = np.empty(times.size)
    for i, t in enumerate(times):  # Γ designed for each deadline (t = 0: for the first grid step)
        gamma = designed_gamma(code, partition, float(max(t, times[1])), decoder, options.omega)
        out[i] = weights[i] @ loss_after_packets(partition, code, gamma, decoder, *args)
    return out


def beyond_table(options: FigureOptions = DEFAULT_OPTIONS) -> list[dict[str, float]]:
    """Loss against time of every series (:func:`columns`)."""
    times = time_grid(max(options.t_step, BEYOND_T_STEP))
    data = {"t": times}
    for partition in ("rxc", "cxr"):
        for code in ("now", "ew"):
            for variant in VARIANTS:
                data[f"{code}_{partition}_{variant}"] = _series(partition, code, variant, times, options)
        for decoder in ("zero", "lmmse"):
            data[f"mds_{partition}_{decoder}"] = _series(partition, "mds", decoder, times, options)
    return [{name: float(data[name][i]) for name in columns()} for i in range(times.size)]


def beyond_crossovers(rows: list[dict[str, float]]) -> list[dict[str, object]]:
    """Until which ``t`` each series beats MDS (zero-fill and LMMSE); ``inf``: on the whole axis; NaN: never."""
    times = np.array([r["t"] for r in rows])
    out = []
    for partition in ("rxc", "cxr"):
        for code in ("now", "ew"):
            for variant in VARIANTS:
                uep = np.array([r[f"{code}_{partition}_{variant}"] for r in rows])
                row = {"series": f"{code}_{partition}_{variant}"}
                for decoder in ("zero", "lmmse"):
                    mds = np.array([r[f"mds_{partition}_{decoder}"] for r in rows])
                    until = crossover_time(times, uep, mds)
                    if math.isnan(until) and np.all(uep[1:] < mds[1:]):
                        until = math.inf  # better on the whole axis
                    row[f"until_vs_mds_{decoder}"] = until
                out.append(row)
    return out


def _plot(rows: list[dict[str, float]], path: str) -> str | None:
    fig = new_figure((11.0, 4.4))
    if fig is None:
        return None
    axes = fig.subplots(1, 2, sharey=True)
    t = np.array([r["t"] for r in rows])
    colours = {"now": "tab:green", "ew": "tab:orange", "mds": "tab:gray"}
    styles = {"paper": "-", "designed": "--", "lmmse": ":", "both": "-.", "zero": "-", "lmmse_mds": ":"}
    for ax, partition in zip(axes, ("rxc", "cxr")):
        for code in ("now", "ew"):
            for variant in VARIANTS:
                y = np.array([r[f"{code}_{partition}_{variant}"] for r in rows])
                ax.plot(t, np.where(y > 0, y, np.nan), styles[variant], color=colours[code],
                        label=f"{code.upper()} {variant}")
        for decoder, style in (("zero", "-"), ("lmmse", ":")):
            y = np.array([r[f"mds_{partition}_{decoder}"] for r in rows])
            ax.plot(t, np.where(y > 0, y, np.nan), style, color=colours["mds"], linewidth=2, label=f"MDS {decoder}")
        ax.set_yscale("log")
        ax.set_xlabel("deadline t (exponential latency, rate 1)")
        ax.set_title(f"{'r×c' if partition == 'rxc' else 'c×r'}: Table III / designed Γ, zero-fill / LMMSE")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("normalised loss")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def beyond(out_dir: str, options: FigureOptions = DEFAULT_OPTIONS) -> FigureOutput:
    """Write ``beyond.csv``, ``beyond.png`` and ``beyond_crossovers.csv`` to ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    rows = beyond_table(options)
    csv_path = os.path.join(out_dir, "beyond.csv")
    write_csv(csv_path, rows)
    cross = beyond_crossovers(rows)
    write_csv(os.path.join(out_dir, "beyond_crossovers.csv"), cross)
    png = _plot(rows, os.path.join(out_dir, "beyond.png"))
    notes = [
        f"{c['series']}: beats MDS zero-fill until t = {_fmt(c['until_vs_mds_zero'])}, "
        f"MDS LMMSE until t = {_fmt(c['until_vs_mds_lmmse'])}"
        for c in cross
    ]
    return FigureOutput("beyond", tuple(columns()), rows, csv_path, png, notes)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "never"
    return "the whole axis" if math.isinf(value) else f"{value:.3f}"


beyond.extra = True  # type: ignore[attr-defined]  # not part of 'uepmm figure all' (the paper's figures)
