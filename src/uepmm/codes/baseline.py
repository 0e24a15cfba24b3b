"""Baselines without coding across sub-products: uncoded and r-fold repetition."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import positive_int
from ..importance import ClassTable
from .base import Code, Encoding, large_field_only

__all__ = ["Uncoded", "Repetition"]


@dataclass(frozen=True)
class Uncoded(Code):
    """Worker ``w`` computes sub-product ``P_w`` alone (needs ``W = K``).

    Examples
    --------
    >>> import uepmm
    >>> code = uepmm.Uncoded()
    >>> code.deterministic, code.recovery_threshold(4)  # every worker must answer
    (True, 4)
    """

    name = "uncoded"
    deterministic = True
    adaptive_rule = "copy"

    def recovery_threshold(self, num_products: int) -> int:
        return num_products

    def task_count(self, num_products: int) -> int:
        return num_products

    def cxr_packet_work(self, num_products: int) -> int:
        return 1

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        from ..theory.probabilities import repetition_probabilities  # scipy.stats on demand

        """``N / K``: a given sub-product is one of the ``N`` distinct tasks received."""
        large_field_only(self.name, q)
        return repetition_probabilities(k, 1, max_packets)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return (np.arange(max_packets + 1) >= sum(k)).astype(np.float64)

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
    """Each sub-product is computed by ``copies`` workers (``W = copies * K``); any copy recovers it.

    Examples
    --------
    Two copies of each of 3 sub-products on 6 workers: 4 packets can hold both copies of two
    sub-products and none of the third, so any ``r (K - 1) + 1 = 5`` packets recover everything.

    >>> import numpy as np, uepmm
    >>> code = uepmm.Repetition(2)
    >>> code.recovery_threshold(3)
    5
    >>> encoding = code.encode(uepmm.ClassTable((0, 1, 2)), 6, np.random.default_rng(0))
    >>> encoding.windows.tolist()
    [0, 1, 2, 0, 1, 2]
    """

    copies: int | None = None
    name = "repetition"
    deterministic = True
    adaptive_rule = "copy"

    def recovery_threshold(self, num_products: int) -> int | None:
        """``r (K - 1) + 1``: one packet more than the ``r K - r`` packets that can miss every copy of one
        sub-product."""
        return None if self.copies is None else positive_int(self.copies, "copies") * (num_products - 1) + 1

    def task_count(self, num_products: int) -> int | None:
        return None if self.copies is None else positive_int(self.copies, "copies") * num_products

    def cxr_packet_work(self, num_products: int) -> int:
        return 1

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        from ..theory.probabilities import repetition_probabilities  # scipy.stats on demand

        """At least one of a sub-product's ``r`` copies among the ``N`` received of ``rK`` tasks.

        ``r`` is ``copies``, else ``workers / K`` when ``workers`` is given, else 2.
        """
        large_field_only(self.name, q)
        K = sum(k)
        if self.copies is not None:
            copies = positive_int(self.copies, "copies")
        elif workers is not None:
            copies = self._copies(K, workers)
        else:
            copies = 2
        return repetition_probabilities(k, copies, max_packets)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        from ..theory.probabilities import repetition_all_decoded

        K = sum(k)
        copies = positive_int(self.copies, "copies") if self.copies is not None else self._copies(K, workers or 2 * K)
        return repetition_all_decoded(k, copies, max_packets)

    def _copies(self, K: int, workers: int) -> int:
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
                f"code 'repetition' with copies={copies} needs workers = copies * K = {copies * K}, "
                f"got workers={workers}"
            )
        return copies

    def check(self, classes: ClassTable, workers: int) -> None:
        self._copies(classes.num_products, workers)

    def _encode(self, classes, workers, rng):
        K = classes.num_products
        target = np.arange(workers) % K
        generator = np.zeros((workers, K))
        generator[np.arange(workers), target] = 1.0
        return Encoding(generator, target)
