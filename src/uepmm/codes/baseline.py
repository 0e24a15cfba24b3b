"""Baselines without coding across sub-products: uncoded and r-fold repetition."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import positive_int
from ..importance import ClassTable
from .base import Code, Encoding

__all__ = ["Uncoded", "Repetition"]


@dataclass(frozen=True)
class Uncoded(Code):
    """Worker ``w`` computes sub-product ``P_w`` alone (needs ``W = K``)."""

    name = "uncoded"

    def check(self, classes: ClassTable, workers: int) -> None:
        K = classes.num_products
        if workers != K:
            raise ValueError(
                f"code 'uncoded' needs workers == number of sub-products K = {K}, got workers={workers}; "
                f"use code='repetition' for more workers"
            )

    def _encode(self, classes, workers, rng):
        return Encoding(np.eye(workers), np.arange(workers))


@dataclass(frozen=True)
class Repetition(Code):
    """Each sub-product is computed by ``copies`` workers (``W = copies * K``); any copy recovers it."""

    copies: int | None = None
    name = "repetition"

    def _copies(self, classes: ClassTable, workers: int) -> int:
        K = classes.num_products
        if self.copies is None:
            if workers % K:
                raise ValueError(
                    f"code 'repetition' needs workers to be a multiple of K = {K} sub-products, got workers={workers}; "
                    f"use workers={2 * K} for 2 copies"
                )
            return workers // K
        copies = positive_int(self.copies, "copies")
        if workers != copies * K:
            raise ValueError(
                f"code 'repetition' with copies={copies} needs workers = copies * K = {copies * K}, got workers={workers}"
            )
        return copies

    def check(self, classes: ClassTable, workers: int) -> None:
        self._copies(classes, workers)

    def _encode(self, classes, workers, rng):
        K = classes.num_products
        target = np.arange(workers) % K
        generator = np.zeros((workers, K))
        generator[np.arange(workers), target] = 1.0
        return Encoding(generator, target)
