"""The codes: uncoded, repetition, MDS, and the UEP codes NOW and EW."""

from __future__ import annotations

from typing import Sequence

from .._validation import choice, probability_vector
from .base import Code, Encoding, to_factor_form
from .baseline import Repetition, Uncoded
from .mds import MDS
from .uep import EW, NOW

__all__ = ["Code", "Encoding", "to_factor_form", "Uncoded", "Repetition", "MDS", "NOW", "EW", "CODES", "make_code"]

CODES = ("uncoded", "repetition", "mds", "now", "ew")


def make_code(code: str | Code, *, gamma: Sequence[float] | None = None, copies: int | None = None) -> Code:
    """A :class:`Code` from its name (or the object itself)."""
    if isinstance(code, Code):
        return code
    name = choice(code, "code", CODES)
    if name == "uncoded":
        return Uncoded()
    if name == "repetition":
        return Repetition(copies)
    if name == "mds":
        return MDS()
    gamma_tuple = None if gamma is None else tuple(probability_vector(gamma, "gamma").tolist())
    return NOW(gamma_tuple) if name == "now" else EW(gamma_tuple)
