"""Sparsity of the back-propagation matrices (paper Sec. VII-B: Table II and Fig. 5).

:func:`gradient_snapshot` trains the MNIST network centrally (SGD, lr 0.01, batch 64,
no sparsification) up to a mini-batch iteration and records, at that iteration, for
every dense layer ``i``: the gradient ``G_(i+1)`` that enters its backward products
(the gradient of the loss with respect to the layer's output, batch × out), its weights
``V_i`` and its input ``X_i`` (batch × in).  :func:`sparsity_table` gives Table II (the
share of entries with ``|x| <= τ``, ``τ = 1e-5`` for gradients and ``1e-4`` for weights
and inputs), :func:`fit_table` the fits of Fig. 5 (a Gaussian fitted to the non-sparse
gradients and weights; for inputs, which come out of a ReLU, a "ReLU-Gaussian"
``max(0, Z)``, ``Z ~ N(μ, σ²)``, fitted by maximum likelihood with the entries
``<= τ`` censored at 0).  The first layer's input is the image itself, not a ReLU
output: the paper leaves it out ("-"); it is reported here for completeness.

With the bundled 5k MNIST subset an epoch is 62 iterations, so iteration 389 falls in
the seventh pass over those images instead of the first epoch of full MNIST.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import positive_int
from ..experiments.plotting import new_figure
from ..experiments.tables import write_csv

__all__ = [
    "PAPER_TAUS",
    "LayerSnapshot",
    "analyze_gradients",
    "fit_table",
    "gradient_snapshot",
    "relu_gaussian_fit",
    "sparsity_table",
]

#: Sec. VII-B thresholds: gradients 1e-5, weights and inputs 1e-4.
PAPER_TAUS = {"gradient": 1e-5, "weight": 1e-4, "input": 1e-4}


@dataclass(frozen=True)
class LayerSnapshot:
    """The three matrices of one dense layer at the recorded iteration (numpy float64)."""

    layer: int  # 1-based, as Table II
    gradient: np.ndarray  # G_(i+1): batch x out
    weight: np.ndarray  # V_i: in x out (the paper's orientation)
    input: np.ndarray  # X_i: batch x in


def gradient_snapshot(
    iteration: int = 389,
    *,
    data: Any,
    model_factory: Callable[[], nn.Module] | None = None,
    seed: int = 0,
    lr: float = 0.01,
    batch_size: int = 64,
) -> list[LayerSnapshot]:
    """Train centrally and capture every dense layer's matrices at mini-batch ``iteration`` (1-based)."""
    iteration = positive_int(iteration, "iteration")
    torch.manual_seed(seed)
    if model_factory is None:
        from .models import MnistMLP

        model = MnistMLP()
    else:
        model = model_factory()
    layers = _dense_layers(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    images = torch.as_tensor(data.train_images)
    labels = torch.as_tensor(data.train_labels)
    steps_per_epoch = len(labels) // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"only {len(labels)} training images for batch size {batch_size}")
    captured: dict[int, dict[str, np.ndarray]] = {}
    handles = []
    for index, layer in enumerate(layers):

        def forward_hook(module, inputs, output, index=index):
            slot = captured.setdefault(index, {})
            slot["input"] = inputs[0].detach().double().numpy().copy()
            if output.requires_grad:  # G_(i+1): the gradient with respect to this layer's output

                def grad_hook(grad, slot=slot):
                    slot["gradient"] = grad.detach().double().numpy().copy()

                output.register_hook(grad_hook)

        handles.append(layer.register_forward_hook(forward_hook))
    done = 0
    epoch = 0
    try:
        while done < iteration:
            order = torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(len(labels)))
            for b in range(steps_per_epoch):
                idx = order[b * batch_size : (b + 1) * batch_size]
                captured.clear()
                optimizer.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(model(images[idx]), labels[idx]).backward()
                done += 1
                if done == iteration:
                    break
                optimizer.step()
            epoch += 1
    finally:
        for handle in handles:
            handle.remove()
    return [
        LayerSnapshot(
            layer=i + 1,
            gradient=captured[i]["gradient"],
            weight=layer.weight.detach().double().numpy().T.copy(),
            input=captured[i]["input"],
        )
        for i, layer in enumerate(layers)
    ]


def _dense_layers(model: nn.Module) -> list[nn.Module]:
    try:
        from .models import dense_layers
    except ImportError:  # only the models module is missing: every nn.Linear, in order
        return [m for m in model.modules() if isinstance(m, nn.Linear)]
    return dense_layers(model)


def _sparsity(values: np.ndarray, tau: float) -> float:
    return float(np.mean(np.abs(values) <= tau))


def sparsity_table(snapshot: list[LayerSnapshot], taus: dict[str, float] = PAPER_TAUS) -> list[dict[str, Any]]:
    """Table II: per layer, the share of entries with ``|x| <= τ`` (fractions in [0, 1])."""
    return [
        {
            "layer": s.layer,
            "gradients": _sparsity(s.gradient, taus["gradient"]),
            "weights": _sparsity(s.weight, taus["weight"]),
            "inputs": _sparsity(s.input, taus["input"]),
            "input_is_relu_output": s.layer > 1,
        }
        for s in snapshot
    ]


