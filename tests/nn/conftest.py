"""Fixtures for the torch integration tests.

``uepmm.nn.datasets`` and ``uepmm.nn.models`` are written on another branch; until they
are merged, minimal stand-ins (same names and signatures, defined here) are installed so
that the training and CLI tests run.  Once the real modules exist they are used instead.
"""

from __future__ import annotations

import importlib
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


# ----------------------------------------------------------- stand-ins
def _read_idx(path):
    data = Path(path).read_bytes()
    ndim = data[3]
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _write_idx(path, array, *, compress=None):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    Path(path).write_bytes(header + array.tobytes())
    return Path(path)


class _Dataset(types.SimpleNamespace):
    pass


def _load_mnist(data_dir=None, **_):
    if data_dir is None:
        pytest.skip("the bundled MNIST subset needs the real uepmm.nn.datasets")
    d = Path(data_dir)
    tr_x = _read_idx(d / "train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255
    te_x = _read_idx(d / "t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255
    return _Dataset(
        train_images=tr_x, train_labels=_read_idx(d / "train-labels-idx1-ubyte").astype(np.int64),
        test_images=te_x, test_labels=_read_idx(d / "t10k-labels-idx1-ubyte").astype(np.int64),
        name="MNIST", source=f"MNIST IDX files from {d}",
    )


class _MnistMLP(nn.Module):
    def __init__(self, linear=None):
        super().__init__()
        factory = linear or (lambda i, o, k: nn.Linear(i, o))
        self.dense = nn.ModuleList([factory(784, 100, 0), factory(100, 200, 1), factory(200, 10, 2)])

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        for i, layer in enumerate(self.dense):
            x = layer(x)
            if i < 2:
                x = torch.relu(x)
        return x


def _install_stand_ins() -> None:
    try:
        importlib.import_module("uepmm.nn.datasets")
    except ImportError:
        datasets = types.ModuleType("uepmm.nn.datasets")
        datasets.load_mnist = _load_mnist
        datasets.read_idx = _read_idx
        datasets.write_idx = _write_idx
        sys.modules["uepmm.nn.datasets"] = datasets
    try:
        importlib.import_module("uepmm.nn.models")
    except ImportError:
        models = types.ModuleType("uepmm.nn.models")
        models.MnistMLP = _MnistMLP
        models.dense_layers = lambda model: list(model.dense)
        sys.modules["uepmm.nn.models"] = models


_install_stand_ins()


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
