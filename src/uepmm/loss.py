"""The loss of paper eq. (2) for any set of recovered sub-products, without re-multiplying.

With exact sub-products ``P_k`` the error ``C - C_hat`` is the sum of the unrecovered
sub-products (placed in their blocks), so ``||C - C_hat||_F^2 = u^T Gram u`` with ``u`` the
indicator of the unrecovered ones and ``Gram[i, j] = <P_i, P_j>`` (diagonal for r×c, whose
blocks are disjoint).  One Gram matrix then prices any recovered set in ``O(K^2)``, and any decoder's
reconstruction ``P_hat = M P`` in ``O(K^3)`` (:meth:`BlockLoss.reconstruction_loss`); this is
what makes Monte Carlo over trials and deadlines cheap: only the recovered set changes.
"""

from __future__ import annotations

import numpy as np

from .partition import Partition

__all__ = ["BlockLoss"]


class BlockLoss:
    """Loss of eq. (2) as a function of the recovered mask, from exact sub-products.

    Examples
    --------
    In c×r the blocks that are not recovered are the error:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> layout = uepmm.make_partition(A.shape, B.shape, "cxr", 2)
    >>> P = layout.products(A, B)
    >>> pricing = uepmm.BlockLoss(layout, P)
    >>> bool(np.isclose(pricing.loss(np.array([True, False])), np.sum(P[1] ** 2)))
    True
    >>> float(pricing.normalized(np.array([True, True])))
    0.0
    """

    def __init__(self, partition: Partition, products: np.ndarray):
        flat = np.asarray(products, dtype=np.float64).reshape(partition.num_products, -1)
        self.kind = partition.kind
        if partition.kind == "rxc":
            self.gram = np.diag(np.einsum("ij,ij->i", flat, flat))
            #: ``<P_i, P_j>`` of the (padded) sub-products as arrays of one shape (blocks mixed by a decoder)
            self.full_gram = flat @ flat.T
        else:
            self.gram = self.full_gram = flat @ flat.T
        self.total = float(self.gram.sum())

    @classmethod
    def from_gram(cls, kind: str, gram: np.ndarray) -> BlockLoss:
        """Pricing from a ``K × K`` matrix of ``<P_i, P_j>`` alone: the exact one, or a prior second
        moment ``R`` (:mod:`uepmm.recommend`: then every loss is an expected loss under ``R``).

        ``kind``: ``"rxc"`` (the blocks are disjoint: ``||C||^2 = trace R``, off-diagonal terms only
        price a decoder that mixes blocks) or ``"cxr"`` (``||C||^2 = 1^T R 1``).
        """
        if kind not in ("rxc", "cxr"):
            raise ValueError(f"kind must be 'rxc' or 'cxr', got {kind!r}")
        gram = np.asarray(gram, dtype=np.float64)
        if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
            raise ValueError(f"gram must be a square K x K matrix, got shape {gram.shape}")
        self = cls.__new__(cls)
        self.kind = kind
        self.full_gram = gram
        self.gram = np.diag(np.diag(gram)) if kind == "rxc" else gram
        self.total = float(self.gram.sum())
        return self

    def loss(self, recovered: np.ndarray) -> np.ndarray:
        """``||C - C_hat||_F^2`` for a boolean mask ``[..., K]`` (any leading shape)."""
        missing = 1.0 - np.asarray(recovered, dtype=np.float64)
        value = np.einsum("...i,ij,...j->...", missing, self.gram, missing)
        return np.maximum(value, 0.0)

    def reconstruction_loss(self, M: np.ndarray) -> float:
        """``||C - C_hat||_F^2`` for ``P_hat = M P`` (any decoder's ``K × K`` reconstruction).

        r×c: ``trace((I - M) Gram (I - M)^T)`` (block ``k`` of the error is ``P_k - sum_j M_kj P_j``);
        c×r: ``d^T Gram d`` with ``d = 1 - M^T 1`` (``C - C_hat = sum_j d_j P_j``).
        """
        M = np.asarray(M, dtype=np.float64)
        if self.kind == "rxc":
            E = np.eye(M.shape[0]) - M
            return max(float(np.einsum("ij,jk,ik->", E, self.full_gram, E)), 0.0)
        d = 1.0 - M.sum(axis=0)
        return max(float(d @ self.full_gram @ d), 0.0)

    def normalized(self, recovered: np.ndarray) -> np.ndarray:
        """``||C - C_hat||_F^2 / ||C||_F^2`` (0 where ``C = 0`` and nothing is missing)."""
        if self.total == 0.0:
            return np.zeros(np.shape(recovered)[:-1])
        return self.loss(recovered) / self.total
