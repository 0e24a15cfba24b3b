"""Splitting ``A`` and ``B`` into blocks (paper eqs. 3 and 4) and reassembling ``C``.

Sub-products are numbered ``k = 0..K-1``:

* r×c (eq. 3): ``A = [A_1; ...; A_N]`` (row blocks), ``B = [B_1, ..., B_P]`` (column
  blocks), ``P_(n,p) = A_n @ B_p`` with ``k = n * P + p``, and ``C`` is the block matrix of them.
* c×r (eq. 4): ``A = [A_1, ..., A_M]`` (column blocks), ``B = [B_1; ...; B_M]`` (row
  blocks), ``P_m = A_m @ B_m`` with ``k = m``, and ``C = sum_m P_m``.

Dimensions need not divide evenly: block sizes then differ by at most one.  So that
coded combinations of r×c sub-products have one shape, r×c blocks are zero-padded to
the largest block (``A_n`` to ``U_max`` rows, ``B_p`` to ``Q_max`` columns); the padding
rows/columns of a sub-product are zero and are cropped on reassembly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from ._validation import choice, positive_int
from .sparse import as_sliceable, is_sparse
from .sparse import gather as sparse_gather
from .sparse import matmul as sparse_matmul

__all__ = ["Partition", "make_partition", "block_grid", "split_edges", "PARTITIONS"]

PARTITIONS = ("rxc", "cxr")


def split_edges(length: int, parts: int) -> tuple[int, ...]:
    """Edges ``0 = e_0 < e_1 < ... < e_parts = length`` of near-equal consecutive blocks."""
    base, extra = divmod(length, parts)
    sizes = [base + (1 if i < extra else 0) for i in range(parts)]
    return tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)]))


@dataclass(frozen=True)
class Partition:
    """A block layout of ``C = A @ B``; ``kind`` is ``"rxc"`` or ``"cxr"``.

    r×c uses ``row_edges`` (rows of ``A``, ``N + 1`` edges) and ``col_edges`` (columns of
    ``B``, ``P + 1`` edges); c×r uses ``inner_edges`` (``M + 1`` edges of the shared
    dimension).  Unused edges are ``(0, full length)``.

    Examples
    --------
    A c×r layout cuts the shared dimension into ``M`` blocks; the sub-products sum to ``C``:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)), rng.standard_normal((6, 2))
    >>> layout = uepmm.make_partition(A.shape, B.shape, "cxr", 3)
    >>> layout.inner_edges
    (0, 2, 4, 6)
    >>> P = layout.products(A, B)  # P[k] = A[:, cols_k] @ B[rows_k, :]
    >>> P.shape
    (3, 4, 2)
    >>> bool(np.allclose(layout.assemble(list(P)), A @ B))
    True
    """

    kind: str
    a_shape: tuple[int, int]
    b_shape: tuple[int, int]
    row_edges: tuple[int, ...]
    col_edges: tuple[int, ...]
    inner_edges: tuple[int, ...]

    # ----------------------------------------------------------------- sizes
    @property
    def grid(self) -> tuple[int, int]:
        """``(N, P)`` for r×c; ``(M, 1)`` for c×r."""
        if self.kind == "rxc":
            return len(self.row_edges) - 1, len(self.col_edges) - 1
        return len(self.inner_edges) - 1, 1

    @property
    def num_products(self) -> int:
        """``K``: number of sub-products (``N*P`` or ``M``)."""
        rows, cols = self.grid
        return rows * cols

    @property
    def c_shape(self) -> tuple[int, int]:
        return self.a_shape[0], self.b_shape[1]

    @property
    def product_shape(self) -> tuple[int, int]:
        """Shape of one (padded) sub-product, i.e. of one worker packet."""
        if self.kind == "rxc":
            return int(np.max(np.diff(self.row_edges))), int(np.max(np.diff(self.col_edges)))
        return self.c_shape

    @cached_property
    def factor_blocks(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``((a_starts, a_sizes), (b_starts, b_sizes))``: first line and line count of every
        block along the split axes of ``A`` and ``B`` (r×c: ``row_edges``, ``col_edges``;
        c×r: ``inner_edges`` twice), as read-only int arrays built once."""
        out = []
        for edges in (self.row_edges, self.col_edges) if self.kind == "rxc" else (self.inner_edges,) * 2:
            edges = np.asarray(edges, dtype=np.intp)
            starts, sizes = edges[:-1].copy(), np.diff(edges)
            starts.flags.writeable = sizes.flags.writeable = False
            out.append((starts, sizes))
        return out[0], out[1]

    def factors(self, k: int) -> tuple[int, int]:
        """Indices ``(a_block, b_block)`` whose product is sub-product ``k``."""
        if self.kind == "rxc":
            return divmod(k, self.grid[1])
        return k, k

    # ---------------------------------------------------------------- blocks
    def a_blocks(self, A: np.ndarray, perm: np.ndarray | None = None) -> list[np.ndarray]:
        """The blocks of ``A`` (r×c: padded row blocks; c×r: column blocks).

        ``perm`` reorders the split axis first (the importance order): block ``i`` holds
        lines ``perm[e_i:e_(i+1)]``.  Permutation and padding happen in one gather.
        """
        A = as_sliceable(A, 0 if self.kind == "rxc" else 1)
        if self.kind == "rxc":
            return [
                _gather(A, perm, lo, hi, 0, self.product_shape[0]) for lo, hi in zip(self.row_edges, self.row_edges[1:])
            ]
        return [_gather(A, perm, lo, hi, 1, None) for lo, hi in zip(self.inner_edges, self.inner_edges[1:])]

    def b_blocks(self, B: np.ndarray, perm: np.ndarray | None = None) -> list[np.ndarray]:
        """The blocks of ``B`` (r×c: padded column blocks; c×r: row blocks); ``perm`` as in :meth:`a_blocks`."""
        B = as_sliceable(B, 1 if self.kind == "rxc" else 0)
        if self.kind == "rxc":
            return [
                _gather(B, perm, lo, hi, 1, self.product_shape[1]) for lo, hi in zip(self.col_edges, self.col_edges[1:])
            ]
        return [_gather(B, perm, lo, hi, 0, None) for lo, hi in zip(self.inner_edges, self.inner_edges[1:])]

    def products(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """All exact sub-products of ``A @ B`` (no reordering), stacked: ``(K, *product_shape)``."""
        return self.block_products(self.a_blocks(A), self.b_blocks(B))

    def block_products(self, a_blocks: Sequence[np.ndarray], b_blocks: Sequence[np.ndarray]) -> np.ndarray:
        """All exact sub-products from the blocks, stacked: shape ``(K, *product_shape)``."""
        dtype = np.result_type(a_blocks[0].dtype, b_blocks[0].dtype)
        out = np.empty((self.num_products, *self.product_shape), dtype=dtype)
        for k in range(self.num_products):
            i, j = self.factors(k)
            if is_sparse(a_blocks[i]) or is_sparse(b_blocks[j]):
                out[k] = sparse_matmul(a_blocks[i], b_blocks[j])  # a dense sub-product
            else:
                np.matmul(a_blocks[i], b_blocks[j], out=out[k])
        return out

    # ------------------------------------------------------------ reassembly
    def block_slices(self, k: int) -> tuple[slice, slice]:
        """Where sub-product ``k`` sits in ``C`` (r×c); all of ``C`` for c×r."""
        if self.kind == "cxr":
            return slice(None), slice(None)
        n, p = self.factors(k)
        return slice(self.row_edges[n], self.row_edges[n + 1]), slice(self.col_edges[p], self.col_edges[p + 1])

    def crop(self, k: int, product: np.ndarray) -> np.ndarray:
        """Drop the zero padding of (padded) sub-product ``k``."""
        rows, cols = self.block_slices(k)
        if self.kind == "cxr":
            return product
        return product[: rows.stop - rows.start, : cols.stop - cols.start]

    def assemble(self, products: Sequence[np.ndarray | None], dtype=np.float64) -> np.ndarray:
        """``C_hat`` from sub-products; ``None`` (not recovered) counts as a zero block."""
        if len(products) != self.num_products:
            raise ValueError(f"products has {len(products)} entries, expected K = {self.num_products}")
        out = np.zeros(self.c_shape, dtype=dtype)
        for k, product in enumerate(products):
            if product is None:
                continue
            rows, cols = self.block_slices(k)
            out[rows, cols] += self.crop(k, product)
        return out


def _gather(M: np.ndarray, perm: np.ndarray | None, lo: int, hi: int, axis: int, padded: int | None) -> np.ndarray:
    """Lines ``perm[lo:hi]`` (or ``lo:hi``) of ``M`` along ``axis``, zero-padded to ``padded`` lines.

    A scipy sparse ``M`` gives a sparse block (:func:`uepmm.sparse.gather`)."""
    if is_sparse(M):
        return sparse_gather(M, slice(lo, hi) if perm is None else perm[lo:hi], axis, padded)
    count = hi - lo
    if perm is None and (padded is None or padded == count):
        return M[lo:hi] if axis == 0 else M[:, lo:hi]  # a view: nothing to copy
    shape = list(M.shape)
    shape[axis] = count if padded is None else padded
    out = np.zeros(shape, dtype=M.dtype) if shape[axis] > count else np.empty(shape, dtype=M.dtype)
    target = out[:count] if axis == 0 else out[:, :count]
    if perm is None:
        target[...] = M[lo:hi] if axis == 0 else M[:, lo:hi]
    else:
        np.take(M, perm[lo:hi], axis=axis, out=target, mode="clip")  # indices are valid: no buffering
    return out


def block_grid(kind: str, blocks: int | tuple[int, int]) -> tuple[int, int]:
    """The grid ``(N, P)`` (r×c) or ``(M, 1)`` (c×r) that ``blocks`` asks for, validated.

    r×c: ``(N, P)`` or an int ``K = N*N`` (a perfect square); c×r: an int ``M``.  ``K`` is
    the product of the two, known before the matrices are (a job specification needs it).
    """
    kind = choice(kind, "partition", PARTITIONS)
    if kind == "rxc":
        if isinstance(blocks, (tuple, list)):
            if len(blocks) != 2:
                raise ValueError(f"blocks for partition 'rxc' must be (N, P) or an int N*N, got {blocks!r}")
            return (
                positive_int(blocks[0], "blocks[0] (N, row blocks of A)"),
                positive_int(blocks[1], "blocks[1] (P, column blocks of B)"),
            )
        k = positive_int(blocks, "blocks")
        n = int(round(k**0.5))
        if n * n != k:
            raise ValueError(
                f"blocks={k} for partition 'rxc' must be a perfect square (N = P); pass blocks=(N, P) for other layouts"
            )
        return n, n
    if isinstance(blocks, (tuple, list)):
        raise TypeError(f"blocks for partition 'cxr' must be an int M, got {blocks!r}")
    return positive_int(blocks, "blocks"), 1


def _matrix_shape(value: object, name: str) -> tuple[int, int]:
    """``value`` as the shape ``(rows, columns)`` of a non-empty matrix."""
    shape = tuple(value) if isinstance(value, (tuple, list)) else None
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name} must be a matrix shape (rows, columns), got {value!r}")
    return positive_int(shape[0], f"{name}[0]"), positive_int(shape[1], f"{name}[1]")


