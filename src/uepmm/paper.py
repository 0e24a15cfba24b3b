"""Every constant taken from the paper, in one place.

Tegin, Hernandez, Rini & Duman, *Straggler Mitigation through Unequal Error Protection for
Distributed Approximate Matrix Multiplication*.  The modules that reproduce a section import
its constants from here.
"""

from __future__ import annotations

__all__ = [
    "TABLE3_GAMMA",
    "SEC6_COUNTS",
    "SEC6_VARIANCES",
    "SEC6_WORKERS",
    "SEC6_RATE",
    "TABLE8_COUNTS",
    "SEC7_RATE",
    "TABLE7_WORKERS",
]

#: Table III: window selection probabilities ``Gamma`` of the three classes.
TABLE3_GAMMA = (0.40, 0.35, 0.25)
#: Table III / Sec. VI: sub-products per class, ``k = (3, 3, 3)``.
SEC6_COUNTS = (3, 3, 3)
#: Sec. VI: variances of the entries of high / medium / low blocks.
SEC6_VARIANCES = (10.0, 1.0, 0.1)
#: Sec. VI: workers of the coded schemes.
SEC6_WORKERS = 30
#: Sec. VI: rate ``lambda`` of the exponential response time.
SEC6_RATE = 1.0
#: Table VIII: class sizes ``(1, 2, 6)`` of the ``K = 9`` sub-products in training.
TABLE8_COUNTS = (1, 2, 6)
#: Sec. VII-C: rate of the exponential response time in training.
SEC7_RATE = 0.5
#: Table VII: workers per scheme in training.
TABLE7_WORKERS = {"uncoded": 9, "now": 15, "ew": 15, "repetition": 18}
