"""Hypothesis strategies for the property tests: small random coded products.

Sizes stay tiny (at most 4 blocks a side, 8 lines a matrix) so that one example costs
milliseconds; the properties are about the algebra, which small sizes exercise as well as
large ones.  Every job is drawn through the public settings of :func:`uepmm.coded_matmul`.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import uepmm

#: Codes that only serve one partition.
ONLY = {"polynomial": "rxc", "matdot": "cxr", "ew-matdot": "cxr"}

#: Matrix entries: zero or of magnitude 1e-6..1e3, a range wide enough for cancellation and for
#: sub-products of very different sizes, inside the one where the prior energies ``||A_i||^2 ||B_j||^2``
#: are representable (outside it the LMMSE decoder refuses the input, test_bad_input.py).
ELEMENTS = st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6))

DEADLINES = st.one_of(st.just(math.inf), st.floats(0.0, 3.0, allow_nan=False))


def exact_codes() -> list[str]:
    """The registered codes with a recovery threshold: any that many packets recover ``C``."""
    out = []
    for name in uepmm.CODES:
        kind = ONLY.get(name, "rxc")
        code = uepmm.make_code(name, copies=2 if name == "repetition" else None, ignore_unused=True)
        if code.for_layout(kind, (2, 2)).recovery_threshold(4) is not None:
            out.append(name)
    return out


def partitions_for(code: str) -> list[str]:
    return [ONLY[code]] if code in ONLY else ["rxc", "cxr"]


@st.composite
def layouts(draw, code: str, partition: str):
    """``(blocks, A shape, B shape)`` for ``partition``: every dimension at least the block count."""
    if partition == "rxc":
        n, p = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        if code == "polynomial" or draw(st.booleans()):
            blocks = (n, p)
        else:  # an int K = N * N
            n = p = draw(st.integers(1, 2))
            blocks = n * n
        m, h, q = draw(st.integers(n, 8)), draw(st.integers(1, 6)), draw(st.integers(p, 8))
        return blocks, n * p, (m, h), (h, q)
    M = draw(st.integers(1, 4))
    m, h, q = draw(st.integers(1, 6)), draw(st.integers(M, 8)), draw(st.integers(1, 6))
    return M, M, (m, h), (h, q)


def workers_for(draw, code: str, K: int) -> dict:
    """``workers`` (and ``copies``) that ``code`` accepts for ``K`` sub-products."""
    if code == "uncoded":
        return {"workers": K}
    if code == "repetition":
        copies = draw(st.integers(1, 3))
        return {"workers": copies * K, "copies": copies}
    if code == "matdot":
        return {"workers": draw(st.integers(2 * K - 1, 2 * K + 1))}
    if code in ("mds", "polynomial", "speculative", "spark", "cubed"):
        return {"workers": draw(st.integers(K, K + 3))}
    return {"workers": draw(st.integers(1, K + 4))}  # rateless: NOW, EW, EW-MatDot, sampling


@st.composite
def class_settings(draw, code: str, K: int) -> dict:
    """``class_counts`` (a composition of ``K`` into 1-3 classes) and, for NOW/EW, a ``gamma``."""
    levels = draw(st.integers(1, min(3, K)))
    cuts = sorted(draw(st.lists(st.integers(1, K - 1), min_size=levels - 1, max_size=levels - 1, unique=True))) \
        if levels > 1 else []
    bounds = [0, *cuts, K]
    out: dict = {"class_counts": tuple(b - a for a, b in zip(bounds, bounds[1:]))}
    if uepmm.make_code(code, ignore_unused=True).uses_window_probabilities:
        weights = draw(st.lists(st.integers(1, 10), min_size=levels, max_size=levels))
        out["gamma"] = tuple(w / sum(weights) for w in weights)
    return out


@st.composite
def matrices(draw, a_shape, b_shape):
    """``A``, ``B`` with finite float64 entries (sometimes all integers: exact products)."""
    A = draw(hnp.arrays(np.float64, a_shape, elements=ELEMENTS))
    B = draw(hnp.arrays(np.float64, b_shape, elements=ELEMENTS))
    return A, B


@st.composite
def jobs(draw, codes=None, partitions=("rxc", "cxr"), deadlines=DEADLINES):
    """``(A, B, settings)``: a random coded product that the code accepts."""
    code = draw(st.sampled_from(list(codes or uepmm.CODES)))
    partition = draw(st.sampled_from([p for p in partitions_for(code) if p in partitions]))
    blocks, K, a_shape, b_shape = draw(layouts(code, partition))
    A, B = draw(matrices(a_shape, b_shape))
    settings = {
        "code": code, "partition": partition, "blocks": blocks, "deadline": draw(deadlines),
        "reorder": draw(st.booleans()), "seed": draw(st.integers(0, 2**32 - 1)),
        **workers_for(draw, code, K), **draw(class_settings(code, K)),
    }
    return A, B, settings


def norm(X: np.ndarray) -> float:
    """``||X||_F`` without underflow or overflow of the squares."""
    top = float(np.abs(X).max()) if X.size else 0.0
    return top * float(np.linalg.norm(X / top)) if top > 0 else 0.0


def scale(A: np.ndarray, B: np.ndarray) -> float:
    """``||A||_F ||B||_F``: bounds every sub-product's norm; rounding is relative to it."""
    return norm(A) * norm(B)


def sub_products(result: uepmm.Result, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The exact sub-products ``P_k`` in the result's (permuted) order."""
    return result.partition.products(*result.order.apply(A, B))
