"""scipy.sparse inputs: validation, line statistics, blocks and products without densifying.

``A`` and ``B`` may be scipy sparse matrices or arrays (CSR, CSC, COO, ...).  They are
validated into ``csr_array`` / ``csc_array`` (:func:`as_sparse_matrix`), their line statistics
are computed on the stored entries only (:func:`line_stats`), and their blocks are gathered
as sparse blocks (:func:`gather`) unless they are dense enough that a dense block is cheaper
(:data:`DENSE_BLOCK_DENSITY`).  Products are always dense ``np.ndarray`` s (:func:`matmul`):
a packet combines several sub-products, which densifies it anyway.

Non-scipy sparse types (pydata ``sparse.COO`` and the like) are refused with the conversion
to use; nothing here imports scipy.sparse before a sparse input is seen.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "DENSE_BLOCK_DENSITY",
    "is_sparse",
    "looks_sparse",
    "as_sparse_matrix",
    "line_stats",
    "as_sliceable",
    "gather",
    "matmul",
    "product_method",
    "hstack",
    "vstack",
    "frobenius",
    "nbytes",
]

#: A block denser than this is stored dense: a CSR block then holds at least 3/4 of a dense
#: block's bytes (12 bytes per stored float64 entry against 8 per entry), and BLAS is faster.
DENSE_BLOCK_DENSITY = 0.5


def is_sparse(value: object) -> bool:
    """``True`` for a scipy sparse matrix or array (without importing scipy for dense inputs)."""
    if isinstance(value, np.ndarray) or not hasattr(value, "tocsr"):
        return False
    import scipy.sparse

    return bool(scipy.sparse.issparse(value))


def looks_sparse(value: object) -> bool:
    """A sparse container that is not scipy's (pydata ``sparse.COO``, ...): it has ``todense`` or ``tocsr``."""
    return not isinstance(value, np.ndarray) and (hasattr(value, "todense") or hasattr(value, "tocsr"))


