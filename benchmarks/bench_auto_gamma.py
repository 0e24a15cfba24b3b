"""Benchmark: a training step with ``gamma="auto"`` against the same step with a fixed ``Γ``.

    PYTHONPATH=src python benchmarks/bench_auto_gamma.py [--scheme ew] [--partition rxc] [--deadline 1]
        [--steps 300] [--warmup 100] [--repeats 3] [--penalty 0]

Trains the MNIST network of Fig. 12 as ``uepmm train`` does (bundled subset, 78 steps per epoch,
batch 64, SGD lr 0.01, the epoch's shuffle and thresholds; one torch thread, ``fidelity="fast"``,
the LMMSE decoder) for ``--steps`` steps, once with Table III's ``Γ`` and
once with ``gamma="auto"`` (the design cache emptied first, so every run pays its own designs),
``--repeats`` times, alternating.  Per run it reports the median, mean and largest CPU time of a
step after the first ``--warmup`` steps (``time.process_time``: other processes on the cores
inflate it less than wall time), and the Γ designs made (:func:`uepmm.design.auto` cache
misses) in total and after the warm-up.

``--cells``: from the class energies of every product of one auto run, the designs that other
keys would make: the quarter-decade grid without the floor (as before the floor), with it
(today), a half-decade grid, and a per-product-stream hysteresis (keep a stream's design until
a ratio moves more than a band from its cell).

``--hit``: only the CPU time of ``auto_code`` when its design is cached.

``--penalty N``: for ``N`` products of the auto run (drawn with seed 1, half of them with a
class below ``10**AUTO_FLOOR`` of the largest when there are such), the expected loss of the
cached design (made for the product's energy key) over that of a design for its exact class
energies, both evaluated at the exact energies by :func:`uepmm.design.gamma_loss` (same
Monte Carlo draws as the design).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from uepmm.design import auto  # noqa: E402
from uepmm.nn import lean  # noqa: E402
from uepmm.nn.coded_linear import set_epoch  # noqa: E402
from uepmm.nn.models import MnistMLP  # noqa: E402
from uepmm.nn.setups import paper_linear_factory, scheme_coding  # noqa: E402
from uepmm.nn.training import _epoch_order, load_dataset  # noqa: E402


def train(data, scheme, partition, deadline, gamma, steps, seed=0, energies=None):
    """Per-step CPU times and design counts of one run (``energies``: a list to record
    ``(step, product stream, class energies)`` of every designed-for product in; the stream is
    the operand shapes, distinct for the five products of this network)."""
    X, Y = torch.as_tensor(data.train_images), torch.as_tensor(data.train_labels)
    torch.manual_seed(seed)
    model = MnistMLP(linear=paper_linear_factory("mnist", scheme, partition, deadline, seed=seed,
                                                  decoder="lmmse", gamma=gamma))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    per_epoch = len(Y) // 64
    auto._designed.cache_clear()
    worker_start = _worker_cpu()
    times, walls, designs = np.empty(steps), np.empty(steps), np.zeros(steps, dtype=int)
    waits = np.zeros(steps, dtype=int)
    original = lean._class_aware_encoding
    step = [0]
    if energies is not None:
        def recording(plan, A, B, layout, order, scores, rng):
            out = original(plan, A, B, layout, order, scores, rng)
            classes, e = out[0], out[3]
            energies.append((step[0], (tuple(A.shape), tuple(B.shape)), auto.class_energies(e, classes)))
            return out
        lean._class_aware_encoding = recording
    try:
        for s in range(steps):
            step[0] = s
            if s % per_epoch == 0:  # as run_training: the epoch drives the thresholds, one shuffle per epoch
                set_epoch(model, s // per_epoch)
                order = torch.from_numpy(_epoch_order(seed, s // per_epoch, len(Y)))
            idx = order[(s % per_epoch) * 64:(s % per_epoch + 1) * 64]
            x, y = X[idx], Y[idx]
            before = auto._designed.cache_info()
            start, wall = time.process_time(), time.perf_counter()
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            times[s], walls[s] = time.process_time() - start, time.perf_counter() - wall
            after = auto._designed.cache_info()
            designs[s] = (after.misses - after.ahead) - (before.misses - before.ahead)  # designed in the step
            waits[s] = after.waited - before.waited
    finally:
        lean._class_aware_encoding = original
    info = auto._designed.cache_info()
    return times, designs, dict(walls=walls, waits=waits, ahead=info.ahead, speculative=info.speculative,
                                worker_cpu=_worker_cpu() - worker_start)


def _worker_cpu():
    """CPU seconds of the design worker process so far (Linux /proc; 0 without one)."""
    worker = auto._designed._worker
    if worker is None:
        return 0.0
    try:
        fields = Path(f"/proc/{worker.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def penalty(config, energies, n, rng):
    """Relative excess loss of the key's design over the exact energies' design, for ``n`` products."""
    from uepmm.design import design_gamma, gamma_loss

    floor = 10.0 ** getattr(auto, "AUTO_FLOOR", -12)
    energies = [e for _, _, e in energies]
    low = [i for i, e in enumerate(energies) if e.min() < floor * e.max()]
    picks = list(rng.choice(len(energies), n - min(n // 2, len(low)), replace=False))
    if low:
        picks += list(rng.choice(low, min(n // 2, len(low)), replace=False))
    counts = config.counts
    common = dict(workers=config.workers, latency=config.latency, deadline=config.deadline,
                  omega=config.omega_value, partition=config.partition, decoder="lmmse", trials=auto.AUTO_TRIALS)
    out = []
    for i in picks:
        e = energies[i] / energies[i].max()
        exact = design_gamma(config.code_object.name, counts, e, **common).gamma
        keyed = design_gamma(config.code_object.name, counts, auto.energy_key(e), **common).gamma
        best = gamma_loss(config.code_object.name, counts, exact, e, **common)
        used = gamma_loss(config.code_object.name, counts, keyed, e, **common)
        out.append(used / best - 1.0)
        print(f"  log10 ratios {np.round(np.log10(e), 2).tolist()}: loss {best:.4f} (exact design), "
              f"{used:.4f} (cached design), excess {used / best - 1:+.4f}")
    return np.array(out)


def hit_cost(scheme, partition, deadline, number=20000):
    """CPU time of :func:`uepmm.design.auto.auto_code` on a cache hit (nine sub-products, classes (1, 2, 6))."""
    from uepmm.importance import classes_by_rank

    config = scheme_coding(scheme, partition, deadline, decoder="lmmse", gamma="auto")
    table = classes_by_rank(-np.arange(9.0), config.counts)
    energies = np.array([1.0, 0.3, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02, 0.01])
    auto.auto_code(config, table, energies)  # the design
    best = math.inf
    for _ in range(5):
        start = time.process_time()
        for _ in range(number):
            auto.auto_code(config, table, energies)
        best = min(best, (time.process_time() - start) / number)
    return best


def _cells(ratios, step, floor):
    """Distinct keys of the log10 class ratios on a grid of ``step`` decades floored at ``floor``."""
    return {tuple(np.maximum(np.round(np.maximum(r, floor) / step) * step, floor)) for r in ratios}


def cells(records, warmup):
    """Designs a run would make under other keys, from its recorded class energies."""
    steps = np.array([s for s, _, _ in records])
    ratios = [np.log10(e / e.max()) for _, _, e in records]
    early = [r for s, r in zip(steps, ratios) if s < warmup]
    print(f"{len(records)} designed-for products; designs (after step {warmup}) under other keys:")
    for step, floor in ((0.25, -12.0), (0.25, -3.0), (0.5, -3.0), (0.5, -12.0), (1.0, -12.0), (2.0, -12.0)):
        every, before = _cells(ratios, step, floor), _cells(early, step, floor)
        print(f"  grid {step} decades, floor 10^{floor:g}: {len(every)} ({len(every - before)})")
    for band in (0.25, 0.5):  # per product stream: keep the design until a ratio moves more than band
        held, designs, first, switches = {}, set(), set(), 0
        for (s, stream, _), r in zip(records, ratios):
            r = np.maximum(r, -3.0)
            h = held.get(stream)
            if h is None or np.max(np.abs(r - np.array(h))) > band:
                h = held[stream] = tuple(np.round(r / 0.25) * 0.25)
                switches += 1
                (first if s < warmup else designs).add(h)
        print(f"  per-stream hysteresis, band {band} decades (cells of 0.25, floor 10^-3): {switches} switches, "
              f"{len(first | designs)} designs ({len(designs - first)})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", default="ew", choices=("now", "ew"))
    parser.add_argument("--partition", default="rxc", choices=("rxc", "cxr"))
    parser.add_argument("--deadline", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--penalty", type=int, default=0, help="products to check the cached design's loss on")
    parser.add_argument("--cells", action="store_true", help="designs under other keys, from the run's energies")
    parser.add_argument("--hit", action="store_true", help="only time auto_code on a cache hit")
    parser.add_argument("--ahead", action="store_true",
                        help="designs of the neighbouring key cells made ahead in a worker process "
                             "(uepmm.nn.lean.AHEAD = True)")
    parser.add_argument("--resolution", type=float, default=None,
                        help="try another key resolution in decades (sets uepmm.design.auto.AUTO_RESOLUTION)")
    parser.add_argument("--floor", type=float, default=None,
                        help="try another key floor in decades (sets uepmm.design.auto.AUTO_FLOOR)")
    args = parser.parse_args(argv)
    if args.resolution is not None:
        auto.AUTO_RESOLUTION = args.resolution
    if args.floor is not None:
        auto.AUTO_FLOOR = args.floor
    torch.set_num_threads(1)
    if args.hit:
        print(f"auto_code on a cache hit: {hit_cost(args.scheme, args.partition, args.deadline) * 1e6:.1f} us "
              "(best of 5 blocks of 20,000)")
        return
    data = load_dataset("mnist")
    print(f"{args.scheme} {args.partition} T={args.deadline}, LMMSE, {args.steps} steps, warm-up {args.warmup}, "
          f"key: {auto.AUTO_RESOLUTION} decades, floor 10^{getattr(auto, 'AUTO_FLOOR', -12):g}")
    lean.AHEAD = args.ahead
    print(f"designs ahead: {'on' if args.ahead else 'off'} (margin {auto.AHEAD_MARGIN} decades)")
    w = args.warmup
    ratios = {k: [] for k in ("median CPU", "mean CPU", "median wall", "mean wall")}
    for r in range(args.repeats):
        row = {}
        for gamma in (None, "auto"):
            times, designs, more = train(data, args.scheme, args.partition, args.deadline, gamma, args.steps)
            after, wall = times[w:] * 1e3, more["walls"][w:] * 1e3
            row[gamma] = (np.median(after), after.mean(), np.median(wall), wall.mean())
            print(f"  run {r} gamma={gamma or 'Table III'}: after warm-up CPU median {np.median(after):.2f} ms, "
                  f"mean {after.mean():.2f} ms, max {after.max():.1f} ms; wall median {np.median(wall):.2f} ms, "
                  f"mean {wall.mean():.2f} ms, max {wall.max():.1f} ms; designed in the step {designs.sum()} "
                  f"({designs[w:].sum()} after warm-up), waited for one made ahead {more['waits'].sum()} "
                  f"({more['waits'][w:].sum()}); made ahead {more['speculative']} (used {more['ahead']}), "
                  f"worker CPU {more['worker_cpu']:.2f} s", flush=True)
        for i, k in enumerate(ratios):
            ratios[k].append(row["auto"][i] / row[None][i])
    for k, v in ratios.items():
        if v:
            print(f"{k}-step ratio auto / fixed per repeat: {np.round(v, 3).tolist()}, median {np.median(v):.3f}")
    if args.penalty or args.cells:
        energies: list = []
        _, designs, _ = train(data, args.scheme, args.partition, args.deadline, "auto", args.steps,
                              energies=energies)
        print(f"gamma=auto, {args.steps} steps: {designs.sum()} designs ({designs[w:].sum()} after step {w})")
    if args.cells:
        cells(energies, w)
    if args.penalty:
        config = scheme_coding(args.scheme, args.partition, args.deadline, decoder="lmmse", gamma="auto")
        excess = penalty(config, energies, args.penalty, np.random.default_rng(1))
        print(f"excess loss of the cached design over {len(excess)} products: median {np.median(excess):+.4f}, "
              f"max {excess.max():+.4f}")


if __name__ == "__main__":
    main()
