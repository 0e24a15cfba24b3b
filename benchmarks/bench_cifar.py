"""Benchmark: CIFAR-10 training steps (Table V network) with coded dense layers, on a device.

    PYTHONPATH=src python benchmarks/bench_cifar.py --device cuda [--steps 50]

Times one SGD step (batch 64) of the Table V network with plain dense layers and with
the coded dense layers of every Sec. VII-C scheme (r×c, T_max = 1, fast fidelity) on
random CIFAR-shaped data, and estimates the Fig. 1 run set: 5 schemes x 120 epochs x
781 steps (the first 30 epochs without stragglers cost about a plain step).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from uepmm.nn.models import Cifar10CNN  # noqa: E402
from uepmm.nn.setups import SCHEMES, paper_linear_factory  # noqa: E402


def _model(linear=None):
    return Cifar10CNN(linear=linear)


def _time(model, x, y, steps, device):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--partition", default="rxc")
    parser.add_argument("--smoke-train", metavar="DIR", default=None,
                        help="also run uepmm.nn.training on random CIFAR-shaped data "
                             "(2 epochs, the first clean) into DIR")
    args = parser.parse_args(argv)
    if args.smoke_train:
        _smoke(args.smoke_train, args.device, args.partition)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.rand(64, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (64,), device=device)
    plain = _time(_model().to(device), x, y, args.steps, device)
    print(f"device {device}, torch {torch.__version__}, batch 64, {args.steps} steps")
    print(f"plain step: {plain * 1e3:.2f} ms")
    coded = {}
    for scheme in SCHEMES:
        model = _model(paper_linear_factory("cifar10", scheme, args.partition, 1.0, seed=0)).to(device)
        coded[scheme] = _time(model, x, y, args.steps, device)
        print(f"{scheme:<12} {args.partition} T_max=1: {coded[scheme] * 1e3:.2f} ms "
              f"({coded[scheme] / plain:.2f}x plain)")
    steps = 781
    total = sum(30 * steps * plain + 90 * steps * t for t in coded.values())
    print(f"Fig. 1 run set (5 schemes x 120 epochs x {steps} steps, evaluations not included): {total / 3600:.2f} h")


def _smoke(out_dir, device, partition):
    import types

    import numpy as np

    from uepmm.nn.training import RunSpec, read_run_csv, run_training

    rng = np.random.default_rng(0)
    data = types.SimpleNamespace(
        train_images=rng.random((640, 3, 32, 32), dtype=np.float32), train_labels=rng.integers(0, 10, 640),
        test_images=rng.random((128, 3, 32, 32), dtype=np.float32), test_labels=rng.integers(0, 10, 128),
        name="random CIFAR-shaped", source="generated",
    )
    for scheme in SCHEMES:
        spec = RunSpec("cifar10", scheme, partition, 1.0, epochs=2, clean_epochs=1, eval_every=5, device=device,
                       track_loss=True)
        start = time.perf_counter()
        rows = read_run_csv(run_training(spec, out_dir, data=data, model_factory=_model, force=True,
                                         show_progress=False, log=lambda m: None))
        print(f"smoke {spec.name}: {len(rows)} evaluations, {time.perf_counter() - start:.1f} s, "
              f"recovered {[round(r['recovered'], 2) for r in rows]}, "
              f"coded_loss {[round(r['coded_loss'], 3) for r in rows]}")


if __name__ == "__main__":
    main()
