"""Benchmark: is the unbiased decoder unbiased, and what does it cost in loss (docs/beyond.md)?

    PYTHONPATH=src python benchmarks/bench_unbiased.py scale [--seeds 4000] [--deadline 4]
    PYTHONPATH=src python benchmarks/bench_unbiased.py loss [--trials 100] [--cost work|equal]

``scale``: Sec. VI r×c and c×r (K = 9, Table III Γ, W = 30, exponential λ = 1, Ω = 9/30),
``cost="work"``, deadline ``T``: the mean over seeds of every sub-product's factor in ``C_hat``
(its scale, 0 when not recovered), averaged per class, for the decoder with the code's ``Γ``
(what it used before: the arrival model of ``cost="equal"``) and with the job's own ``Γ'``.
An unbiased decoder gives 1 in every class.  ``±`` is the standard error.  Also the
Horvitz–Thompson form (:class:`HorvitzThompson`), which rescales complete decodes too, and
the decoder without its clipping (``min_probability=1e-12``): what is left of the bias where
``p_k(N) = 0`` or ``p_k(N) = q(N)``.

``loss``: the mean normalised loss of zero-fill, LMMSE, unbiased and its Horvitz–Thompson form
on the Sec. VI matrices (:func:`uepmm.experiments.compare.fast_losses`, seed 0, ``--trials``
trials, ``--cost``; these count the arrivals by the deadline, which the Horvitz–Thompson form
needs), NOW and EW, both partitions; under ``cost="work"`` also the decoder as it was
(the code's ``Γ``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from uepmm import JobSpec  # noqa: E402
from uepmm.codes import make_code  # noqa: E402
from uepmm.decoders import DecodeContext, UnbiasedDecoder, recovery_probabilities  # noqa: E402
from uepmm.draw import draw_job  # noqa: E402
from uepmm.importance import paper_sec6_classes  # noqa: E402
from uepmm.latency import Exponential  # noqa: E402

DEADLINES = (0.5, 1.0, 2.0, 4.0)


class HorvitzThompson(UnbiasedDecoder):
    """The alternative not taken: every recovered ``P_k`` scaled by ``1 / max(p_k(N), min_probability)``,
    complete or not (unbiased also where ``p_k = q``, but a complete decode is not ``C``)."""

    name = "unbiased-ht"

    def scales(self, rows, recovered, context):
        recovered = np.asarray(recovered, dtype=bool)
        if not recovered.any():
            return np.zeros(recovered.size)
        p = recovery_probabilities(context)[0][int(rows.shape[0])]
        return np.where(recovered, 1.0 / np.maximum(p, self.min_probability), 0.0)



def sec6_spec(code: str, partition: str, deadline: float, cost: str = "work", decoder="zero") -> JobSpec:
    classes = paper_sec6_classes(partition)
    return JobSpec(
        code=make_code(code), partition=partition, blocks=(3, 3) if partition == "rxc" else 9, workers=30,
        latency=Exponential(1.0), omega=9 / 30, classes=classes, cost=cost, deadline=deadline, decoder=decoder,
    )


def mean_scales(spec: JobSpec, seeds: int) -> dict[str, tuple[np.ndarray, ...]]:
    """Per class and decoder variant: the mean scale over all seeds and its standard error, then
    the mean over the seeds whose ``N`` meets the class's unbiasedness condition (the variant's
    own ``p_k(N) > q(N)`` and not clipped; Horvitz–Thompson: ``p_k(N) >= min_probability``), its
    standard error and the share of seeds that meet it."""
    classes, code = spec.classes, spec.code_object
    variants = {
        "code's Γ (before)": (UnbiasedDecoder(), None),
        "job's Γ' (now)": (UnbiasedDecoder(), spec),
        "job's Γ', no clip": (UnbiasedDecoder(min_probability=1e-12), spec),
        "Horvitz–Thompson, Γ'": (HorvitzThompson(), spec),
    }
    samples = {name: np.empty((seeds, spec.num_products)) for name in variants}
    meets = {name: np.empty((seeds, spec.num_products), dtype=bool) for name in variants}
    for j in range(seeds):
        drawn = draw_job(spec, classes, j)
        order = np.argsort(drawn.times, kind="stable")
        n = int(np.searchsorted(drawn.times[order], spec.deadline, side="right"))
        recovered = code.recovery_curve_from(drawn.encoding, order[:n])[n]
        rows = drawn.generator[order[:n]]
        for name, (decoder, context_spec) in variants.items():
            context = DecodeContext(None, None, np.dtype(np.float64), spec.workers, classes, code=code,
                                    spec=context_spec)
            samples[name][j] = decoder.scales(rows, recovered, context)
            p_all, q_all = recovery_probabilities(context)
            p, q = p_all[n], q_all[n]
            if not isinstance(decoder, HorvitzThompson):
                meets[name][j] = (q >= 1.0) | ((p > q) & ((p - q) / max(1.0 - q, 1e-300) >= decoder.min_probability))
            else:
                meets[name][j] = p >= decoder.min_probability
    cls = classes.as_array()
    out = {}
    for name, s in samples.items():
        per_class = np.stack([s[:, cls == level].mean(axis=1) for level in range(classes.num_classes)], axis=1)
        ok = np.stack([meets[name][:, cls == level].all(axis=1) for level in range(classes.num_classes)], axis=1)
        cond_mean, cond_err = [], []
        for level in range(classes.num_classes):
            picked = per_class[ok[:, level], level]
            cond_mean.append(picked.mean() if picked.size else np.nan)
            cond_err.append(picked.std(ddof=1) / np.sqrt(picked.size) if picked.size > 1 else np.nan)
        out[name] = (per_class.mean(axis=0), per_class.std(axis=0, ddof=1) / np.sqrt(seeds),
                     np.array(cond_mean), np.array(cond_err), ok.mean(axis=0))
    return out


def run_scale(args) -> None:
    print("per class: mean scale over all seeds | over the seeds whose N meets the condition [their share]")
    for partition in ("rxc", "cxr"):
        for code in ("now", "ew"):
            t0 = time.perf_counter()
            result = mean_scales(sec6_spec(code, partition, args.deadline), args.seeds)
            for name, (mean, err, cmean, cerr, share) in result.items():
                cells = " ".join(f"{m:6.3f}±{e:.3f}" for m, e in zip(mean, err))
                cond = " ".join(f"{m:6.3f}±{e:.3f} [{f:.2f}]" for m, e, f in zip(cmean, cerr, share))
                print(f"{partition} {code:>3} T={args.deadline:g} {name:<22} {cells} | {cond}")
            print(f"   ({args.seeds} seeds, {time.perf_counter() - t0:.1f} s)")


class CodesGammaUnbiased(UnbiasedDecoder):
    """The decoder as it was: the code's ``Γ`` whatever the cost model (the arrival model of ``cost="equal"``)."""

    def scales(self, rows, recovered, context):
        return super().scales(rows, recovered, replace(context, spec=None))