def make_partition(
    a_shape: tuple[int, int],
    b_shape: tuple[int, int],
    kind: str,
    blocks: int | tuple[int, int],
) -> Partition:
    """Validate and build a :class:`Partition`.

    ``blocks`` is, for r×c, ``(N, P)`` or an int ``K = N*P`` with ``N = P`` (a perfect
    square); for c×r, the number ``M`` of column/row blocks.

    Examples
    --------
    r×c with ``N = 2`` row blocks of ``A`` and ``P = 3`` column blocks of ``B``:

    >>> import uepmm
    >>> layout = uepmm.make_partition((4, 3), (3, 6), "rxc", (2, 3))
    >>> layout.num_products, layout.grid
    (6, (2, 3))
    >>> layout.row_edges, layout.col_edges
    ((0, 2, 4), (0, 2, 4, 6))
    """
    kind = choice(kind, "partition", PARTITIONS)
    a_shape, b_shape = _matrix_shape(a_shape, "a_shape"), _matrix_shape(b_shape, "b_shape")
    if a_shape[1] != b_shape[0]:
        raise ValueError(
            f"shape mismatch: A is {a_shape[0]}x{a_shape[1]} and B is {b_shape[0]}x{b_shape[1]}; "
            f"A's columns ({a_shape[1]}) must equal B's rows ({b_shape[0]})"
        )
    full_rows, full_cols, full_inner = (0, a_shape[0]), (0, b_shape[1]), (0, a_shape[1])
    n, p = block_grid(kind, blocks)
    if kind == "rxc":
        if n > a_shape[0]:
            raise ValueError(
                f"blocks asks for N={n} row blocks but A has only {a_shape[0]} rows; use N <= {a_shape[0]}"
            )
        if p > b_shape[1]:
            raise ValueError(
                f"blocks asks for P={p} column blocks but B has only {b_shape[1]} columns; use P <= {b_shape[1]}"
            )
        return Partition(
            kind, tuple(a_shape), tuple(b_shape), split_edges(a_shape[0], n), split_edges(b_shape[1], p), full_inner
        )
    m = n
    if m > a_shape[1]:
        raise ValueError(
            f"blocks={m} for partition 'cxr' exceeds the inner dimension {a_shape[1]} (A's columns); "
            f"use M <= {a_shape[1]}"
        )
    return Partition(kind, tuple(a_shape), tuple(b_shape), full_rows, full_cols, split_edges(a_shape[1], m))
