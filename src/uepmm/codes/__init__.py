"""The codes: uncoded, repetition, speculative backups, MDS, polynomial (r×c), MatDot (c×r),
norm-weighted sampling, and the UEP codes NOW, EW and EW-MatDot (MatDot inside nested windows, c×r).

Each code is a :class:`Code` subclass that describes itself (window probabilities, class
awareness, recovery threshold, work per packet, analytic decoding probabilities); callers
ask the code, never its name.  :data:`CODES` is the registry: adding a code is one module
here plus one entry.
"""

from __future__ import annotations

from typing import Callable, Sequence

from .._validation import choice, probability_vector
from .base import Code, Encoding, packet_work, to_factor_form
from .baseline import Repetition, Uncoded
from .ew_matdot import EWMatDot
from .matdot import MatDot
from .mds import MDS
from .polynomial import Polynomial
from .sampling import Sampling
from .speculative import Speculative
from .uep import EW, NOW

__all__ = [
    "Code", "Encoding", "to_factor_form", "packet_work", "Uncoded", "Repetition", "MDS", "NOW", "EW",
    "Polynomial", "MatDot", "EWMatDot", "Sampling", "Speculative", "CODES", "make_code",
]


def _window_code(cls: type[Code]) -> Callable[..., Code]:
    def build(gamma: Sequence[float] | None, copies: int | None) -> Code:
        return cls(None if gamma is None else tuple(probability_vector(gamma, "gamma").tolist()))

    return build


#: name -> (factory taking ``gamma, copies``, the parameters the code takes).
_REGISTRY: dict[str, tuple[Callable[..., Code], tuple[str, ...]]] = {
    "uncoded": (lambda gamma, copies: Uncoded(), ()),
    "repetition": (lambda gamma, copies: Repetition(copies), ("copies",)),
    "mds": (lambda gamma, copies: MDS(), ()),
    "polynomial": (lambda gamma, copies: Polynomial(), ()),
    "now": (_window_code(NOW), ("gamma",)),
    "ew": (_window_code(EW), ("gamma",)),
    "matdot": (lambda gamma, copies: MatDot(), ()),
    "sampling": (lambda gamma, copies: Sampling(), ()),
    "speculative": (lambda gamma, copies: Speculative(), ()),
    "ew-matdot": (_window_code(EWMatDot), ("gamma",)),
}

#: Names of the registered codes.
CODES = tuple(_REGISTRY)


def make_code(
    code: str | Code,
    *,
    gamma: Sequence[float] | None = None,
    copies: int | None = None,
    ignore_unused: bool = False,
) -> Code:
    """A :class:`Code` from its name (or the object itself).

    ``gamma`` (window probabilities) and ``copies`` (repetition) go to the codes that take
    them; giving one to a code that does not take it is a ``ValueError``, unless
    ``ignore_unused`` (callers that share one setting across several codes).
    """
    if isinstance(code, Code):
        return code
    name = choice(code, "code", CODES)
    factory, takes = _REGISTRY[name]
    for parameter, value in (("gamma", gamma), ("copies", copies)):
        if value is not None and parameter not in takes:
            if ignore_unused:
                continue
            users = [n for n, (_, t) in _REGISTRY.items() if parameter in t]
            raise ValueError(
                f"{parameter}={value!r} only applies to code {' or '.join(map(repr, users))}; "
                f"leave {parameter}=None for code={name!r}"
            )
    return factory(gamma if "gamma" in takes else None, copies if "copies" in takes else None)
