"""Importance of blocks and sub-products (paper Sec. IV-A, Sec. VII-C) and class tables.

The flow is: per-row/column statistics -> a permutation that sorts rows/columns by
descending magnitude (c×r: ``A``'s columns and ``B``'s rows jointly, since column ``m``
of ``A`` only meets row ``m`` of ``B``) -> blocks of the permuted matrices -> a score per
sub-product ``stat(A_i) * stat(B_j)`` -> a :class:`ClassTable` mapping every sub-product
to a class ``0..L-1`` (0 = most important).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._validation import choice, int_sequence
from .paper import SEC6_COUNTS, TABLE3_GAMMA, TABLE8_COUNTS  # noqa: F401 (re-exported)
from .partition import Partition
from .sparse import is_sparse
from .sparse import line_stats as sparse_line_stats

__all__ = [
    "STATISTICS",
    "ClassTable",
    "ImportanceOrder",
    "importance_order",
    "block_scores",
    "product_scores",
    "product_scores_from_order",
    "group_levels",
    "energies_from_line_norms",
    "sub_product_energies",
    "classes_by_rank",
    "classes_from_levels",
    "equal_counts",
    "paper_sec6_classes",
    "ClassRule",
    "Rectangles",
    "Singletons",
    "ClassSizes",
    "rectangle_chains",
    "CLASS_RULES",
    "make_class_rule",
    "SEC6_COUNTS",
    "TABLE8_COUNTS",
    "TABLE3_GAMMA",
]

STATISTICS = ("fro", "mean_abs")



@dataclass(frozen=True)
class ClassTable:
    """Class of every sub-product: ``classes[k]`` in ``0..L-1``, 0 the most important.

    Examples
    --------
    >>> import uepmm
    >>> table = uepmm.ClassTable((1, 0, 1, 0))
    >>> table.num_classes, table.counts
    (2, (2, 2))
    >>> table.as_array().tolist()
    [1, 0, 1, 0]
    """

    classes: tuple[int, ...]

    def __post_init__(self) -> None:
        values = tuple(int(c) for c in self.classes)
        if not values:
            raise ValueError("classes must name a class for at least one sub-product")
        if min(values) < 0:
            raise ValueError(f"classes must be >= 0 (0 = most important), got {values}")
        present = set(values)
        missing = [c for c in range(max(values) + 1) if c not in present]
        if missing:
            raise ValueError(
                f"classes must use every class 0..{max(values)} at least once; "
                f"class(es) {missing} are empty in {values}"
            )
        object.__setattr__(self, "classes", values)

    @property
    def num_products(self) -> int:
        return len(self.classes)

    @property
    def num_classes(self) -> int:
        """``L``."""
        return max(self.classes) + 1

    @property
    def counts(self) -> tuple[int, ...]:
        """``(k_1, ..., k_L)``: sub-products per class."""
        return tuple(int(x) for x in np.bincount(self.classes, minlength=self.num_classes))

    def members(self, level: int) -> np.ndarray:
        """Sub-product indices of class ``level``."""
        return np.flatnonzero(np.asarray(self.classes) == level)

    def as_array(self) -> np.ndarray:
        """The classes as a read-only ``int64`` array (built once per table)."""
        cached = self.__dict__.get("_array")
        if cached is None:
            cached = np.asarray(self.classes, dtype=np.int64)
            cached.flags.writeable = False
            self.__dict__["_array"] = cached  # not a field: equality and hashing ignore it
        return cached


@dataclass(frozen=True)
class ImportanceOrder:
    """Permutations applied before partitioning.

    r×c: ``a_perm`` reorders ``A``'s rows and ``b_perm`` ``B``'s columns; c×r: both reorder
    the shared dimension (``A``'s columns and ``B``'s rows) and are equal.

    Examples
    --------
    Permuting the shared dimension (c×r) leaves the product unchanged:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((4, 6)), rng.standard_normal((6, 2))
    >>> order = uepmm.importance_order(A, B, "cxr")
    >>> bool(np.array_equal(order.a_perm, order.b_perm))
    True
    >>> Ap, Bp = order.apply(A, B)
    >>> bool(np.allclose(Ap @ Bp, A @ B))
    True
    """

    kind: str
    a_perm: np.ndarray
    b_perm: np.ndarray
    statistic: str = "fro"
    a_line_stats: np.ndarray | None = None  # per line of A (r×c rows, c×r columns), permuted order
    b_line_stats: np.ndarray | None = None  # per line of B (r×c columns, c×r rows), permuted order

    @classmethod
    def identity(cls, kind: str, A: np.ndarray, B: np.ndarray, statistic: str = "fro") -> ImportanceOrder:
        """No reordering (the statistics are still recorded for the block scores)."""
        a_stats, b_stats = _factor_line_stats(A, B, kind, choice(statistic, "statistic", STATISTICS))
        return cls(kind, np.arange(a_stats.size), np.arange(b_stats.size), statistic, a_stats, b_stats)

    def apply(self, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The permuted ``(A, B)``; their product is ``C`` with permuted rows/columns (r×c) or ``C`` (c×r)."""
        if is_sparse(A) or is_sparse(B):  # scipy sparse: index (their .take is not numpy's)
            if self.kind == "rxc":
                return _take(A, self.a_perm, 0), _take(B, self.b_perm, 1)
            return _take(A, self.a_perm, 1), _take(B, self.b_perm, 0)
        if self.kind == "rxc":
            return A.take(self.a_perm, axis=0), B.take(self.b_perm, axis=1)
        return A.take(self.a_perm, axis=1), B.take(self.b_perm, axis=0)

    def assemble(self, partition: Partition, products: Sequence[np.ndarray | None], dtype=np.float64) -> np.ndarray:
        """``C_hat`` in the original row/column order from sub-products of the permuted factors.

        r×c: each block is written straight to its original rows (a row scatter), and one
        column gather finishes the job -- two passes over ``C`` instead of assemble + restore's three.
        """
        if self.kind == "cxr":
            return partition.assemble(products, dtype=dtype)
        out = np.zeros(partition.c_shape, dtype=dtype)
        for k, product in enumerate(products):
            if product is not None:
                rows, cols = partition.block_slices(k)
                out[self.a_perm[rows], cols] = partition.crop(k, product)
        if np.array_equal(self.b_perm, np.arange(self.b_perm.size)):
            return out
        return out.take(np.argsort(self.b_perm), axis=1)

    def restore(self, C_permuted: np.ndarray) -> np.ndarray:
        """Undo the permutation on a product computed from permuted factors."""
        if self.kind == "cxr":
            return C_permuted
        return C_permuted.take(np.argsort(self.a_perm), axis=0).take(np.argsort(self.b_perm), axis=1)