def as_sparse_matrix(value: object, name: str):
    """``value`` (scipy sparse) as a canonical ``csr_array`` / ``csc_array`` of float64 (float32 kept).

    CSC stays CSC (column slicing is then cheap), every other format becomes CSR.  Integer
    and bool entries are cast to float64; complex and object entries are refused.
    """
    import scipy.sparse

    dtype = np.dtype(value.dtype)
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(
            f"{name} is a sparse matrix with complex dtype {dtype}; only real matrices are supported: "
            f"multiply the real and imaginary parts separately ({name}.real, {name}.imag)"
        )
    if not (dtype.kind == "b" or np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise TypeError(f"{name} is a sparse matrix with dtype {dtype}; pass real numeric entries (int or float)")
    if len(value.shape) != 2:
        raise ValueError(f"{name} must be 2-D, got {len(value.shape)}-D with shape {value.shape}")
    if 0 in value.shape:
        raise ValueError(f"{name} is empty (shape {value.shape}); both dimensions must be >= 1")
    target = dtype if dtype == np.float32 else np.dtype(np.float64)
    if value.format == "csc":
        out = scipy.sparse.csc_array(value, dtype=target, copy=dtype != target)
    else:
        out = scipy.sparse.csr_array(value, dtype=target, copy=dtype != target or value.format == "csr")
    if not out.has_canonical_format:
        out = out.copy()
        out.sum_duplicates()
    if not np.all(np.isfinite(out.data)):
        bad = int(out.data.size - np.count_nonzero(np.isfinite(out.data)))
        raise ValueError(f"{name} contains {bad} NaN or Inf entries; all entries must be finite")
    return out


def line_stats(M, axis: int, statistic: str) -> np.ndarray:
    """Per-line ``"fro"`` norm or ``"mean_abs"`` of sparse ``M`` (rows for ``axis=1``, columns for 0), in float64."""
    M = M.astype(np.float64, copy=False)
    if statistic == "fro":
        return np.sqrt(np.asarray(M.multiply(M).sum(axis=axis), dtype=np.float64).ravel())
    return np.asarray(abs(M).sum(axis=axis), dtype=np.float64).ravel() / M.shape[axis]


def gather(M, lines: np.ndarray | slice, axis: int, padded: int | None):
    """Lines ``lines`` of sparse ``M`` along ``axis``, with empty lines up to ``padded``.

    The block stays sparse (CSR for row blocks, CSC for column blocks) unless it is denser
    than :data:`DENSE_BLOCK_DENSITY`, in which case it is returned as a dense array.
    """
    M = as_sliceable(M, axis)
    block = M[lines] if axis == 0 else M[:, lines]
    if block is M:
        block = block.copy()
    count = block.shape[axis]
    if padded is not None and padded > count:
        shape = (padded, block.shape[1]) if axis == 0 else (block.shape[0], padded)
        block.resize(shape)  # empty lines at the end: the index arrays only grow by the new lines
    if block.nnz > DENSE_BLOCK_DENSITY * block.shape[0] * block.shape[1]:
        return block.toarray()
    return block


def as_sliceable(M, axis: int):
    """Sparse ``M`` in the format that slices cheaply along ``axis`` (CSR rows, CSC columns); dense as given."""
    if not is_sparse(M):
        return M
    wanted = "csr" if axis == 0 else "csc"
    return M if M.format == wanted else (M.tocsr() if axis == 0 else M.tocsc())


def matmul(left, right) -> np.ndarray:
    """``left @ right`` as a dense ``np.ndarray`` (either factor may be sparse).

    Sparse times sparse is done the way :func:`product_method` expects to be cheapest.
    """
    if not (is_sparse(left) and is_sparse(right)):
        out = left @ right  # sparse times dense (or dense times dense): scipy returns an ndarray
        return out.toarray() if is_sparse(out) else np.asarray(out)
    method = product_method(left, right)
    if method == "spgemm":
        return (left @ right).toarray()
    if method == "dense_left":
        return np.asarray(left.toarray() @ right)
    if method == "dense_right":
        return np.asarray(left.tocsr() @ right.toarray())
    return left.toarray() @ right.toarray()


#: Cost model of :func:`product_method`, in units of one scipy inner-loop multiply-add (about
#: 1 ns): a sparse product output costs this much per entry of ``U×Q`` and per stored entry,
#: and BLAS does this many multiply-adds in the time of one.  Fitted on 1333×4000 @ 4000×1333
#: and 4000×444 @ 444×4000 products at 1% and 10% density (benchmarks/bench_sparse.py).
SPGEMM_PER_ENTRY, SPGEMM_PER_STORED, BLAS_SPEEDUP = 10.0, 50.0, 36.0


def product_method(left, right) -> str:
    """How to multiply two sparse blocks: ``"spgemm"`` (sparse product, densified once),
    ``"dense_left"`` / ``"dense_right"`` (densify one factor, sparse-times-dense), or
    ``"dense"`` (BLAS), whichever the cost model above expects to be cheapest.

    The sparse product's work is ``sum_h nnz(left[:, h]) nnz(right[h, :])``, estimated as
    ``nnz(left) nnz(right) / H``; its output fill as ``1 - exp(-work / (U Q))``.
    """
    (rows, inner), cols = left.shape, right.shape[1]
    entries = float(rows) * cols
    work = float(left.nnz) * right.nnz / max(inner, 1)
    stored = entries * -np.expm1(-work / entries) if entries else 0.0
    costs = {
        "spgemm": work + SPGEMM_PER_ENTRY * entries + SPGEMM_PER_STORED * stored,
        "dense_left": float(right.nnz) * rows + float(rows) * inner + entries,
        "dense_right": float(left.nnz) * cols + float(inner) * cols + entries,
        "dense": 2.0 * rows * inner * cols / BLAS_SPEEDUP + float(rows) * inner + float(inner) * cols + entries,
    }
    return min(costs, key=costs.__getitem__)


def hstack(blocks: Sequence):
    """Blocks side by side, sparse if any block is."""
    if any(is_sparse(b) for b in blocks):
        import scipy.sparse

        return scipy.sparse.hstack(blocks, format="csr")
    return np.hstack(blocks)


def vstack(blocks: Sequence):
    """Blocks on top of each other, sparse if any block is."""
    if any(is_sparse(b) for b in blocks):
        import scipy.sparse

        return scipy.sparse.vstack(blocks, format="csr")
    return np.vstack(blocks)


def frobenius(M) -> float:
    """``||M||_F`` of a dense or sparse matrix."""
    if is_sparse(M):
        data = np.asarray(M.data, dtype=np.float64)
        return float(np.sqrt(np.dot(data, data)))
    return float(np.linalg.norm(M))


def nbytes(M) -> int:
    """Bytes held by a dense array, or by a sparse one's data and index arrays."""
    if is_sparse(M):
        return int(sum(getattr(M, attr).nbytes for attr in ("data", "indices", "indptr") if hasattr(M, attr)))
    return int(M.nbytes)
