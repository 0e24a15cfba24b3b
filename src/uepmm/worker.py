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

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .sparse import hstack, is_sparse, matmul, vstack

__all__ = ["coded_product", "factor_product", "coded_terms", "factor_terms", "PacketTerms"]


@dataclass(frozen=True)
class PacketTerms:
    """A packet as ``sum_t L_t @ R_t``, each ``L_t`` a combination of A blocks and each right operand
    ``R_t`` formed once: :meth:`compute` of any row range of the A side (a Dask task computes its packet
    in row slabs, to stop between two) reuses them instead of forming them again per slab."""

    terms: tuple[tuple[tuple[tuple[Any, Any], ...], str, Any], ...]  # ((A block, coefficient), ...), how, R

    @property
    def rows(self) -> int:
        """Rows of the packet (of the A blocks it reads)."""
        return max(a.shape[0] for left, _, _ in self.terms for a, _ in left)

    def compute(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` of the packet (all of them by default: the blocks are not sliced)."""
        whole = start == 0 and stop is None
        out = None
        for left, how, right in self.terms:
            parts = [_scaled(a if whole else a[start:stop], c) for a, c in left]
            if len(parts) == 1:
                operand = parts[0]
            elif how == "hstack":
                operand = hstack(parts)
            else:
                operand = _sum(parts)
            term = matmul(operand, right)
            out = term if out is None else out + term
        return out


def coded_terms(
    kind: str,
    a_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    b_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    grid: tuple[int, int],
    row: np.ndarray,
) -> PacketTerms:
    """:func:`coded_product`'s packet as :class:`PacketTerms`; only the blocks in the row's support are read."""
    support = np.flatnonzero(row)
    if support.size == 0:
        raise ValueError("coefficient row is all zero: the worker has nothing to compute")
    row = _coefficients(row, a_blocks, b_blocks, int(support[0]), grid, kind)
    if kind == "cxr":
        left = tuple((a_blocks[m], row[m]) for m in support)
        right = b_blocks[int(support[0])] if support.size == 1 else vstack([b_blocks[m] for m in support])
        return PacketTerms(((left, "hstack", right),))
    cols = grid[1]
    terms = []
    for n in np.unique(support // cols):
        ps = support[support // cols == n] % cols
        terms.append((((a_blocks[n], 1),), "sum", _sum([_scaled(b_blocks[p], row[n * cols + p]) for p in ps])))
    return PacketTerms(tuple(terms))


def coded_product(
    kind: str,
    a_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    b_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    grid: tuple[int, int],
    row: np.ndarray,
) -> np.ndarray:
    """The packet for coefficient row ``row``; only the blocks in its support are read."""
    return coded_terms(kind, a_blocks, b_blocks, grid, row).compute()


def factor_terms(
    a_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    b_blocks: Sequence[np.ndarray] | Mapping[int, np.ndarray],
    alpha: np.ndarray,
    beta: np.ndarray,
) -> PacketTerms:
    """:func:`factor_product`'s packet as :class:`PacketTerms` (``W_B`` formed once)."""
    dtype = np.result_type(a_blocks[int(np.flatnonzero(alpha)[0])].dtype, b_blocks[int(np.flatnonzero(beta)[0])].dtype)
    alpha, beta = np.asarray(alpha, dtype=dtype), np.asarray(beta, dtype=dtype)  # float32 stays float32
    lefts = _padded([a_blocks[i] for i in np.flatnonzero(alpha)])
    rights = _padded([b_blocks[j] for j in np.flatnonzero(beta)])
    right = _sum([_scaled(block, b) for b, block in zip(beta[np.flatnonzero(beta)], rights)])
    return PacketTerms(((tuple(zip(lefts, alpha[np.flatnonzero(alpha)])), "sum", right),))


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
    return factor_terms(a_blocks, b_blocks, alpha, beta).compute()


def _scaled(block: Any, c: Any) -> Any:
    """``c * block``, without a copy when ``c`` is 1 (the same numbers)."""
    return block if c == 1 else c * block


def _sum(parts: list) -> Any:
    """``parts[0] + parts[1] + ...``, the first not copied when it stands alone."""
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out


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
