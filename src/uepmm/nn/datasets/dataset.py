"""What every loader shares: the :class:`Dataset` split and checks of paths and labels."""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["NUM_CLASSES", "Dataset", "PathLike", "as_path", "check_dir", "class_labels", "read_maybe_gzip"]

PathLike = Union[str, "os.PathLike[str]"]

#: Classes of MNIST and CIFAR-10 (labels ``0..9``).
NUM_CLASSES = 10
_GZIP_MAGIC = b"\x1f\x8b"


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


def as_path(value: object, name: str) -> Path:
    """``value`` as a :class:`~pathlib.Path`; ``TypeError`` naming the argument otherwise."""
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise TypeError(f"{name} must be a path (str or os.PathLike), got {value!r} ({type(value).__name__})")


def check_dir(data_dir: object, name: str) -> Path:
    """``data_dir`` as the path of an existing directory (``FileNotFoundError`` otherwise)."""
    directory = as_path(data_dir, name)
    if not directory.exists():
        raise FileNotFoundError(f"{name} {str(directory)!r} does not exist; pass an existing directory")
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{name} {str(directory)!r} is a file, not a directory; pass the directory that holds the data files"
        )
    return directory


def read_maybe_gzip(path: Path) -> bytes:
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


def class_labels(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` as int64 class indices ``0..9``; ``ValueError`` naming ``where`` otherwise."""
    if arr.ndim != 1:
        raise ValueError(f"{where}: expected 1-D labels, got shape {arr.shape}; check that this is a labels file")
    out = arr.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= NUM_CLASSES):
        raise ValueError(
            f"{where}: labels must be class indices 0..{NUM_CLASSES - 1}, found values "
            f"{int(out.min())}..{int(out.max())}; the file is corrupt or from another data set"
        )
    return out