def _take(M, perm: np.ndarray, axis: int):
    """``M.take(perm, axis)`` for a dense or scipy sparse ``M``."""
    if not is_sparse(M):
        return M.take(perm, axis=axis)
    return M.tocsr()[perm] if axis == 0 else M.tocsc()[:, perm]


def _line_stats(M: np.ndarray, axis: int, statistic: str) -> np.ndarray:
    if is_sparse(M):
        return sparse_line_stats(M, axis, statistic)  # on the stored entries: no densifying
    if statistic == "fro":
        return np.sqrt(np.einsum("ij,ij->i" if axis == 1 else "ij,ij->j", M, M, dtype=np.float64))
    return np.mean(np.abs(M), axis=axis, dtype=np.float64)


def _factor_line_stats(A: np.ndarray, B: np.ndarray, kind: str, statistic: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "rxc":
        return _line_stats(A, 1, statistic), _line_stats(B, 0, statistic)
    return _line_stats(A, 0, statistic), _line_stats(B, 1, statistic)


def importance_order(A: np.ndarray, B: np.ndarray, kind: str, statistic: str = "fro") -> ImportanceOrder:
    """Sort rows/columns by descending magnitude (Sec. VII-C); ties keep their order.

    Examples
    --------
    c×r ranks the shared index ``i`` by ``||A[:, i]|| ||B[i, :]||``:

    >>> import numpy as np, uepmm
    >>> A, B = np.diag([1.0, 3.0, 2.0]), np.eye(3)
    >>> order = uepmm.importance_order(A, B, "cxr")
    >>> order.a_perm.tolist()
    [1, 2, 0]
    """
    statistic = choice(statistic, "statistic", STATISTICS)
    a_stats, b_stats = _factor_line_stats(A, B, kind, statistic)
    return order_from_line_stats(kind, a_stats, b_stats, statistic)


def order_from_line_stats(kind: str, a_stats: np.ndarray, b_stats: np.ndarray, statistic: str) -> ImportanceOrder:
    """:func:`importance_order` from line statistics already computed (r×c: rows of ``A``
    and columns of ``B``; c×r: columns of ``A`` and rows of ``B``), e.g. on another device."""
    if kind == "rxc":
        a_perm = np.argsort(-a_stats, kind="stable")
        b_perm = np.argsort(-b_stats, kind="stable")
    else:
        # c×r: column m of A pairs with row m of B; the outer product's size is the product.
        a_perm = np.argsort(-(a_stats * b_stats), kind="stable")
        b_perm = a_perm.copy()
    return ImportanceOrder(kind, a_perm, b_perm, statistic, a_stats[a_perm], b_stats[b_perm])


def product_scores_from_order(order: ImportanceOrder, partition: Partition) -> np.ndarray:
    """:func:`product_scores` from the line statistics already computed for the order.

    A block's Frobenius norm is the root-sum-square of its lines' norms, and its mean
    absolute value the mean of its lines' (equal-length) means: no second pass over the data.
    """
    def blocks(stats: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        if order.statistic == "fro":
            return np.sqrt(np.add.reduceat(stats**2, starts))
        return np.add.reduceat(stats, starts) / sizes

    a_blocks, b_blocks = partition.factor_blocks
    a, b = blocks(order.a_line_stats, *a_blocks), blocks(order.b_line_stats, *b_blocks)
    # sub-product k multiplies blocks partition.factors(k): r×c row-major (i, j), c×r (k, k)
    return np.multiply.outer(a, b).ravel() if partition.kind == "rxc" else a * b


def energies_from_line_norms(a_norms: np.ndarray, b_norms: np.ndarray, partition: Partition) -> np.ndarray:
    """The parameter server's prior ``E||P_k||_F^2 ≈ ||A_i||_F^2 ||B_j||_F^2 / H_k`` of every sub-product.

    Exact in expectation for blocks with i.i.d. zero-mean entries (docs/design.md, "LMMSE").
    ``a_norms`` / ``b_norms``: Frobenius norms of the lines of ``A`` and ``B`` along the split
    axes, in partition order (r×c: rows of ``A``, columns of ``B``; c×r: the inner lines).
    ``H_k`` is the inner size: ``A``'s columns (r×c) or the block's own lines (c×r).
    """
    (a_starts, a_sizes), (b_starts, b_sizes) = partition.factor_blocks
    a2 = np.add.reduceat(np.square(a_norms, dtype=np.float64), a_starts)
    b2 = np.add.reduceat(np.square(b_norms, dtype=np.float64), b_starts)
    with np.errstate(over="ignore", under="ignore"):
        if partition.kind == "rxc":
            energies = np.multiply.outer(a2, b2).ravel() / partition.a_shape[1]
            nonzero = np.multiply.outer(a2 > 0, b2 > 0).ravel()
        else:
            energies, nonzero = a2 * b2 / a_sizes, (a2 > 0) & (b2 > 0)
    _check_energy_range(energies, nonzero)
    return energies


#: Largest energies at least this keep every underflowed one (at most ``tiny``) below ``eps^2`` of them.
_SAFE_ENERGY = np.finfo(np.float64).tiny / np.finfo(np.float64).eps ** 2


def _check_energy_range(energies: np.ndarray, nonzero: np.ndarray) -> None:
    """Refuse energies that overflowed float64, or underflowed to zero where that is not negligible:
    a zero energy makes the LMMSE decoder zero a sub-product, even one it recovered."""
    finite = bool(np.all(np.isfinite(energies)))
    if finite and not (np.any(nonzero & (energies == 0.0)) and energies.max() < _SAFE_ENERGY):
        return
    direction = "underflow to zero" if finite else "overflow"
    raise ValueError(
        f"A and B are out of range for the prior sub-product energies ||A_i||^2 ||B_j||^2 / H (they {direction} "
        f"in float64; the 'lmmse' decoder, gamma='auto' and code='sampling' use them): multiply A and B by powers "
        f"of two that bring their entries nearer 1 and divide the result by the same, or use decoder='zero'"
    )


def sub_product_energies(order: ImportanceOrder, partition: Partition, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """:func:`energies_from_line_norms` for a planned job: reuses the order's line norms
    (``statistic="fro"``) or computes them from ``A``, ``B`` in the order's permutation."""
    if order.statistic == "fro":
        return energies_from_line_norms(order.a_line_stats, order.b_line_stats, partition)
    a_norms, b_norms = _factor_line_stats(A, B, order.kind, "fro")
    return energies_from_line_norms(a_norms[order.a_perm], b_norms[order.b_perm], partition)


def block_scores(
    A: np.ndarray, B: np.ndarray, partition: Partition, statistic: str = "fro"
) -> tuple[np.ndarray, np.ndarray]:
    """Statistic of every block of ``A`` and of ``B`` (unpadded blocks)."""
    statistic = choice(statistic, "statistic", STATISTICS)

    def stat(block: np.ndarray) -> float:
        if is_sparse(block):
            return float(np.sqrt(np.sum(_line_stats(block, 1, "fro") ** 2)) if statistic == "fro"
                         else np.mean(_line_stats(block, 1, "mean_abs")))
        if statistic == "fro":
            return float(np.linalg.norm(block))
        return float(np.mean(np.abs(block)))

    if partition.kind == "rxc":
        a = [stat(A[lo:hi]) for lo, hi in zip(partition.row_edges, partition.row_edges[1:])]
        b = [stat(B[:, lo:hi]) for lo, hi in zip(partition.col_edges, partition.col_edges[1:])]
    else:
        edges = partition.inner_edges
        a = [stat(A[:, lo:hi]) for lo, hi in zip(edges, edges[1:])]
        b = [stat(B[lo:hi]) for lo, hi in zip(edges, edges[1:])]
    return np.asarray(a), np.asarray(b)


def product_scores(A: np.ndarray, B: np.ndarray, partition: Partition, statistic: str = "fro") -> np.ndarray:
    """Estimated importance of every sub-product: ``stat(A_i) * stat(B_j)``.

    With ``"fro"`` this is the bound ``||A_i B_j||_F <= ||A_i||_F ||B_j||_F``; under the
    paper's Assumption 1 its square is proportional to ``E||P_k||_F^2`` (eq. 12).

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> A, B = np.diag([1.0, 3.0, 2.0]), np.eye(3)
    >>> layout = uepmm.make_partition(A.shape, B.shape, "cxr", 3)
    >>> uepmm.product_scores(A, B, layout).tolist()
    [1.0, 3.0, 2.0]
    """
    a, b = block_scores(A, B, partition, statistic)
    return np.asarray([a[i] * b[j] for i, j in map(partition.factors, range(partition.num_products))])


def equal_counts(total: int, parts: int) -> tuple[int, ...]:
    """Split ``total`` items into ``parts`` near-equal groups, larger groups first."""
    parts = min(parts, total)
    base, extra = divmod(total, parts)
    return tuple(base + (1 if i < extra else 0) for i in range(parts))


def group_levels(scores: Sequence[float], levels: int, method: str = "count") -> np.ndarray:
    """Importance level (0 = highest) of each item, grouping by descending score.

    ``method="count"``: ``levels`` groups of (near) equal size.  ``method="weight"``: groups
    of (near) equal cumulative score, so a few heavy items can fill the top level alone.

    Examples
    --------
    >>> import uepmm
    >>> uepmm.group_levels([5, 1, 3, 2], 2).tolist()
    [0, 1, 0, 1]
    >>> uepmm.group_levels([10, 1, 1, 1], 2, method="weight").tolist()  # one heavy item fills level 0
    [0, 1, 1, 1]
    """
    method = choice(method, "method", ("count", "weight"))
    scores = np.asarray(scores, dtype=np.float64)
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    if levels > scores.size:
        raise ValueError(f"levels={levels} exceeds the number of items ({scores.size}); use levels <= {scores.size}")
    ranked = np.argsort(-scores, kind="stable")
    out = np.empty(scores.size, dtype=np.int64)
    if method == "count":
        sizes = equal_counts(scores.size, levels)
    else:
        cumulative = np.cumsum(scores[ranked])
        total = cumulative[-1]
        if total <= 0:
            sizes = equal_counts(scores.size, levels)
        else:
            # item r goes to the level of the share its cumulative weight falls in
            raw = np.minimum((cumulative - scores[ranked] / 2) / total * levels, levels - 1).astype(int)
            raw = np.maximum.accumulate(raw)
            sizes = tuple(int(np.sum(raw == s)) for s in range(levels))
            if min(sizes) == 0:  # keep every level non-empty
                sizes = _fill_empty(sizes)
    start = 0
    for level, size in enumerate(sizes):
        out[ranked[start : start + size]] = level
        start += size
    return out


def _fill_empty(sizes: tuple[int, ...]) -> tuple[int, ...]:
    sizes_list = list(sizes)
    for i in range(len(sizes_list)):
        if sizes_list[i] == 0:
            donor = int(np.argmax(sizes_list))
            sizes_list[donor] -= 1
            sizes_list[i] += 1
    return tuple(sizes_list)


def classes_by_rank(scores: Sequence[float], counts: Sequence[int]) -> ClassTable:
    """Rank sub-products by descending score; the first ``k_1`` form class 0, and so on.

    Examples
    --------
    The two highest scores form class 0:

    >>> import uepmm
    >>> uepmm.classes_by_rank([0.5, 3.0, 1.0, 2.0], [2, 2]).classes
    (1, 0, 1, 0)
    """
    counts = int_sequence(counts, "class_counts")
    scores = np.asarray(scores, dtype=np.float64)
    if sum(counts) != scores.size:
        raise ValueError(
            f"class_counts {counts} sum to {sum(counts)} but there are K = {scores.size} sub-products; "
            f"the counts must add up to K"
        )
    ranked = np.argsort(-scores, kind="stable")
    classes = np.empty(scores.size, dtype=np.int64)
    start = 0
    for level, size in enumerate(counts):
        classes[ranked[start : start + size]] = level
        start += size
    return ClassTable(tuple(classes.tolist()))


def classes_from_levels(level_a: Sequence[int], level_b: Sequence[int], partition: Partition) -> ClassTable:
    """Class of each sub-product from the levels of its two factors (Sec. IV-A).

    The pair ``(s_a, s_b)`` is unordered (HM and MH are one class); pairs are ranked by
    ``s_a + s_b`` and then by the larger level, giving ``L <= S(S+1)/2`` classes (only pairs
    that occur are numbered).

    Examples
    --------
    A 2×2 r×c grid whose row blocks and column blocks are at levels high (0) and low (1):
    HH is class 0, HL and LH share class 1, LL is class 2.

    >>> import uepmm
    >>> layout = uepmm.make_partition((4, 4), (4, 4), "rxc", 4)
    >>> uepmm.classes_from_levels([0, 1], [0, 1], layout).classes
    (0, 1, 1, 2)
    """
    level_a, level_b = np.asarray(level_a), np.asarray(level_b)
    pairs = []
    for k in range(partition.num_products):
        i, j = partition.factors(k)
        lo, hi = sorted((int(level_a[i]), int(level_b[j])))
        pairs.append((lo + hi, hi, lo))
    ranking = {pair: rank for rank, pair in enumerate(sorted(set(pairs)))}
    return ClassTable(tuple(ranking[p] for p in pairs))


def paper_sec6_classes(kind: str) -> ClassTable:
    """The explicit class tables of Sec. VI (K = 9, k = (3, 3, 3)).

    r×c (3×3 blocks, ``k = 3n + p``): {HH, HM, MH}, {MM, HL, LH}, {ML, LM, LL}.
    c×r (M = 9): sub-products 1-3, 4-6, 7-9.

    Examples
    --------
    >>> import uepmm
    >>> uepmm.paper_sec6_classes("cxr").classes
    (0, 0, 0, 1, 1, 1, 2, 2, 2)
    >>> uepmm.paper_sec6_classes("rxc").classes  # HH HM HL / MH MM ML / LH LM LL
    (0, 0, 1, 0, 1, 2, 1, 2, 2)
    """
    kind = choice(kind, "partition", ("rxc", "cxr"))
    if kind == "rxc":
        #        p: H  M  L
        return ClassTable((0, 0, 1,   # n = H
                           0, 1, 2,   # n = M
                           1, 2, 2))  # n = L
    return ClassTable((0, 0, 0, 1, 1, 1, 2, 2, 2))


# ---------------------------------------------------------------------------- class rules
class ClassRule:
    """A class table made per job from the block scores, given as ``classes=`` by name
    (:data:`CLASS_RULES`) or as an object (:class:`Rectangles`, :class:`Singletons`).

    :meth:`for_layout` checks the rule against the partition and binds it to the grid;
    :meth:`table` builds the job's table from the sub-products' scores (:func:`product_scores`);
    :meth:`uniform_table` is the table with the blocks already in importance order (what is
    known before the data).  A *designed* rule (:attr:`designed`: ``Rectangles("auto")``,
    ``ClassSizes("auto")``) has no table of its own: with ``gamma="auto"`` the planner picks one of
    its :meth:`candidates` together with ``Γ`` for the job (:func:`uepmm.design.windows.design_windows`).
    """

    name = "rule"
    designed = False

    def candidates(self) -> tuple[ClassRule, ...]:
        """The fixed rules a designed rule chooses from, its default first."""
        raise ValueError(f"classes={self.name!r} is a fixed structure, not a designed one; it has no candidates")

    def for_layout(self, kind: str, grid: tuple[int, int]) -> ClassRule:  # pragma: no cover
        raise NotImplementedError

    def table(self, scores: Sequence[float]) -> ClassTable:  # pragma: no cover
        raise NotImplementedError

    def uniform_table(self) -> ClassTable:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Rectangles(ClassRule):
    """Nested rectangle classes of the r×c grid (docs/beyond.md, "One block product per packet").

    The row blocks ``A_n`` and the column blocks ``B_p`` are ranked by their scores (a sub-product's
    score is ``stat(A_n) stat(B_p)``, so row ``n``'s largest score ranks ``A_n``, likewise the
    columns; after the importance permutation the blocks are in order); window ``l`` is the rectangle
    {top ``r_l`` row blocks} × {top ``c_l`` column blocks} and class ``l`` the cells it adds
    to window ``l − 1``.  With ``code="ew"`` every window is a rectangle, so ``encoding="factor"``
    (eq. 11) sends ``(Σ α_n A_n)(Σ β_p B_p)``: one block product per packet.

    Parameters
    ----------
    sides : tuple of (int, int) or None
        ``((r_1, c_1), ..., (r_L, c_L))``, non-decreasing in both, each window larger than the
        one before, the last the whole ``N × P`` grid.  Default (``None``): ``L = min(N, P)``
        windows ``r_l = ⌈l N / L⌉``, ``c_l = ⌈l P / L⌉`` (N = P = 3: classes of 1, 3 and 5
        sub-products, ``[[0, 1, 2], [1, 1, 2], [2, 2, 2]]``).
        ``"auto"``: designed with ``Γ`` for each job (``gamma="auto"``, :attr:`designed`): the candidates are
        every nested chain of at most ``max_windows`` rectangles (:func:`rectangle_chains`), the default first.
    grid : (int, int) or None
        The ``(N, P)`` grid, set by :meth:`for_layout`.
    max_windows : int
        ``sides="auto"``: the longest chain tried (3 × 3 grid: 46 chains up to 4 windows, 28 up to 3).

    Examples
    --------
    >>> from uepmm.importance import Rectangles
    >>> rule = Rectangles().for_layout("rxc", (3, 3))
    >>> rule.windows
    ((1, 1), (2, 2), (3, 3))
    >>> rule.uniform_table().classes
    (0, 1, 2, 1, 1, 2, 2, 2, 2)
    >>> Rectangles(((1, 2), (3, 4))).for_layout("rxc", (3, 4)).uniform_table().counts
    (2, 10)
    """

    sides: tuple[tuple[int, int], ...] | str | None = None
    grid: tuple[int, int] | None = None
    max_windows: int = 4

    @property
    def name(self) -> str:  # type: ignore[override]
        return "rectangles-auto" if self.designed else "rectangles"

    @property
    def designed(self) -> bool:  # type: ignore[override]
        return isinstance(self.sides, str)

    def for_layout(self, kind: str, grid: tuple[int, int]) -> Rectangles:
        if kind != "rxc":
            raise ValueError(
                "classes='rectangles' is for partition 'rxc' (rectangles of the N x P grid of A_n B_p); for "
                "'cxr' use classes='singletons' or class_counts=(k_1, ..., k_L)"
            )
        N, P = int(grid[0]), int(grid[1])
        if isinstance(self.sides, str):
            if self.sides != "auto":
                raise ValueError(f"Rectangles sides must be pairs (rows, columns) or 'auto', got {self.sides!r}")
            if isinstance(self.max_windows, bool) or not isinstance(self.max_windows, (int, np.integer)) \
                    or self.max_windows < 1:
                raise ValueError(f"Rectangles max_windows must be an integer >= 1, got {self.max_windows!r}")
            return Rectangles("auto", (N, P), int(self.max_windows))
        sides = None if self.sides is None else _rectangle_sides(self.sides, (N, P))
        return Rectangles(sides, (N, P))

    def candidates(self) -> tuple[Rectangles, ...]:
        """``sides="auto"``: the default rectangles, then every other chain of :func:`rectangle_chains`."""
        if not self.designed:
            return super().candidates()  # type: ignore[return-value]
        default = Rectangles(None, self.grid)
        first = default.windows
        chains = [c for c in rectangle_chains(self.grid, self.max_windows) if c != first]
        return (default, *(Rectangles(c, self.grid) for c in chains))

    @property
    def windows(self) -> tuple[tuple[int, int], ...]:
        """The resolved sides ``((r_1, c_1), ..., (r_L, c_L))`` (the default's for ``sides=None``)."""
        return self._bound()[0]

    def _bound(self) -> tuple[tuple[tuple[int, int], ...], tuple[int, int]]:
        if self.grid is None:
            raise ValueError("Rectangles needs its grid: bind it with .for_layout('rxc', (N, P)) first")
        N, P = self.grid
        if isinstance(self.sides, str):
            raise ValueError(
                "Rectangles('auto') is chosen with gamma for each job: give gamma='auto' (the planner designs the "
                "sides with Γ, uepmm.design.windows), or fix the sides"
            )
        if self.sides is not None:
            return self.sides, self.grid
        L = min(N, P)
        return tuple((-(-level * N // L), -(-level * P // L)) for level in range(1, L + 1)), self.grid

    def table_from_ranks(self, row_rank: np.ndarray, col_rank: np.ndarray) -> ClassTable:
        """The table when row block ``n`` is the ``row_rank[n]``-th most important (0 = top), likewise columns."""
        sides, (N, P) = self._bound()
        r = np.asarray([s[0] for s in sides])
        c = np.asarray([s[1] for s in sides])
        inside = (np.asarray(row_rank)[:, None, None] < r) & (np.asarray(col_rank)[None, :, None] < c)
        return ClassTable(tuple(np.argmax(inside, axis=2).ravel().tolist()))  # the first window holding the cell

    def table(self, scores: Sequence[float]) -> ClassTable:
        _, (N, P) = self._bound()
        grid = np.asarray(scores, dtype=np.float64).reshape(N, P)
        rank = lambda s: np.argsort(np.argsort(-s, kind="stable"), kind="stable")  # noqa: E731
        return self.table_from_ranks(rank(grid.max(axis=1)), rank(grid.max(axis=0)))

    def uniform_table(self) -> ClassTable:
        """The table with the blocks in importance order (``sides="auto"``: the default sides')."""
        if self.designed and self.grid is not None:
            return Rectangles(None, self.grid).uniform_table()
        _, (N, P) = self._bound()
        return self.table_from_ranks(np.arange(N), np.arange(P))


def rectangle_chains(grid: tuple[int, int], max_windows: int) -> list[tuple[tuple[int, int], ...]]:
    """Every nested chain ``((r_1, c_1), ..., (N, P))`` of at most ``max_windows`` rectangles of the grid.

    Examples
    --------
    >>> from uepmm.importance import rectangle_chains
    >>> rectangle_chains((2, 2), 2)
    [((2, 2),), ((1, 1), (2, 2)), ((1, 2), (2, 2)), ((2, 1), (2, 2))]
    >>> len(rectangle_chains((3, 3), 4)), len(rectangle_chains((3, 3), 9))
    (46, 52)
    """
    N, P = grid
    corners = [(r, c) for r in range(1, N + 1) for c in range(1, P + 1) if (r, c) != (N, P)]
    out: list[tuple[tuple[int, int], ...]] = []

    def extend(prefix: tuple[tuple[int, int], ...]) -> None:
        out.append((*prefix, (N, P)))
        if len(prefix) + 1 >= max_windows:
            return
        last = prefix[-1] if prefix else (0, 0)
        for r, c in corners:
            if r >= last[0] and c >= last[1] and (r, c) != last:
                extend((*prefix, (r, c)))

    extend(())
    return sorted(out, key=lambda chain: (len(chain), chain))


def _rectangle_sides(sides: object, grid: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    N, P = grid
    hint = f"e.g. Rectangles(sides=((1, 1), (2, 2), ({N}, {P})))"
    try:
        out = tuple((int(r), int(c)) for r, c in sides)  # type: ignore[attr-defined]
        exact = all(r == rr and c == cc for (r, c), (rr, cc) in zip(out, sides))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"Rectangles sides must be pairs (rows, columns) of integers, {hint}; got {sides!r}") from None
    if not out or not exact:
        raise TypeError(f"Rectangles sides must be a non-empty sequence of integer pairs, {hint}; got {sides!r}")
    for level, (r, c) in enumerate(out):
        if not (1 <= r <= N and 1 <= c <= P):
            raise ValueError(f"Rectangles side {level} is {r} x {c}, outside the {N} x {P} grid; {hint}")
    for level in range(1, len(out)):
        (r0, c0), (r1, c1) = out[level - 1], out[level]
        if r1 < r0 or c1 < c0 or (r1, c1) == (r0, c0):
            raise ValueError(
                f"Rectangles sides must be nested, each window larger than the one before: {r0} x {c0} is "
                f"followed by {r1} x {c1}; {hint}"
            )
    if out[-1] != (N, P):
        raise ValueError(
            f"the last of the Rectangles sides must be the whole {N} x {P} grid (every sub-product in a class), "
            f"got {out[-1][0]} x {out[-1][1]}; {hint}"
        )
    return out


@dataclass(frozen=True)
class Singletons(ClassRule):
    """One class per sub-product, ranked by score (class 0 the most important): with ``code="now"``
    every packet is one sub-product (importance-weighted repetition, one block product; the window
    probabilities ``Γ`` weight the sub-products, e.g. ``gamma="auto"``); with ``code="ew"`` the
    windows are the top ``l`` sub-products.

    Parameters
    ----------
    num_products : int or None
        ``K``, set by :meth:`for_layout`.

    Examples
    --------
    >>> from uepmm.importance import Singletons
    >>> Singletons().table([0.5, 3.0, 1.0]).classes
    (2, 0, 1)
    """

    num_products: int | None = None
    name = "singletons"

    def for_layout(self, kind: str, grid: tuple[int, int]) -> Singletons:
        return Singletons(int(grid[0]) * int(grid[1]))

    def table(self, scores: Sequence[float]) -> ClassTable:
        return classes_by_rank(scores, (1,) * len(scores))

    def uniform_table(self) -> ClassTable:
        if self.num_products is None:
            raise ValueError("Singletons needs K: bind it with .for_layout(kind, grid) first")
        return ClassTable(tuple(range(self.num_products)))


@dataclass(frozen=True)
class ClassSizes(ClassRule):
    """Nested prefixes of the importance order: class ``l`` is the next ``k_l`` sub-products by score.

    Parameters
    ----------
    counts : tuple of int or "auto"
        ``(k_1, ..., k_L)`` summing to ``K`` (as ``class_counts``), or ``"auto"``: designed with ``Γ`` for each
        job (``gamma="auto"``, :attr:`designed`).  The candidates are the singletons (one class per
        sub-product, the default), ``L = 1`` (one class) and every ``(k_1, ..., k_L)`` with
        ``2 <= L <= max_classes`` whose sizes do not decrease (a more important class is never larger than a
        less important one: K = 9, ``max_classes = 4``: 17 such vectors, 19 candidates in all).
    num_products : int or None
        ``K``, set by :meth:`for_layout`.
    max_classes : int
        ``counts="auto"``: the most classes tried besides the singletons.

    Examples
    --------
    >>> from uepmm.importance import ClassSizes
    >>> ClassSizes((1, 2)).table([0.5, 3.0, 1.0]).classes
    (1, 0, 1)
    >>> [rule.counts for rule in ClassSizes("auto", max_classes=2).for_layout("cxr", (4, 1)).candidates()]
    [(1, 1, 1, 1), (4,), (1, 3), (2, 2)]
    """

    counts: tuple[int, ...] | str = "auto"
    num_products: int | None = None
    max_classes: int = 4

    @property
    def name(self) -> str:  # type: ignore[override]
        return "sizes-auto" if self.designed else "sizes"

    @property
    def designed(self) -> bool:  # type: ignore[override]
        return isinstance(self.counts, str)

    def for_layout(self, kind: str, grid: tuple[int, int]) -> ClassSizes:
        K = int(grid[0]) * int(grid[1])
        if isinstance(self.counts, str):
            if self.counts != "auto":
                raise ValueError(f"ClassSizes counts must be (k_1, ..., k_L) or 'auto', got {self.counts!r}")
            if isinstance(self.max_classes, bool) or not isinstance(self.max_classes, (int, np.integer)) \
                    or self.max_classes < 1:
                raise ValueError(f"ClassSizes max_classes must be an integer >= 1, got {self.max_classes!r}")
            return ClassSizes("auto", K, int(self.max_classes))
        counts = int_sequence(self.counts, "ClassSizes counts")
        if sum(counts) != K:
            raise ValueError(f"ClassSizes counts {counts} sum to {sum(counts)} but the partition has K = {K} "
                             f"sub-products; the counts must add up to K")
        return ClassSizes(counts, K)

    def candidates(self) -> tuple[ClassSizes, ...]:
        if not self.designed:
            return super().candidates()  # type: ignore[return-value]
        K = self._products()
        vectors = [(1,) * K, (K,)]
        for L in range(2, min(self.max_classes, K) + 1):
            vectors += [v for v in _non_decreasing(K, L) if v not in vectors]
        return tuple(ClassSizes(v, K) for v in dict.fromkeys(vectors))

    def _products(self) -> int:
        if self.num_products is None:
            raise ValueError("ClassSizes needs K: bind it with .for_layout(kind, grid) first")
        return self.num_products

    def table(self, scores: Sequence[float]) -> ClassTable:
        if self.designed:
            raise ValueError(
                "ClassSizes('auto') is chosen with gamma for each job: give gamma='auto' (the planner designs the "
                "class sizes with Γ, uepmm.design.windows), or fix the counts"
            )
        return classes_by_rank(scores, self.counts)

    def uniform_table(self) -> ClassTable:
        """The table with the sub-products in importance order (``counts="auto"``: the singletons')."""
        counts = (1,) * self._products() if self.designed else self.counts
        return ClassTable(tuple(level for level, size in enumerate(counts) for _ in range(size)))


def _non_decreasing(total: int, parts: int) -> list[tuple[int, ...]]:
    """Every ``(k_1 <= ... <= k_parts)`` of positive integers summing to ``total``."""
    if parts == 1:
        return [(total,)]
    return [(first, *rest) for first in range(1, total // parts + 1)
            for rest in _non_decreasing(total - first, parts - 1) if rest[0] >= first]


#: The class rules ``classes=`` takes by name (``*-auto``: designed with Γ for each job, ``gamma="auto"``).
CLASS_RULES: dict[str, Callable[[], ClassRule]] = {
    "rectangles": Rectangles,
    "singletons": Singletons,
    "rectangles-auto": lambda: Rectangles("auto"),
    "sizes-auto": lambda: ClassSizes("auto"),
}


def make_class_rule(value: str | ClassRule) -> ClassRule:
    """The :class:`ClassRule` named ``value`` (:data:`CLASS_RULES`), or ``value`` itself."""
    if isinstance(value, ClassRule):
        return value
    return CLASS_RULES[choice(value, "classes", tuple(CLASS_RULES))]()
