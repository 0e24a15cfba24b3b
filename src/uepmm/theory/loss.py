"""Expected loss (paper Sec. V): arrivals (eq. 13), Theorem 1 (eqs. 16-17, r×c, exact) and
Theorem 2 (eqs. 18-19, c×r, an upper bound).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
from scipy import stats

from .._validation import choice, int_sequence, positive_float, positive_int
from ..importance import ClassTable
from ..latency import LatencyModel
from ..paper import SEC6_VARIANCES
from .probabilities import THEORY_CODES, decoding_probabilities, field_size, require_window_probabilities

if TYPE_CHECKING:
    from ..codes.base import Code

__all__ = [
    "PARTITIONS",
    "arrival_distribution",
    "sub_product_energy",
    "total_energy",
    "conditional_loss_rxc",
    "conditional_loss_bound_cxr",
    "expected_loss",
    "expected_loss_vs_packets",
    "sec6_class_energy",
]

#: Partitionings: row-times-column (Theorem 1) and column-times-row (Theorem 2).
PARTITIONS = ("rxc", "cxr")


def arrival_distribution(
    latency: LatencyModel,
    t: float | Sequence[float] | np.ndarray,
    workers: int,
    omega: float = 1.0,
) -> np.ndarray:
    """``P_N(t)(w)`` for ``w = 0..W`` (eq. 13): Binomial(``W``, ``F(Ω t)``) per time.

    ``t`` is a time or a 1-D array of times; the result has shape ``(len(t), W+1)`` (one
    row for a scalar).  ``F(Ω t)`` is ``latency.response_cdf(t, omega)`` (Remark 1).

    Examples
    --------
    With two workers, both arrive by ``t`` with probability ``F(t)^2``:

    >>> import math, uepmm
    >>> from uepmm.theory import arrival_distribution
    >>> p = arrival_distribution(uepmm.Exponential(1.0), 1.0, workers=2)
    >>> p.shape, math.isclose(p[0, 2], (1 - math.exp(-1.0)) ** 2)
    ((1, 3), True)
    >>> arrival_distribution(uepmm.Deterministic(0.5), [0.4, 1.0], workers=3).tolist()
    [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    """
    if not isinstance(latency, LatencyModel):
        raise TypeError(
            f"latency must be a uepmm.latency.LatencyModel (e.g. Exponential(1.0)), got {type(latency).__name__}"
        )
    workers = positive_int(workers, "workers")
    times = _times(t)
    F = np.clip(latency.response_cdf(times, omega), 0.0, 1.0)
    w = np.arange(workers + 1)
    return stats.binom.pmf(w[None, :], workers, F[:, None])


def _times(t: object) -> np.ndarray:
    if isinstance(t, (str, bytes)) or t is None:
        raise TypeError(f"t must be a time or a 1-D sequence of times, got {t!r}")
    try:
        times = np.atleast_1d(np.asarray(t, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"t must be a time or a 1-D sequence of times, got {t!r}") from None
    if times.ndim != 1:
        raise ValueError(f"t must be a time or a 1-D sequence of times, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ValueError("t must contain finite times only")
    return times


def sub_product_energy(U: int, H: int, Q: int, var_a: float, var_b: float) -> float:
    """``E||P_k||_F^2 = U H Q σ_A² σ_B²`` for i.i.d. zero-mean blocks (eq. 12).

    Examples
    --------
    >>> from uepmm.theory import sub_product_energy
    >>> sub_product_energy(U=2, H=3, Q=4, var_a=1.0, var_b=0.5)
    12.0
    """
    U = positive_int(U, "U")
    H = positive_int(H, "H")
    Q = positive_int(Q, "Q")
    var_a = positive_float(var_a, "var_a", allow_zero=True)
    var_b = positive_float(var_b, "var_b", allow_zero=True)
    return float(U * H * Q) * var_a * var_b


def _energies(class_energy: object, L: int) -> np.ndarray:
    try:
        e = np.asarray(class_energy, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"class_energy must be a sequence of {L} non-negative numbers, got {class_energy!r}") from None
    if e.ndim != 1 or e.size != L:
        raise ValueError(
            f"class_energy must have one entry per class ({L}), got shape {e.shape}; "
            f"give E||P_k||_F^2 of a sub-product of each class"
        )
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise ValueError(f"class_energy entries must be finite and >= 0, got {class_energy!r}")
    return e


def _probabilities(probs: object, L: int) -> np.ndarray:
    try:
        P = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("probs must be an array of decoding probabilities, shape (packets, L) or (L,)") from None
    if P.ndim not in (1, 2) or P.shape[-1] != L:
        raise ValueError(f"probs must have shape (packets, {L}) or ({L},) to match k, got {P.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < 0) or np.any(P > 1):
        raise ValueError("probs must be probabilities in [0, 1]")
    return P


def total_energy(k: Sequence[int], class_energy: Sequence[float]) -> float:
    """``E||C||_F^2 = sum_l k_l e_l``.

    r×c: the blocks of ``C`` are disjoint.  c×r: ``C = sum_m P_m`` and, with independent
    zero-mean blocks (Assumption 1), the cross terms ``E<P_m, P_m'>`` vanish, so the same sum.

    Examples
    --------
    >>> from uepmm.theory import total_energy
    >>> total_energy([1, 2], [4.0, 1.0])
    6.0
    """
    k = int_sequence(k, "k")
    return float(np.dot(k, _energies(class_energy, len(k))))


def conditional_loss_rxc(probs: np.ndarray, k: Sequence[int], class_energy: Sequence[float]) -> np.ndarray:
    """Eq. 17: ``E[||C - C_hat||² | N = w] = sum_l k_l (1 - P_d,l(w)) e_l``.

    ``class_energy[l]`` = ``E||P_k||_F^2`` of a sub-product of class ``l`` (eq. 12:
    ``U H Q σ²_{l,A} σ²_{l,B}``; any per-class value is accepted).  If a class mixes
    sub-products of different energies pass their mean: only ``k_l e_l`` enters.
    ``probs`` has shape ``(packets, L)`` (result per row) or ``(L,)`` (a scalar array).

    Examples
    --------
    One sub-product of energy 4 in class 0 and two of energy 1 in class 1; nothing decoded,
    class 0 decoded, everything decoded:

    >>> import numpy as np
    >>> from uepmm.theory import conditional_loss_rxc
    >>> probs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> conditional_loss_rxc(probs, [1, 2], [4.0, 1.0]).tolist()
    [6.0, 2.0, 0.0]
    """
    k = int_sequence(k, "k")
    e = _energies(class_energy, len(k))
    P = _probabilities(probs, len(k))
    return (1.0 - P) @ (np.asarray(k, dtype=np.float64) * e)


def conditional_loss_bound_cxr(
    probs: np.ndarray,
    k: Sequence[int],
    class_energy: Sequence[float],
    num_blocks: int | None = None,
) -> np.ndarray:
    """Eq. 19: the c×r bound ``M sum_l k_l (1 - P_d,l(w)) e_l`` (``M`` defaults to ``K``).

    From ``||sum_m X_m||² <= M sum_m ||X_m||²`` (eqs. 20-22).  Under Assumption 1 with
    independent zero-mean blocks the exact conditional loss is eq. 17 itself, so the bound
    is loose by the factor ``M``.

    Examples
    --------
    The r×c value times ``M = K = 3``:

    >>> import numpy as np
    >>> from uepmm.theory import conditional_loss_bound_cxr
    >>> probs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> conditional_loss_bound_cxr(probs, [1, 2], [4.0, 1.0]).tolist()
    [18.0, 6.0, 0.0]
    """
    k = int_sequence(k, "k")
    M = sum(k) if num_blocks is None else positive_int(num_blocks, "num_blocks")
    return M * conditional_loss_rxc(probs, k, class_energy)


def _conditional_loss(
    P: np.ndarray, k: tuple[int, ...], class_energy: object, partition: str, normalize: bool
) -> np.ndarray:
    if partition == "rxc":
        loss = conditional_loss_rxc(P, k, class_energy)
    else:
        loss = conditional_loss_bound_cxr(P, k, class_energy)
    if normalize:
        total = total_energy(k, class_energy)
        if total == 0.0:
            raise ValueError("class_energy is all zero, so E||C||_F^2 = 0; the normalised loss is undefined")
        loss = loss / total
    return loss


def expected_loss_vs_packets(
    code: str,
    k: Sequence[int],
    gamma: Sequence[float] | None,
    class_energy: Sequence[float],
    max_packets: int | None = None,
    partition: str = "rxc",
    copies: int | None = None,
    q: float = math.inf,
    normalize: bool = False,
) -> np.ndarray:
    """Conditional loss for ``N = 0..max_packets`` received packets (Fig. 10).

    ``partition="rxc"``: eq. 17 (exact); ``"cxr"``: the eq. 19 bound.  With
    ``normalize=True`` divided by ``E||C||_F^2 = sum_l k_l e_l`` (:func:`total_energy`).
    MDS and the baselines use the same formula with their own probabilities.

    Examples
    --------
    >>> from uepmm.theory import expected_loss_vs_packets
    >>> expected_loss_vs_packets("mds", [1, 1, 1], None, [1.0, 1.0, 1.0], normalize=True).tolist()
    [1.0, 1.0, 1.0, 0.0]
    """
    partition = choice(partition, "partition", PARTITIONS)
    P = decoding_probabilities(code, k, gamma, max_packets, copies, q)
    return _conditional_loss(P, tuple(k), class_energy, partition, bool(normalize))


def expected_loss(
    code: str | Code,
    k: Sequence[int],
    gamma: Sequence[float] | None,
    latency: LatencyModel,
    times: float | Sequence[float] | np.ndarray,
    workers: int,
    class_energy: Sequence[float],
    partition: str = "rxc",
    omega: float | None = None,
    copies: int | None = None,
    q: float = math.inf,
    normalize: bool = False,
) -> np.ndarray:
    """``E[L(t)]`` for each time: eq. 13 combined with eq. 17 (Theorem 1, eq. 16, exact for
    r×c) or with eq. 19 (Theorem 2, eq. 18, an upper bound for c×r); shape ``(len(times),)``.

    ``omega`` defaults to ``K / W`` (Remark 1).  ``uncoded`` needs ``workers == K``;
    ``repetition`` needs ``workers == copies * K`` (``copies`` defaults to ``workers / K``).

    Examples
    --------
    Three workers that all answer at time 1: nothing at ``t = 0.5``, everything at ``t = 2``:

    >>> import uepmm
    >>> from uepmm.theory import expected_loss
    >>> expected_loss("mds", [1, 1, 1], None, uepmm.Deterministic(1.0), [0.5, 2.0], workers=3,
    ...               class_energy=[1.0, 1.0, 1.0], omega=1.0).tolist()
    [3.0, 0.0]
    """
    from ..codes.base import make_code

    partition = choice(partition, "partition", PARTITIONS)
    k = int_sequence(k, "k")
    workers = positive_int(workers, "workers")
    K = sum(k)
    code_obj = make_code(
        choice(code, "code", THEORY_CODES) if isinstance(code, str) else code, gamma=gamma, copies=copies
    )
    code_obj = code_obj.for_layout(partition, (K, 1))  # refuses a partition the code cannot serve (MatDot: r×c)
    code_obj.check(ClassTable(tuple(level for level, size in enumerate(k) for _ in range(size))), workers)
    if omega is None:
        omega = K / workers
    require_window_probabilities(code_obj, gamma)
    P = code_obj.decoding_probabilities(k, workers, q=field_size(q), workers=workers)
    conditional = _conditional_loss(P, k, class_energy, partition, bool(normalize))
    return arrival_distribution(latency, times, workers, omega) @ conditional


def sec6_class_energy(partition: str) -> np.ndarray:
    """Per-class ``E||P_k||_F^2`` of the Sec. VI synthetic setting (k = (3, 3, 3)).

    Entries of high/medium/low blocks are N(0, 10) / N(0, 1) / N(0, 0.1).
    r×c: U = Q = 300, H = 900; classes {HH, HM, MH}, {MM, HL, LH}, {ML, LM, LL}; a class's
    energy is the mean of its members' ``U H Q σ_a² σ_b²``, which keeps eq. 17 exact since
    only ``k_l e_l`` (the members' sum) enters: 81e6 × (40, 1, 0.07).
    c×r: U = Q = 900, H = 100, M = 9; classes HH, MM, LL: 81e6 × (100, 1, 0.01).

    Examples
    --------
    >>> import numpy as np
    >>> from uepmm.theory import sec6_class_energy
    >>> bool(np.allclose(sec6_class_energy("cxr"), 81e6 * np.array([100, 1, 0.01])))
    True
    """
    partition = choice(partition, "partition", PARTITIONS)
    v = SEC6_VARIANCES
    if partition == "rxc":
        members = (((0, 0), (0, 1), (1, 0)), ((1, 1), (0, 2), (2, 0)), ((1, 2), (2, 1), (2, 2)))
        return np.asarray(
            [np.mean([sub_product_energy(300, 900, 300, v[a], v[b]) for a, b in cls]) for cls in members]
        )
    return np.asarray([sub_product_energy(900, 100, 900, v[s], v[s]) for s in range(3)])
