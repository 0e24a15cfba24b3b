"""What every code produces: one coefficient row per worker (DESIGN.md §2).

Worker ``w`` computes the packet ``Y_w = sum_k G[w, k] P_k``; the support of row ``w`` is
the window it drew.  The optional factor form of paper eq. (11) sends
``W_A = sum_n alpha_n A_n`` and ``W_B = sum_p beta_p B_p`` instead; it is valid only when
the support is a rectangle ``{rows} × {cols}`` of the r×c grid (then ``G[w] = alpha ⊗ beta``),
or a single sub-product in c×r.  :func:`to_factor_form` enforces that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..importance import ClassTable
from ..partition import Partition

__all__ = ["Encoding", "Code", "to_factor_form"]


@dataclass(frozen=True)
class Encoding:
    """The code's output for one job.

    ``generator``: ``(W, K)`` coefficient rows.  ``windows``: the window each worker drew
    (class index for NOW/EW, the sub-product for uncoded/repetition, 0 for MDS).
    ``factors``: for the factor form, per worker ``(alpha, beta)`` over ``A``/``B`` blocks.
    """

    generator: np.ndarray
    windows: np.ndarray
    factors: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None

    @property
    def workers(self) -> int:
        return int(self.generator.shape[0])

    @property
    def num_products(self) -> int:
        return int(self.generator.shape[1])

    def support(self, worker: int) -> np.ndarray:
        """Sub-products that worker ``worker``'s packet combines."""
        return np.flatnonzero(self.generator[worker])


class Code:
    """A linear code over the ``K`` sub-products; subclasses draw the coefficient rows."""

    name = "code"

    def check(self, classes: ClassTable, workers: int) -> None:
        """Raise ``ValueError`` if this code cannot run with these classes and workers."""

    def encode(self, classes: ClassTable, workers: int, rng: np.random.Generator) -> Encoding:
        self.check(classes, workers)
        return self._encode(classes, workers, rng)

    def _encode(self, classes: ClassTable, workers: int, rng: np.random.Generator) -> Encoding:  # pragma: no cover
        raise NotImplementedError


def _is_rectangle(cells: np.ndarray, grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    rows, cols = np.divmod(cells, grid[1])
    urows, ucols = np.unique(rows), np.unique(cols)
    if urows.size * ucols.size != cells.size:
        return None
    return urows, ucols


def to_factor_form(encoding: Encoding, partition: Partition, rng: np.random.Generator) -> Encoding:
    """Re-draw each worker's coefficients as ``alpha ⊗ beta`` (paper eq. 11).

    Raises ``ValueError`` where a worker's window is not a rectangle of the r×c grid, or
    combines more than one sub-product in c×r (eq. 11 would add cross terms ``A_i B_j``,
    ``i != j``, that are not part of ``C``; see DESIGN.md §2).
    """
    n_rows, n_cols = partition.grid
    generator = np.zeros_like(encoding.generator)
    factors = []
    for w in range(encoding.workers):
        cells = encoding.support(w)
        if partition.kind == "cxr":
            if cells.size != 1:
                raise ValueError(
                    f"encoding='factor' is invalid for partition 'cxr' with windows of {cells.size} sub-products: "
                    f"(sum a_i A_i)(sum b_j B_j) adds cross terms A_i B_j (i != j) that are not part of C. "
                    f"Use encoding='direct'"
                )
            alpha = np.zeros(n_rows)
            alpha[cells[0]] = encoding.generator[w, cells[0]]
            beta = np.zeros(n_rows)
            beta[cells[0]] = 1.0
            generator[w, cells[0]] = alpha[cells[0]]
            factors.append((alpha, beta))
            continue
        rect = _is_rectangle(cells, (n_rows, n_cols))
        if rect is None:
            raise ValueError(
                f"encoding='factor' needs every window to be a rectangle {{rows}} x {{cols}} of the "
                f"{n_rows}x{n_cols} r×c grid, but worker {w}'s window is sub-products {cells.tolist()}; "
                f"(sum a_n A_n)(sum b_p B_p) would add products outside the window. Use encoding='direct'"
            )
        rows, cols = rect
        alpha = np.zeros(n_rows)
        beta = np.zeros(n_cols)
        if cells.size == 1:
            alpha[rows] = encoding.generator[w, cells[0]]
            beta[cols] = 1.0
        else:
            alpha[rows] = rng.standard_normal(rows.size)
            beta[cols] = rng.standard_normal(cols.size)
        generator[w] = np.outer(alpha, beta).ravel()
        factors.append((alpha, beta))
    return Encoding(generator, encoding.windows.copy(), tuple(factors))
