"""UEP random linear codes (paper Sec. III-B, Figs. 6-7; Vukobratovic & Stankovic).

Each worker draws a window ``l`` with probability ``Gamma_l`` and combines the
sub-products of that window with i.i.d. Gaussian coefficients (the real-field analogue
of a large finite field):

* NOW-UEP: the window is class ``l`` alone (non-overlapping windows);
* EW-UEP:  the window is classes ``1..l`` (expanding windows), so class 1 is in every packet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from .._validation import probability_vector
from ..importance import TABLE3_GAMMA, ClassTable
from .base import Code, Encoding

__all__ = ["NOW", "EW"]


def _resolve_gamma(gamma: Sequence[float] | None, classes: ClassTable) -> np.ndarray:
    try:
        return _validated_gamma(None if gamma is None else tuple(gamma), classes.num_classes)
    except TypeError:  # not a flat sequence of numbers: let the uncached check say what is wrong
        return probability_vector(gamma, "gamma", classes.num_classes)


@lru_cache(maxsize=128)
def _validated_gamma(gamma: tuple[float, ...] | None, L: int) -> np.ndarray:
    """The checked window probabilities (cached: codes are re-drawn for every product in training)."""
    if gamma is None:
        if L != len(TABLE3_GAMMA):
            raise ValueError(
                f"gamma (window selection probabilities) is required for {L} classes; the default "
                f"{TABLE3_GAMMA} (Table III) is for 3 classes: give gamma=(G1, .., G{L}), or gamma='auto' "
                f"(designed for each job)"
            )
        gamma = TABLE3_GAMMA
    out = probability_vector(gamma, "gamma", L)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=128)
def _window_cdf(gamma: tuple[float, ...] | None, L: int) -> np.ndarray:
    """Cumulative window probabilities, last entry exactly 1 (for inverse-CDF sampling)."""
    cdf = np.cumsum(_validated_gamma(gamma, L))
    cdf /= cdf[-1]
    cdf.flags.writeable = False
    return cdf


def _draw_windows(gamma: tuple[float, ...] | None, L: int, workers: int, rng: np.random.Generator) -> np.ndarray:
    """Window of every worker, ``P(l) = Gamma_l`` (``gamma`` already checked): inverse-CDF
    sampling of one uniform each, as ``rng.choice(L, workers, p=gamma)`` does, without its
    per-call checks."""
    return np.searchsorted(_window_cdf(gamma, L), rng.random(workers), side="right")


@dataclass(frozen=True)
class _WindowCode(Code):
    gamma: tuple[float, ...] | None = None
    uses_window_probabilities = True
    class_aware = True
    designable_gamma = True
    adaptive_rule = "window"

    def adaptive_row(self, classes, window, rng):
        """Gaussian coefficients on window ``window``'s sub-products (one row of :meth:`_encode`)."""
        return rng.standard_normal(classes.num_products) * self.window_masks(classes)[window]

    def window_probabilities(self, num_classes: int) -> np.ndarray:
        """The checked ``Gamma`` for ``num_classes`` classes (Table III when ``gamma`` is None and L = 3)."""
        return _validated_gamma(None if self.gamma is None else tuple(self.gamma), num_classes)

    def window_masks(self, classes: ClassTable) -> list[np.ndarray]:
        """EW: window ``l`` is classes ``0..l``; NOW: class ``l`` alone."""
        cls = classes.as_array()
        return [cls <= level if self.expanding else cls == level for level in range(classes.num_classes)]

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        from ..theory.probabilities import ew_probabilities, now_probabilities  # scipy.stats on demand

        gamma = self.window_probabilities(len(k))
        gamma = gamma / gamma.sum()  # exact normalisation of a 1e-9-close sum
        probabilities = ew_probabilities if self.expanding else now_probabilities
        return probabilities(tuple(k), gamma, max_packets, q)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        """EW: the last class decodes iff the whole window is complete, so ``P_d,L(N)``;
        NOW: every class has ``n_l >= k_l`` (a DP over classes)."""
        from ..theory.probabilities import now_all_decoded

        gamma = self.window_probabilities(len(k))
        gamma = gamma / gamma.sum()
        if self.expanding:
            return self.decoding_probabilities(k, max_packets)[:, -1]
        return now_all_decoded(tuple(k), gamma, max_packets)

    def check(self, classes, workers):
        _resolve_gamma(self.gamma, classes)

    def _encode(self, classes, workers, rng):
        cls = classes.as_array()
        gamma = None if self.gamma is None else tuple(self.gamma)
        windows = _draw_windows(gamma, classes.num_classes, workers, rng)
        generator = rng.standard_normal((workers, cls.size))
        if self.expanding:
            mask = cls[None, :] <= windows[:, None]
        else:
            mask = cls[None, :] == windows[:, None]
        return Encoding(generator * mask, windows.astype(np.int64, copy=False))


@dataclass(frozen=True)
class NOW(_WindowCode):
    """Non-overlapping-window UEP code.

    Examples
    --------
    Each worker draws a class ``l`` with probability ``Γ_l`` and combines that class only:

    >>> import numpy as np, uepmm
    >>> classes = uepmm.ClassTable((0, 0, 1, 1, 2, 2))
    >>> encoding = uepmm.NOW((0.5, 0.3, 0.2)).encode(classes, 8, np.random.default_rng(0))
    >>> support = encoding.generator != 0
    >>> class_of = classes.as_array()
    >>> all(bool(np.all(class_of[row] == w)) for row, w in zip(support, encoding.windows))
    True
    """

    name = "now"
    expanding = False


@dataclass(frozen=True)
class EW(_WindowCode):
    """Expanding-window UEP code.

    Examples
    --------
    Window ``l`` combines classes ``0..l``, so the most important class is in every packet:

    >>> import numpy as np, uepmm
    >>> classes = uepmm.ClassTable((0, 0, 1, 1, 2, 2))
    >>> encoding = uepmm.EW((0.5, 0.3, 0.2)).encode(classes, 8, np.random.default_rng(0))
    >>> support = encoding.generator != 0
    >>> bool(support[:, :2].all())  # class 0 (sub-products 0 and 1)
    True
    >>> class_of = classes.as_array()
    >>> all(bool(np.all(class_of[row] <= w)) for row, w in zip(support, encoding.windows))
    True
    """

    name = "ew"
    expanding = True