def run_loss(args) -> None:
    from uepmm.experiments.compare import fast_losses
    from uepmm.experiments.synthetic import sec6_matrices

    decoders = {"zero": "zero", "lmmse": "lmmse", "unbiased": "unbiased",
                "unbiased HT": HorvitzThompson()}
    if args.cost == "work":
        decoders["unbiased (Γ)"] = CodesGammaUnbiased()
    print(f"cost={args.cost}, {args.trials} trials, seed 0")
    print(f"{'part':>4} {'code':>4} {'decoder':>12} " + " ".join(f"{'t=' + format(t, 'g'):>10}" for t in DEADLINES))
    for partition in ("rxc", "cxr"):
        A, B = sec6_matrices(partition, np.random.default_rng(0))
        for code in ("now", "ew"):
            for name, decoder in decoders.items():
                spec = sec6_spec(code, partition, float("inf"), args.cost, decoder).with_(fidelity="fast")
                losses, _ = fast_losses(A, B, spec, DEADLINES, args.trials, seed=0)
                print(f"{partition:>4} {code:>4} {name:>12} " + " ".join(f"{v:10.3g}" for v in losses.mean(axis=0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("scale", "loss"))
    parser.add_argument("--seeds", type=int, default=4000)
    parser.add_argument("--deadline", type=float, default=4.0)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--cost", choices=("work", "equal"), default="work")
    args = parser.parse_args()
    (run_scale if args.what == "scale" else run_loss)(args)


if __name__ == "__main__":
    main()
