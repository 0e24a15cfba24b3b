"""Benchmark: cost of a coded training step of the MNIST network vs a plain PyTorch step.

    PYTHONPATH=src python benchmarks/bench_training.py [--steps 300] [--repeats 5] [--decoder lmmse --gamma auto]

Measures, on CPU with one thread and batch 64, the time of one SGD step (forward,
backward, update) of the 784-100-200-10 network (Fig. 12) with ``torch.nn.Linear``
layers and with ``CodedLinear`` layers for every scheme of Sec. VII-C, both partitions
and the deadlines ``T_max`` in {0.25, 0.5, 1, 2} (``fidelity="fast"``, thresholds of
:class:`uepmm.nn.ThresholdSchedule`).  Plain and coded steps are timed in alternating
blocks and the best block of each is kept, so that load from other processes affects
both alike; times are CPU time of this process (``time.process_time``), which other
processes competing for the cores inflate less than wall time.  On a shared virtual
machine the speed of the host drifts by tens of percent within seconds, so each row
runs many short pairs (a plain block, then a coded block) and reports the *median of the
per-pair ratios* (a drift between two adjacent blocks of a few ms is small), next to
the best block of each.  Prints a table, the ratio coded / plain, and an estimate of
the Figs. 13-15 run set (33 runs x 2811 steps) on two processes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from uepmm.nn.models import MnistMLP  # noqa: E402
from uepmm.nn.setups import PAPER_DEADLINES, SCHEMES, paper_linear_factory  # noqa: E402


def _model(linear=None):
    return MnistMLP(linear=linear)


def _stepper(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def _block(step, steps):
    # CPU time of this process: robust to other processes competing for the cores
    start = time.process_time()
    for _ in range(steps):
        step()
    return (time.process_time() - start) / steps


def measure(scheme, partition, deadline, steps, repeats, seed=0, decoder="zero", gamma=None):
    """``(best plain block, best coded block, median of the per-pair ratios)``, per step."""
    torch.manual_seed(seed)
    x = torch.rand(64, 784)
    y = torch.randint(0, 10, (64,))
    plain = _stepper(_model(), x, y)
    factory = paper_linear_factory("mnist", scheme, partition, deadline, seed=seed, decoder=decoder, gamma=gamma)
    coded = _stepper(_model(factory), x, y)
    plain(), coded()
    pairs = [(_block(plain, steps), _block(coded, steps)) for _ in range(repeats)]
    ratios = sorted(c / p for p, c in pairs)
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else 0.5 * (ratios[mid - 1] + ratios[mid])
    return min(p for p, _ in pairs), min(c for _, c in pairs), median


def per_product(repeats):
    """CPU time of one lean coded product (MNIST layer 1, eq. 27: (784 x 64) @ (64 x 100)) vs the bare matmul."""
    from uepmm.nn import LeanPlanner
    from uepmm.nn.setups import scheme_coding

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 784, generator=gen)
    g = torch.randn(64, 100, generator=gen) * 1e-3
    A = x.t()
    print(f"per product, eq. (27) of layer 1, {tuple(A.shape)} @ {tuple(g.shape)}, best of {repeats} blocks of 200:")

    def best(fn):
        out = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            for i in range(200):
                fn(i)
            out = min(out, (time.process_time() - start) / 200)
        return out

    bare = best(lambda i: g.t() @ x)
    print(f"  bare matmul {bare * 1e6:.0f} us")
    for scheme in SCHEMES[1:]:
        for partition in ("rxc", "cxr"):
            planner = LeanPlanner(scheme_coding(scheme, partition, 1.0))
            t = best(lambda i, planner=planner: planner.product(A, g, i))
            print(f"  {scheme:<11}{partition}  T_max=1: {t * 1e6:6.0f} us  (engine work {(t - bare) * 1e6:5.0f} us)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="SGD steps per timed block")
    parser.add_argument("--repeats", type=int, default=25, help="(plain, coded) block pairs per row")
    parser.add_argument("--schemes", nargs="+", default=list(SCHEMES))
    parser.add_argument("--deadlines", nargs="+", type=float, default=list(PAPER_DEADLINES))
    parser.add_argument("--per-product", action="store_true", help="only time single lean products")
    parser.add_argument("--decoder", default="zero", choices=("zero", "lmmse", "unbiased"))
    parser.add_argument("--gamma", default=None, help="'auto' or G1,G2,G3 (default Table III)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.per_product:
        per_product(args.repeats)
        return
    gamma = None if args.gamma is None else args.gamma if args.gamma == "auto" else tuple(
        float(g) for g in args.gamma.split(","))
    print(f"torch {torch.__version__}, 1 thread, batch 64, {args.repeats} pairs of {args.steps}-step blocks per row, "
          f"decoder {args.decoder}, gamma {args.gamma or 'Table III'}")
    print(f"{'scheme':<12}{'part':<6}{'T_max':>6}{'plain ms':>10}{'coded ms':>10}{'ratio':>8}"
          "   (best blocks; median pair ratio)")
    rows = []
    for scheme in args.schemes:
        partitions = ["rxc"] if scheme == "centralized" else ["rxc", "cxr"]
        deadlines = [float("inf")] if scheme == "centralized" else args.deadlines
        for partition in partitions:
            for deadline in deadlines:
                plain, coded, ratio = measure(scheme, partition, deadline, args.steps, args.repeats,
                                              decoder=args.decoder, gamma=gamma)
                rows.append((scheme, partition, deadline, plain, coded, ratio))
                print(f"{scheme:<12}{partition:<6}{deadline:>6}{plain * 1e3:>10.3f}{coded * 1e3:>10.3f}{ratio:>8.2f}")
    ratios = [r for scheme, *_, r in rows if scheme != "centralized"]
    coded_steps = [c for *_, c, _ in rows]
    print(
        f"ratio coded/plain over the {len(ratios)} coded rows: mean {sum(ratios) / len(ratios):.2f}, "
        f"max {max(ratios):.2f}, min {min(ratios):.2f}"
    )
    per_run = 2811 * sum(coded_steps) / len(coded_steps)
    print(
        f"Figs. 13-15 run set: 33 runs x 2811 steps x {1e3 * per_run / 2811:.2f} ms = {33 * per_run / 60:.1f} min "
        f"of SGD steps on one core, {33 * per_run / 120:.1f} min on two (evaluations not included)"
    )


if __name__ == "__main__":
    main()
