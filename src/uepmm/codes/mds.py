"""Real-valued MDS code: i.i.d. Gaussian coefficients on all ``K`` sub-products.

Any ``K`` of the rows are linearly independent with probability 1 (and well conditioned,
unlike a real Vandermonde matrix beyond small ``K``), so any ``K`` packets recover ``C``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Encoding, ThresholdCode

__all__ = ["MDS"]


@dataclass(frozen=True)
class MDS(ThresholdCode):
    """MDS code: every worker combines all ``K`` sub-products with Gaussian coefficients.

    Examples
    --------
    Gaussian coefficients: any ``K`` packets recover all ``K`` sub-products, fewer recover none.

    >>> import numpy as np, uepmm
    >>> encoding = uepmm.MDS().encode(uepmm.ClassTable((0, 1, 2)), 5, np.random.default_rng(0))
    >>> uepmm.recoverable(encoding.generator[:2]).tolist()
    [False, False, False]
    >>> uepmm.recoverable(encoding.generator[2:]).tolist()
    [True, True, True]
    """

    name = "mds"
    adaptive_rule = "row"

    def adaptive_row(self, classes, window, rng):
        """A fresh Gaussian row: with the rows before it, any ``K`` still recover ``C`` (probability 1)."""
        return rng.standard_normal(classes.num_products)

    def _encode(self, classes, workers, rng):
        K = classes.num_products
        return Encoding(rng.standard_normal((workers, K)), np.zeros(workers, dtype=np.int64))
