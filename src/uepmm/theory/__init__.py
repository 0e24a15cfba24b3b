"""Analytic decoding probabilities and expected loss (paper Sec. V, eqs. 13-19).

Everything here is closed form or a small dynamic programme; nothing is simulated.

* :mod:`uepmm.theory.probabilities`: ``P_d,l(N)`` (eqs. 14-15; the EW rank recursion).
* :mod:`uepmm.theory.loss`: arrivals (eq. 13), Theorem 1 (eqs. 16-17, r×c, exact) and
  Theorem 2 (eqs. 18-19, c×r, an upper bound).
* :mod:`uepmm.theory.work`: the same under ``cost="work"`` (Gamma per-unit sums, Poisson-binomial
  arrivals, effective window probabilities ``Γ'(t)``).
* :mod:`uepmm.theory.sampling`: the error of norm-weighted sampling given ``n`` packets.
"""

from .loss import (
    PARTITIONS,
    arrival_distribution,
    conditional_loss_bound_cxr,
    conditional_loss_rxc,
    expected_loss,
    expected_loss_vs_packets,
    sec6_class_energy,
    sub_product_energy,
    total_energy,
)
from .probabilities import THEORY_CODES, decoding_probabilities
from .sampling import sampling_expected_loss
from .work import arrival_distribution_work, expected_loss_work, poisson_binomial, work_response_cdf

__all__ = [
    "THEORY_CODES",
    "PARTITIONS",
    "decoding_probabilities",
    "arrival_distribution",
    "sub_product_energy",
    "total_energy",
    "conditional_loss_rxc",
    "conditional_loss_bound_cxr",
    "expected_loss",
    "expected_loss_vs_packets",
    "sec6_class_energy",
    "work_response_cdf",
    "poisson_binomial",
    "arrival_distribution_work",
    "expected_loss_work",
    "sampling_expected_loss",
]
