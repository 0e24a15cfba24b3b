"""Fixtures for the torch integration tests: a tiny MLP factory and Gaussian-blob data sets."""

from __future__ import annotations

import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


# ------------------------------------------------------------ fixtures
class TinyMLP(nn.Module):
    """A small 3-dense-layer network built from a linear factory (like MnistMLP)."""

    def __init__(self, linear, sizes=(64, 48, 32, 10)):
        super().__init__()
        self.dense = nn.ModuleList(linear(i, o, k) for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])))

    def forward(self, x):
        for i, layer in enumerate(self.dense):
            x = layer(x)
            if i < len(self.dense) - 1:
                x = torch.relu(x)
        return x


def blobs(n_train: int, n_test: int, seed: int = 0, dim: int = 64, spread: float = 0.3):
    """Ten well-separated Gaussian classes in [0, 1]^dim, as a data set object."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (10, dim))

    def make(n):
        y = rng.integers(0, 10, n)
        x = np.clip(centers[y] + rng.normal(0, spread, (n, dim)), 0, 1).astype(np.float32)
        return x, y.astype(np.int64)

    tr_x, tr_y = make(n_train)
    te_x, te_y = make(n_test)
    return types.SimpleNamespace(train_images=tr_x, train_labels=tr_y, test_images=te_x, test_labels=te_y,
                                 name="blobs", source="generated Gaussian blobs")


@pytest.fixture
def tiny_mlp():
    return TinyMLP


@pytest.fixture(scope="session")
def blob_data():
    return blobs(1280, 400)


@pytest.fixture(scope="session")
def learning_data():
    """Blobs with 50 SGD steps per epoch: with fewer, the c×r UEP runs (which keep
    back-propagating through the same few most important units) are still near chance
    after two epochs for some seeds."""
    return blobs(3200, 400)
