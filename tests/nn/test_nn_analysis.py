"""Table II / Fig. 5 helpers: sparsity shares and fits."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from uepmm.nn.analysis import (  # noqa: E402
    LayerSnapshot,
    fit_table,
    gradient_snapshot,
    relu_gaussian_fit,
    sparsity_table,
)


def test_relu_gaussian_fit_recovers_the_parameters():
    rng = np.random.default_rng(0)
    z = rng.normal(-0.24, np.sqrt(2.28), 50_000)  # the paper's layer-2 input fit
    mu, var = relu_gaussian_fit(np.maximum(z, 0.0), tau=1e-4)
    assert mu == pytest.approx(-0.24, abs=0.03)
    assert var == pytest.approx(2.28, rel=0.03)


def test_sparsity_and_gaussian_fits():
    g = np.array([[0.0, 2e-6, -3e-5, 1.0], [5e-6, 0.5, -0.5, 2.0]])
    w = np.array([[1e-5, 0.3], [-0.2, 5e-5]])
    x = np.array([[0.0, 0.0, 1.5, 2.0], [0.0, 1.0, 0.5, 0.0]])
    snap = [LayerSnapshot(1, g, w, x), LayerSnapshot(2, g, w, x)]
    table = sparsity_table(snap)
    assert table[0]["gradients"] == pytest.approx(3 / 8)  # |x| <= 1e-5
    assert table[0]["weights"] == pytest.approx(2 / 4)  # |x| <= 1e-4
    assert table[0]["inputs"] == pytest.approx(4 / 8)
    fits = {(f["kind"], f["layer"]): f for f in fit_table(snap)}
    dense = np.array([-3e-5, 1.0, 0.5, -0.5, 2.0])
    assert fits[("gradient", 1)]["mean"] == pytest.approx(dense.mean())
    assert fits[("gradient", 1)]["variance"] == pytest.approx(dense.var())
    assert fits[("weight", 2)]["entries"] == 2
    assert ("input", 1) not in fits and fits[("input", 2)]["model"] == "relu-gaussian"


def test_gradient_snapshot_captures_the_backward_matrices(blob_data, tiny_mlp):
    from torch import nn

    snap = gradient_snapshot(3, data=blob_data, model_factory=lambda: tiny_mlp(lambda i, o, k: nn.Linear(i, o)))
    assert [s.layer for s in snap] == [1, 2, 3]
    assert snap[0].input.shape == (64, 64) and snap[0].gradient.shape == (64, 48) and snap[0].weight.shape == (64, 48)
    assert snap[2].gradient.shape == (64, 10)
    assert np.all(snap[1].input >= 0)  # ReLU outputs
    # G_3 of cross entropy: (softmax - onehot) / batch, rows sum to zero
    np.testing.assert_allclose(snap[2].gradient.sum(axis=1), 0.0, atol=1e-7)  # float32 rounding
