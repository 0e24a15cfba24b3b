"""The codes: uncoded, repetition, speculative backups, MDS, polynomial (r×c), MatDot (c×r),
norm-weighted sampling, and the UEP codes NOW, EW and EW-MatDot (MatDot inside nested windows, c×r).

Each code is a :class:`Code` subclass that describes itself (window probabilities, class
awareness, recovery threshold, work per packet, analytic decoding probabilities); callers
ask the code, never its name.  :data:`CODES` is the registry: adding a code is one module
here plus one entry.
"""

from __future__ import annotations

from typing import Callable, Sequence

from .._validation import positive_int, probability_vector
from .base import Code, Encoding, code_names, make_code, packet_work, register_code, to_factor_form
from .baseline import Repetition, Uncoded
from .ew_matdot import EWMatDot
from .matdot import MatDot
from .mds import MDS
from .polynomial import Polynomial
from .sampling import Sampling
from .speculative import Cubed, Spark, Speculative
from .uep import EW, NOW

__all__ = [
    "Code", "Encoding", "to_factor_form", "packet_work", "Uncoded", "Repetition", "MDS", "NOW", "EW",
    "Polynomial", "MatDot", "EWMatDot", "Sampling", "Speculative", "Spark", "Cubed", "CODES", "make_code",
]


def _window_code(cls: type[Code]) -> Callable[..., Code]:
    def build(gamma: Sequence[float] | None, copies: int | None) -> Code:
        return cls(None if gamma is None else tuple(probability_vector(gamma, "gamma").tolist()))

    return build


#: name -> (factory taking ``gamma, copies``, the parameters the code takes), registered in
#: :mod:`uepmm.codes.base` (where :func:`make_code` and :mod:`uepmm.theory` find them).
_BUILT_IN: dict[str, tuple[Callable[..., Code], tuple[str, ...]]] = {
    "uncoded": (lambda gamma, copies: Uncoded(), ()),
    "repetition": (lambda gamma, copies: Repetition(None if copies is None else positive_int(copies, "copies")),
                   ("copies",)),
    "mds": (lambda gamma, copies: MDS(), ()),
    "polynomial": (lambda gamma, copies: Polynomial(), ()),
    "now": (_window_code(NOW), ("gamma",)),
    "ew": (_window_code(EW), ("gamma",)),
    "matdot": (lambda gamma, copies: MatDot(), ()),
    "sampling": (lambda gamma, copies: Sampling(), ()),
    "speculative": (lambda gamma, copies: Speculative(), ()),
    "ew-matdot": (_window_code(EWMatDot), ("gamma",)),
    "spark": (lambda gamma, copies: Spark(), ()),
    "cubed": (lambda gamma, copies: Cubed(), ()),
}

for _name, (_factory, _takes) in _BUILT_IN.items():
    register_code(_name, _factory, _takes)

#: Names of the registered codes.
CODES = code_names()
