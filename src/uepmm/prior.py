"""The sub-products' Gram matrix as LMMSE's prior: a probe estimate without block products.

LMMSE (:mod:`uepmm.estimation`) needs the prior second moment of the sub-products.  The
diagonal prior ``S = diag(s)`` from the block norms models them as uncorrelated; the
sub-products of a Gram matrix ``XᵀX`` or of a gradient product are far from it.  Their
Gram matrix

    R_kl = <P_k, P_l>_F          (K × K, positive semi-definite)

is the prior second moment that knows the correlations (docs/beyond.md, "A prior that knows
correlations").  It is estimated here from ``q`` random probes, with no block product: for
``z`` with ``E[z zᵀ] = I`` (Rademacher entries), ``y_k = A_k (B_k z)`` costs two
matrix-vector products and ``E[y_kᵀ y_l] = trace(P_kᵀ P_l) = R_kl``.  With ``q`` probes
stacked as the columns of ``Z``,

    R_hat_kl = (1/q) <A_k B_k Z, A_l B_l Z>_F,

an unbiased estimate whose error shrinks as ``1/sqrt(q)``.

Only numbers live here (no codes, no job): the blocks come as lists and the sub-products as
index pairs ``(a_block, b_block)`` (``uepmm.partition.Partition.factors``).  Every
sub-product must have one shape; the r×c blocks of a :class:`~uepmm.partition.Partition`
are zero-padded to one shape, and the padding adds nothing to ``R``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "PRIORS",
    "AUTO_CORRELATION",
    "probe_gram",
    "gram_from_probes",
    "exact_gram",
    "correlation",
    "off_diagonal_correlation",
    "probe_flop_ratio",
    "prior_gram",
]

#: LMMSE's prior second moment of the sub-products: ``"diagonal"`` (energies from the block
#: norms, uncorrelated), ``"probe"`` (the Gram matrix estimated from random probes),
#: ``"auto"`` (the probe's Gram matrix when it shows correlations, else the diagonal prior) and
#: ``"exact"`` (the exact Gram matrix: costs every block product, an oracle for measurements).
PRIORS = ("diagonal", "probe", "auto", "exact")

#: ``prior="auto"`` uses the probe's Gram matrix when the root-mean-square off-diagonal
#: correlation of it (:func:`off_diagonal_correlation`) exceeds this; else the diagonal prior.
AUTO_CORRELATION = 0.3


def _shape(block: object) -> tuple[int, int]:
    shape = getattr(block, "shape", None)
    if shape is None or len(shape) != 2:
        raise TypeError(f"blocks must be 2-D numpy arrays or scipy sparse matrices, got {type(block).__name__}")
    return int(shape[0]), int(shape[1])


def _check_pairs(a_blocks: Sequence, b_blocks: Sequence, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    if _is_lazy(a_blocks) or _is_lazy(b_blocks):
        raise TypeError("probe_gram needs the blocks on the parameter server (numpy or scipy sparse), not dask arrays")
    pairs = [(int(i), int(j)) for i, j in pairs]
    if not pairs:
        raise ValueError("pairs is empty; give one (a_block, b_block) pair per sub-product")
    shapes = set()
    for i, j in pairs:
        if not (0 <= i < len(a_blocks) and 0 <= j < len(b_blocks)):
            raise ValueError(f"pair ({i}, {j}) names a block that does not exist "
                             f"({len(a_blocks)} blocks of A, {len(b_blocks)} of B)")
        (rows, inner), (inner_b, cols) = _shape(a_blocks[i]), _shape(b_blocks[j])
        if inner != inner_b:
            raise ValueError(f"A block {i} has {inner} columns but B block {j} has {inner_b} rows")
        shapes.add((rows, cols))
    if len(shapes) > 1:
        raise ValueError(
            f"the sub-products have different shapes {sorted(shapes)}: their Gram matrix needs one shape; "
            f"zero-pad the blocks to the largest (uepmm.partition.Partition.a_blocks/b_blocks do for r×c)"
        )
    return pairs


def _is_lazy(blocks: Sequence) -> bool:
    """Some block is a dask array (``compute`` without ``toarray``): it lives on a cluster."""
    return any(hasattr(b, "compute") and hasattr(b, "dask") for b in blocks)


def probe_gram(
    a_blocks: Sequence,
    b_blocks: Sequence,
    pairs: Sequence[tuple[int, int]],
    probes: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``R_hat`` (``K × K``): the probe estimate of ``R_kl = <P_k, P_l>_F`` (module docstring).

    ``pairs[k] = (i, j)``: sub-product ``k`` is ``a_blocks[i] @ b_blocks[j]``; blocks may be
    numpy arrays or scipy sparse matrices.  ``probes`` (``q >= 1``) Rademacher vectors are drawn
    from ``rng`` (a ``numpy.random.Generator``, the only randomness).  ``B_j Z`` is computed once
    per ``B`` block and shared by the sub-products that use it (r×c).  The result is symmetric
    positive semi-definite and unbiased: ``E[R_hat] = R``.
    """
    if isinstance(probes, bool) or not isinstance(probes, (int, np.integer)) or probes < 1:
        raise ValueError(f"probes must be a positive integer (random vectors of the probe), got {probes!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    pairs = _check_pairs(a_blocks, b_blocks, pairs)
    cols = _shape(b_blocks[pairs[0][1]])[1]
    Z = rng.choice(np.array([-1.0, 1.0]), size=(cols, int(probes)))  # E[z zᵀ] = I
    return gram_from_probes(a_blocks, b_blocks, pairs, Z)


def gram_from_probes(a_blocks: Sequence, b_blocks: Sequence, pairs: Sequence[tuple[int, int]],
                     probes: np.ndarray) -> np.ndarray:
    """``(1/q) Y Yᵀ`` with ``Y``'s row ``k`` ``vec(A_i B_j Z)`` (``pairs[k] = (i, j)``) for the given
    probe vectors ``Z`` (``probes``: ``cols × q``, its columns the ``z``); :func:`probe_gram` draws ``Z``."""
    pairs = _check_pairs(a_blocks, b_blocks, pairs)
    Z = np.asarray(probes, dtype=np.float64)
    cols = _shape(b_blocks[pairs[0][1]])[1]
    if Z.ndim != 2 or Z.shape[0] != cols or Z.shape[1] == 0:
        raise ValueError(f"probes must be a {cols} × q matrix (one probe vector per column, q >= 1), got {Z.shape}")
    right: dict[int, np.ndarray] = {}
    Y = []
    for i, j in pairs:
        if j not in right:
            right[j] = np.asarray(b_blocks[j] @ Z, dtype=np.float64)  # (inner_j, q)
        Y.append(np.asarray(a_blocks[i] @ right[j], dtype=np.float64).ravel())  # vec(A_i B_j Z)
    Y = np.stack(Y)
    gram = (Y @ Y.T) / float(Z.shape[1])
    return (gram + gram.T) / 2.0


def exact_gram(products: np.ndarray) -> np.ndarray:
    """``R_kl = <P_k, P_l>_F`` from the stacked exact sub-products (shape ``(K, ...)``)."""
    flat = np.asarray(products, dtype=np.float64).reshape(len(products), -1)
    return flat @ flat.T


def correlation(gram: np.ndarray) -> np.ndarray:
    """``R_kl / sqrt(R_kk R_ll)``; rows and columns of zero-energy sub-products are zero."""
    R = np.asarray(gram, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise ValueError(f"gram must be a square K × K matrix, got shape {R.shape}")
    d = np.sqrt(np.clip(np.diag(R), 0.0, None))
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    return R * inv[:, None] * inv[None, :]


def off_diagonal_correlation(gram: np.ndarray) -> float:
    """Root mean square of the off-diagonal entries of :func:`correlation` (0 for ``K = 1``).

    0 for uncorrelated sub-products, 1 when all are parallel (``P_k = c_k P``); the rule of
    ``prior="auto"`` compares it with :data:`AUTO_CORRELATION`.
    """
    rho = correlation(gram)
    K = rho.shape[0]
    if K < 2:
        return 0.0
    off = rho - np.diag(np.diag(rho))
    return float(np.sqrt(np.sum(off * off) / (K * (K - 1))))


def probe_flop_ratio(a_shapes: Sequence[tuple[int, int]], b_shapes: Sequence[tuple[int, int]],
                     pairs: Sequence[tuple[int, int]], probes: int) -> float:
    """Flops of :func:`probe_gram` (dense blocks) over the flops of one block product.

    The probe multiplies each distinct ``B`` block by ``Z`` (``2·inner·cols·q``), each
    sub-product's ``A`` block by that (``2·rows·inner·q``) and forms ``Y Yᵀ``
    (``2·K²·rows·q``); one block product is ``2·rows·inner·cols`` (the largest one).
    """
    pairs = [(int(i), int(j)) for i, j in pairs]
    q = int(probes)
    flops = sum(2.0 * b_shapes[j][0] * b_shapes[j][1] * q for j in sorted({j for _, j in pairs}))
    flops += sum(2.0 * a_shapes[i][0] * a_shapes[i][1] * q for i, _ in pairs)
    rows = a_shapes[pairs[0][0]][0]
    flops += 2.0 * len(pairs) ** 2 * rows * q
    block = max(2.0 * a_shapes[i][0] * a_shapes[i][1] * b_shapes[j][1] for i, j in pairs)
    return flops / block


def _dense_product(a: object, b: object) -> np.ndarray:
    product = a @ b
    return np.asarray(product.toarray() if hasattr(product, "toarray") else product, dtype=np.float64)


def prior_gram(
    prior: str,
    a_blocks: Sequence,
    b_blocks: Sequence,
    pairs: Sequence[tuple[int, int]],
    probes: int,
    seed: int,
) -> tuple[np.ndarray | None, float]:
    """The Gram matrix a job's LMMSE uses for ``prior`` (:data:`PRIORS`), or ``None`` for the
    diagonal prior, and the off-diagonal correlation that was measured (``nan`` if none).

    ``"probe"`` and ``"auto"`` draw the probe from ``numpy.random.default_rng(seed)``;
    ``"auto"`` keeps the probe's matrix only when :func:`off_diagonal_correlation` exceeds
    :data:`AUTO_CORRELATION`; ``"exact"`` computes every block product.
    """
    if prior not in PRIORS:
        raise ValueError(f"unknown prior {prior!r}; valid values are {', '.join(map(repr, PRIORS))}")
    if prior == "diagonal":
        return None, float("nan")
    if prior == "exact":
        pairs = _check_pairs(a_blocks, b_blocks, pairs)
        gram = exact_gram(np.stack([_dense_product(a_blocks[i], b_blocks[j]) for i, j in pairs]))
    else:
        gram = probe_gram(a_blocks, b_blocks, pairs, probes, np.random.default_rng(seed))
    rho = off_diagonal_correlation(gram)
    if prior == "auto" and not rho > AUTO_CORRELATION:
        return None, rho
    return gram, rho
