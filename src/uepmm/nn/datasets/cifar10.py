"""CIFAR-10 (Table V's data set): the python-pickle ``cifar-10-batches-py`` directory, read and written."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .dataset import NUM_CLASSES, Dataset, PathLike, as_path, check_dir, class_labels

__all__ = [
    "CIFAR10_DIRNAME",
    "CIFAR10_LABEL_NAMES",
    "CIFAR10_TEST_BATCH",
    "CIFAR10_TRAIN_BATCHES",
    "load_cifar10",
    "write_cifar10_batches",
]

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_LABEL_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def _cifar_dir(data_dir: object) -> Path:
    directory = check_dir(data_dir, "data_dir")
    if (directory / CIFAR10_TRAIN_BATCHES[0]).exists() or (directory / CIFAR10_TEST_BATCH).exists():
        return directory
    if (directory / CIFAR10_DIRNAME).is_dir():
        return directory / CIFAR10_DIRNAME
    return directory  # let the missing-file check name what was expected


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError, TypeError) as exc:
        raise ValueError(
            f"{path}: not a readable CIFAR-10 python batch ({type(exc).__name__}: {exc}); the file is "
            "truncated or corrupt, re-extract cifar-10-python.tar.gz"
        ) from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: a CIFAR-10 batch must unpickle to a dict, got {type(batch).__name__}")  # noqa: TRY004 (a bad file)
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        keys = sorted(k.decode() if isinstance(k, bytes) else str(k) for k in batch)
        raise ValueError(
            f"{path}: a CIFAR-10 batch needs the keys b'data' and b'labels', found {keys}"
            + ("; this looks like CIFAR-100, which is not supported" if "fine_labels" in keys else "")
        )
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"{path}: b'data' must be a uint8 array of shape N x 3072 (3 x 32 x 32 per image), got "
            f"{data.dtype} of shape {data.shape}"
        )
    try:
        label_arr = np.asarray(labels)
    except ValueError:
        raise ValueError(f"{path}: b'labels' must be a list of integers") from None
    if label_arr.ndim != 1 or not (label_arr.size == 0 or np.issubdtype(label_arr.dtype, np.integer)):
        raise ValueError(
            f"{path}: b'labels' must be a list of integers, got {label_arr.dtype} of shape {label_arr.shape}"
        )
    if len(label_arr) != len(data):
        raise ValueError(f"{path}: batch has {len(data)} images but {len(label_arr)} labels; the file is corrupt")
    return data, class_labels(label_arr, str(path))


def load_cifar10(data_dir: PathLike) -> Dataset:
    """Load CIFAR-10 from the python-pickle batches as ``N x 3 x 32 x 32`` float32 in ``[0, 1]``.

    ``data_dir`` is the extracted ``cifar-10-batches-py`` directory (``data_batch_1`` ..
    ``data_batch_5``, ``test_batch``) or its parent.  Each batch is a pickle of a dict with
    ``b"data"`` (uint8, ``N x 3072``, channel planes R, G, B of 32x32 row-major) and
    ``b"labels"``.  The batches are read with ``pickle.load(..., encoding="bytes")``, which
    can run arbitrary code: only load files you trust (e.g. the official archive).
    """
    if data_dir is None:
        raise TypeError(
            "load_cifar10 needs data_dir: the directory cifar-10-batches-py (or its parent) "
            "extracted from cifar-10-python.tar.gz; nothing is downloaded"
        )
    directory = _cifar_dir(data_dir)
    names = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batches missing in directory {str(directory)!r}: looked for {', '.join(missing)} "
            f"(also tried the subdirectory {CIFAR10_DIRNAME}); pass the extracted {CIFAR10_DIRNAME} "
            "directory of cifar-10-python.tar.gz or its parent"
        )
    train = [_read_cifar_batch(directory / n) for n in CIFAR10_TRAIN_BATCHES]
    test_x, test_y = _read_cifar_batch(directory / CIFAR10_TEST_BATCH)
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])

    def scale(x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), 3, 32, 32).astype(np.float32) / np.float32(255.0)

    return Dataset(
        scale(train_x),
        train_y,
        scale(test_x),
        test_y,
        name="CIFAR-10",
        source=f"CIFAR-10 python batches from {directory} ({len(train_y):,} train / {len(test_y):,} test images)",
    )


def _cifar_uint8(images: object, labels: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(images)
    if x.dtype != np.uint8:
        raise TypeError(
            f"write_cifar10_batches: {name}_images must be uint8 (0..255), got {x.dtype}; convert "
            "float images in [0, 1] with (images * 255).round().astype(np.uint8)"
        )
    if x.ndim == 4 and x.shape[1:] == (3, 32, 32):
        x = x.reshape(len(x), 3072)
    if x.ndim != 2 or x.shape[1] != 3072:
        raise ValueError(
            f"write_cifar10_batches: {name}_images must have shape N x 3 x 32 x 32 or N x 3072, got {x.shape}"
        )
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"write_cifar10_batches: {name}_labels must be a 1-D integer array, got {y.dtype} of shape {y.shape}"
        )
    if len(y) != len(x):
        raise ValueError(
            f"write_cifar10_batches: {len(x)} {name} images but {len(y)} {name} labels; give one label per image"
        )
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise ValueError(f"write_cifar10_batches: {name}_labels must be in 0..{NUM_CLASSES - 1}")
    return np.ascontiguousarray(x), y.astype(np.int64)


def write_cifar10_batches(
    directory: PathLike,
    train_images: object,
    train_labels: object,
    test_images: object,
    test_labels: object,
) -> Path:
    """Write a ``cifar-10-batches-py``-style directory that :func:`load_cifar10` reads.

    Images are uint8, ``N x 3 x 32 x 32`` or ``N x 3072``; labels integers 0..9.  The
    training images are split into ``data_batch_1`` .. ``data_batch_5`` (so at least 5
    are needed) and the test images go to ``test_batch``; ``batches.meta`` is written
    too.  ``directory`` is created if needed.  Returns ``directory``.
    """
    out = as_path(directory, "directory")
    train_x, train_y = _cifar_uint8(train_images, train_labels, "train")
    test_x, test_y = _cifar_uint8(test_images, test_labels, "test")
    n_batches = len(CIFAR10_TRAIN_BATCHES)
    if len(train_x) < n_batches:
        raise ValueError(
            f"write_cifar10_batches: need at least {n_batches} training images (one per data_batch file), "
            f"got {len(train_x)}"
        )
    out.mkdir(parents=True, exist_ok=True)
    parts = np.array_split(np.arange(len(train_x)), n_batches)
    batches_out = [(n, train_x[p], train_y[p]) for n, p in zip(CIFAR10_TRAIN_BATCHES, parts)]
    batches_out.append((CIFAR10_TEST_BATCH, test_x, test_y))
    for name, x, y in batches_out:
        record = {b"batch_label": name.encode(), b"data": x, b"labels": [int(v) for v in y]}
        with (out / name).open("wb") as fh:
            pickle.dump(record, fh, protocol=2)
    meta = {
        b"label_names": [n.encode() for n in CIFAR10_LABEL_NAMES],
        b"num_cases_per_batch": len(parts[0]),
        b"num_vis": 3072,
    }
    with (out / "batches.meta").open("wb") as fh:
        pickle.dump(meta, fh, protocol=2)
    return out
