"""Window selection probabilities ``Γ`` designed for the job (the paper leaves this open).

:func:`design_gamma` chooses ``Γ`` on the probability simplex to minimise the expected
normalised loss ``E[L(T)] / E||C||_F^2`` at a deadline ``T`` (or the weighted mean over
several deadlines), for a NOW or EW code with class sizes ``k`` and per-sub-product class
energies ``e_l``; :func:`gamma_loss` evaluates the same objective at a given ``Γ``.

Modules, one step each:

* :mod:`uepmm.design.problem`: the arguments checked and combined into one problem (class
  energies, deadlines and their weights, the arrival distribution ``P(N = n)`` mixed over
  the deadlines).
* :mod:`uepmm.design.objectives`: the expected loss as a function of ``Γ``: Theorem 1 or
  the Theorem 2 bound (zero fill), the exact NOW LMMSE closed form, the EW LMMSE Monte Carlo
  with common random numbers, and the MDS reference.
* :mod:`uepmm.design.optimiser`: minimisation over the simplex (stick breaking, a lattice of
  starting points, L-BFGS-B or bounded Nelder–Mead).
* :mod:`uepmm.design.work`: ``cost="work"``: each window's work and its arrival probability.
* :mod:`uepmm.design.gamma`: :func:`design_gamma`, :func:`gamma_loss` and their result
  :class:`GammaDesign`.
"""

from .gamma import GammaDesign, design_gamma, gamma_loss
from .objectives import OBJECTIVES
from .problem import COSTS, DECODERS, DESIGN_CODES
from .problem import PARTITIONS as PARTITIONS  # not in __all__, as before the split
from .work import window_work, work_cdfs

__all__ = [
    "COSTS", "DECODERS", "DESIGN_CODES", "OBJECTIVES", "GammaDesign", "design_gamma", "gamma_loss", "window_work",
    "work_cdfs",
]
