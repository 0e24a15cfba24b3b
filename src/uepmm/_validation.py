"""Argument checks shared by the public entry points.

Every check raises a ``TypeError`` or ``ValueError`` whose message names the
argument, shows the offending value and says how to fix it, so that bad input
never reaches numpy first.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np

from . import sparse as _sparse


def as_matrix(value: object, name: str, *, allow_sparse: bool = False):
    """Return ``value`` as a finite, non-empty, real 2-D float array (float32 kept).

    A scipy sparse input is returned as a sparse ``csr_array`` / ``csc_array`` with
    ``allow_sparse`` (:func:`uepmm.sparse.as_sparse_matrix`), and densified otherwise.
    Other sparse containers (pydata ``sparse``) are refused with the conversion to use.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a 2-D numeric array, got {type(value).__name__}")
    if is_dask_array(value):
        raise TypeError(
            f"{name} is a dask.array: only backend='dask' keeps it on the cluster "
            f"(coded_matmul(A, B, backend='dask', client=client)); elsewhere pass {name}.compute(), a numpy array"
        )
    if _sparse.is_sparse(value):
        checked = _sparse.as_sparse_matrix(value, name)
        return checked if allow_sparse else checked.toarray()
    if _sparse.looks_sparse(value):
        raise TypeError(
            f"{name} is a {type(value).__module__}.{type(value).__name__}, a sparse type that is not scipy's; "
            f"convert it with scipy.sparse.csr_array({name}) (stays sparse) or np.asarray({name}.todense())"
        )
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a 2-D numeric array: {exc}") from None
    if arr.dtype == bool:
        raise TypeError(f"{name} has dtype bool; pass a real numeric array (e.g. {name}.astype(float))")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} has complex dtype {arr.dtype}; only real matrices are supported")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} has dtype {arr.dtype}; pass a real numeric array (int or float)")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); both dimensions must be >= 1")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or Inf entries; all entries must be finite")
    return arr


def is_dask_array(value: object) -> bool:
    """``value`` is a ``dask.array.Array`` (checked without importing dask)."""
    return type(value).__module__.startswith("dask.array") and hasattr(value, "__dask_graph__")


def positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive_float(value: object, name: str, *, allow_zero: bool = False, allow_inf: bool = False) -> float:
    """Return ``value`` as a float > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if math.isnan(out):
        raise ValueError(f"{name} must be a number, got NaN")
    if math.isinf(out) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {out}")
    if out < 0 or (out == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {out}")
    return out


def probability_vector(value: object, name: str, length: int | None = None) -> np.ndarray:
    """Return ``value`` as a 1-D probability vector (non-negative, sums to 1)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of probabilities, got {value!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of probabilities, got {value!r}")
    if length is not None and arr.size != length:
        raise ValueError(
            f"{name} has {arr.size} entries but there are {length} classes; give one window "
            f"probability per class (e.g. {name}=(0.40, 0.35, 0.25) for 3 classes)"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} entries must be finite and >= 0, got {value!r}")
    if abs(arr.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name} must sum to 1 (a probability vector), got sum {arr.sum():.6g}")
    return arr


def choice(value: object, name: str, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options`` (a string), else raise listing them."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(map(repr, options))}; got {value!r}")
    key = value.lower()
    if key not in options:
        raise ValueError(f"unknown {name} {value!r}; valid values are {', '.join(map(repr, options))}")
    return key


def int_sequence(value: object, name: str) -> tuple[int, ...]:
    """Return ``value`` as a tuple of positive ints."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}")
    try:
        items = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}") from None
    if not items:
        raise ValueError(f"{name} must not be empty")
    for item in items:
        positive_int(item, f"every entry of {name}")
    return tuple(int(x) for x in items)
