"""What one worker computes: its coded packet ``Y_w = sum_k g_w[k] P_k`` (docs/design.md §3).

These are pure functions of the blocks a worker holds and its coefficients, so the same
code runs in the simulated backend and on remote (Dask) workers.

* c×r: one product of concatenated blocks, ``[g_1 A_m1, g_2 A_m2, ...] @ [B_m1; B_m2; ...]``.
* r×c: grouped by row block, ``sum_n A_n @ (sum_p g_np B_p)``: one product per distinct ``n``.
* factor form (eq. 11, valid windows only): ``(sum_n alpha_n A_n) @ (sum_p beta_p B_p)``.

Blocks may be scipy sparse (:mod:`uepmm.sparse`); a packet is always a dense ``np.ndarray``
of the blocks' result type: float32 blocks give a float32 packet (the coefficients are
rounded to float32 first; numpy would otherwise promote the product to float64 and double
the packet's bytes).  docs/performance.md, "Float32 end to end", has the accuracy.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .sparse import hstack, is_sparse, matmul, vstack

__all__ = ["coded_product", "factor_product"]


def coded_product(
    kind: str,
    a_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    b_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    grid: tuple[int, int],
    row: np.ndarray,
) -> np.ndarray:
    """The packet for coefficient row ``row``; only the blocks in its support are read."""
    support = np.flatnonzero(row)
    if support.size == 0:
        raise ValueError("coefficient row is all zero: the worker has nothing to compute")
    row = _coefficients(row, a_blocks, b_blocks, int(support[0]), grid, kind)
    if kind == "cxr":
        if support.size == 1:
            m = int(support[0])
            return matmul(row[m] * a_blocks[m], b_blocks[m])
        left = hstack([row[m] * a_blocks[m] for m in support])
        right = vstack([b_blocks[m] for m in support])
        return matmul(left, right)
    cols = grid[1]
    out = None
    for n in np.unique(support // cols):
        ps = support[support // cols == n] % cols
        right = sum(row[n * cols + p] * b_blocks[p] for p in ps)
        term = matmul(a_blocks[n], right)
        out = term if out is None else out + term
    return out


def factor_product(
    a_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    b_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    alpha: np.ndarray,
    beta: np.ndarray,
) -> np.ndarray:
    """The eq. (11) packet ``W_A W_B`` with ``W_A = sum alpha_i A_i`` and ``W_B = sum beta_j B_j``.

    Blocks of unequal size (c×r inner blocks of ``H / M`` rounded, as MatDot sums them) are
    zero-padded to the largest at the end, which leaves every ``A_i B_j`` unchanged.
    """
    dtype = np.result_type(a_blocks[int(np.flatnonzero(alpha)[0])].dtype, b_blocks[int(np.flatnonzero(beta)[0])].dtype)
    alpha, beta = np.asarray(alpha, dtype=dtype), np.asarray(beta, dtype=dtype)  # float32 stays float32
    lefts = [a_blocks[i] for i in np.flatnonzero(alpha)]
    rights = [b_blocks[j] for j in np.flatnonzero(beta)]
    lefts, rights = _padded(lefts), _padded(rights)
    left = sum(a * block for a, block in zip(alpha[np.flatnonzero(alpha)], lefts))
    right = sum(b * block for b, block in zip(beta[np.flatnonzero(beta)], rights))
    return matmul(left, right)


def _padded(blocks: list) -> list:
    """The blocks zero-padded at the end to their largest shape (themselves when all agree)."""
    shape = tuple(max(b.shape[d] for b in blocks) for d in range(2))
    if all(b.shape == shape for b in blocks):
        return blocks
    out = []
    for b in blocks:
        if b.shape == shape:
            out.append(b)
        elif is_sparse(b):
            grown = b.copy()
            grown.resize(shape)
            out.append(grown)
        else:
            grown = np.zeros(shape, dtype=b.dtype)
            grown[: b.shape[0], : b.shape[1]] = b
            out.append(grown)
    return out


def _coefficients(row: np.ndarray, a_blocks, b_blocks, k: int, grid: tuple[int, int], kind: str) -> np.ndarray:
    """``row`` in the result type of the blocks of sub-product ``k`` (float32 stays float32)."""
    i, j = (k, k) if kind == "cxr" else divmod(k, grid[1])
    return np.asarray(row, dtype=np.result_type(a_blocks[i].dtype, b_blocks[j].dtype))