def relu_gaussian_fit(values: np.ndarray, tau: float = 0.0) -> tuple[float, float]:
    """Maximum-likelihood ``(μ, σ²)`` of ``max(0, Z)``, ``Z ~ N(μ, σ²)``, entries ``<= τ`` censored at 0."""
    from scipy import optimize, special, stats

    values = np.asarray(values, dtype=np.float64).ravel()
    positive = values[values > tau]
    zeros = values.size - positive.size
    if positive.size < 2:
        raise ValueError("relu_gaussian_fit needs at least two entries above the threshold")

    def negative_log_likelihood(params: np.ndarray) -> float:
        mu, log_sigma = params
        sigma = math.exp(log_sigma)
        ll = zeros * special.log_ndtr(-mu / sigma) if zeros else 0.0
        ll += float(np.sum(stats.norm.logpdf(positive, mu, sigma)))
        return -ll

    start = np.array([float(positive.mean()), math.log(float(positive.std()) + 1e-12)])
    result = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead",
                               options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    mu, log_sigma = result.x
    return float(mu), float(math.exp(log_sigma) ** 2)


def fit_table(snapshot: list[LayerSnapshot], taus: dict[str, float] = PAPER_TAUS) -> list[dict[str, Any]]:
    """Fig. 5's fits: one row per (kind, layer) with the model, ``mean``, ``variance`` and
    the number of entries fitted."""
    rows = []
    for s in snapshot:
        for kind, values in (("gradient", s.gradient), ("weight", s.weight)):
            dense = values[np.abs(values) > taus[kind]]
            rows.append({"kind": kind, "layer": s.layer, "model": "gaussian", "mean": float(dense.mean()),
                         "variance": float(dense.var()), "entries": int(dense.size)})
        if s.layer > 1:
            mu, var = relu_gaussian_fit(s.input, taus["input"])
            rows.append({"kind": "input", "layer": s.layer, "model": "relu-gaussian", "mean": mu,
                         "variance": var, "entries": int(s.input.size)})
    return rows


def analyze_gradients(
    out_dir: str | os.PathLike,
    *,
    iteration: int = 389,
    data: Any,
    seed: int = 0,
    model_factory: Callable[[], nn.Module] | None = None,
) -> dict[str, Path]:
    """Write ``table2.csv``, ``fig5.csv`` and ``fig5.png`` for mini-batch ``iteration``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    snapshot = gradient_snapshot(iteration, data=data, model_factory=model_factory, seed=seed)
    table = sparsity_table(snapshot)
    fits = fit_table(snapshot)
    paths = {"table2": out / "table2.csv", "fig5_csv": out / "fig5.csv", "fig5": out / "fig5.png"}
    write_csv(paths["table2"], [{**row, "iteration": iteration} for row in table])
    write_csv(paths["fig5_csv"], [{**row, "iteration": iteration} for row in fits])
    _plot(snapshot, fits, iteration, paths["fig5"])
    return paths


def _plot(snapshot: list[LayerSnapshot], fits: list[dict[str, Any]], iteration: int, path: Path) -> None:
    from scipy import stats

    fig = new_figure((11, 8), required=True)
    axes = fig.subplots(2, 2)
    by = {(f["kind"], f["layer"]): f for f in fits}
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]

    ax = axes[0, 0]
    g1 = snapshot[0].gradient
    dense = g1[np.abs(g1) > PAPER_TAUS["gradient"]]
    ax.hist(dense, bins=80, density=True, color="lightgray", label="non-sparse entries")
    f = by[("gradient", 1)]
    x = np.linspace(dense.min(), dense.max(), 400)
    ax.plot(x, stats.norm.pdf(x, f["mean"], math.sqrt(f["variance"])), "k-", label="Gaussian fit")
    ax.set_title("(a) layer 1 gradient and its Gaussian fit")
    ax.legend()

    for ax, kind, title in ((axes[0, 1], "gradient", "(b) gradients"), (axes[1, 0], "weight", "(c) weights")):
        for s, colour in zip(snapshot, colours):
            f = by[(kind, s.layer)]
            sd = math.sqrt(f["variance"])
            x = np.linspace(f["mean"] - 4 * sd, f["mean"] + 4 * sd, 400)
            ax.plot(x, stats.norm.pdf(x, f["mean"], sd), color=colour,
                    label=f"layer {s.layer}: N({f['mean']:.2e}, {f['variance']:.2e})")
        ax.set_title(f"{title}: Gaussian fits of the non-sparse entries")
        ax.legend(fontsize=8)

    ax = axes[1, 1]
    for s, colour in zip(snapshot[1:], colours[1:]):
        f = by[("input", s.layer)]
        positive = s.input[s.input > PAPER_TAUS["input"]]
        ax.hist(positive, bins=60, density=True, alpha=0.3, color=colour)
        sd = math.sqrt(f["variance"])
        x = np.linspace(1e-6, positive.max(), 400)
        ax.plot(x, stats.norm.pdf(x, f["mean"], sd), color=colour,
                label=f"layer {s.layer}: ReLU(N({f['mean']:.2e}, {f['variance']:.2e}))")
    ax.set_title("(d) inputs (ReLU outputs): positive part and ReLU-Gaussian fit")
    ax.legend(fontsize=8)
    fig.suptitle(f"MNIST network at mini-batch iteration {iteration} (cf. paper Fig. 5)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
