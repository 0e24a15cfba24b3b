"""Real-valued MDS code: i.i.d. Gaussian coefficients on all ``K`` sub-products.

Any ``K`` of the rows are linearly independent with probability 1 (and well conditioned,
unlike a real Vandermonde matrix beyond small ``K``), so any ``K`` packets recover ``C``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import Code, Encoding, large_field_only

__all__ = ["MDS"]


@dataclass(frozen=True)
class MDS(Code):
    name = "mds"

    def recovery_threshold(self, num_products: int) -> int:
        return num_products

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        from ..theory.probabilities import mds_probabilities  # scipy.stats on demand

        large_field_only(self.name, q)
        return mds_probabilities(k, max_packets)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return (np.arange(max_packets + 1) >= sum(k)).astype(np.float64)

    def _encode(self, classes, workers, rng):
        K = classes.num_products
        return Encoding(rng.standard_normal((workers, K)), np.zeros(workers, dtype=np.int64))
