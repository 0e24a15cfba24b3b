"""What every code produces: one coefficient row per worker (docs/design.md §3).

Worker ``w`` computes the packet ``Y_w = sum_k G[w, k] P_k``; the support of row ``w`` is
the window it drew.  The optional factor form of paper eq. (11) sends
``W_A = sum_n alpha_n A_n`` and ``W_B = sum_p beta_p B_p`` instead; it is valid only when
the support is a rectangle ``{rows} × {cols}`` of the r×c grid (then ``G[w] = alpha ⊗ beta``),
or a single sub-product in c×r.  :func:`to_factor_form` enforces that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .._validation import choice
from ..decoding import RecoveryTracker, recoverable, recovery_curve
from ..importance import ClassTable
from ..partition import Partition

__all__ = [
    "Encoding", "Code", "ThresholdCode", "to_factor_form", "packet_work", "make_code", "register_code", "code_names",
]


@dataclass(frozen=True)
class Encoding:
    """The code's output for one job.

    ``generator``: ``(W, K)`` coefficient rows.  ``windows``: the window each worker drew
    (class index for NOW/EW, the sub-product for uncoded/repetition, 0 for MDS).
    ``factors``: for the factor form, per worker ``(alpha, beta)`` over ``A``/``B`` blocks.

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> encoding = uepmm.Uncoded().encode(uepmm.ClassTable((0, 1, 2)), 3, np.random.default_rng(0))
    >>> encoding.generator.tolist()  # worker w computes sub-product w
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    >>> encoding.windows.tolist(), encoding.factors is None
    ([0, 1, 2], True)
    """

    generator: np.ndarray
    windows: np.ndarray
    factors: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None

    @property
    def workers(self) -> int:
        return int(self.generator.shape[0])

    @property
    def num_products(self) -> int:
        return int(self.generator.shape[1])

    def support(self, worker: int) -> np.ndarray:
        """Sub-products that worker ``worker``'s packet combines."""
        return np.flatnonzero(self.generator[worker])


class Code:
    """A linear code over the ``K`` sub-products; subclasses draw the coefficient rows.

    A code describes itself, so that nothing outside ``codes/`` needs its name:

    * :attr:`uses_window_probabilities`: it draws windows with probabilities ``Gamma``;
      :meth:`window_masks`: the sub-products of each window; :attr:`expanding`: window ``l``
      holds classes ``1..l`` (nested windows, EW) rather than class ``l`` alone (NOW);
    * :attr:`class_aware`: its rows depend on the class table (else only ``K`` matters);
    * :attr:`deterministic`: its rows involve no random draw;
    * :meth:`recovery_threshold`: the least ``n`` such that ANY ``n`` packets recover
      everything, where one exists;
    * :meth:`task_count`: how many distinct tasks it has (fixed-task codes), else ``None``;
    * :meth:`packet_work`: the block products each worker's packet costs (:meth:`cxr_packet_work`:
      the same before any draw, where every packet costs the same);
    * :meth:`response_times` / :meth:`unit_rows`: a code's own response-time rule, if any;
    * :meth:`for_layout`: the code bound to a partition's grid (or refusing the partition);
    * :meth:`decoding_probabilities`: analytic ``P_d,l(N)`` (paper eqs. 14-15) where
      :mod:`uepmm.theory` has them;
    * :meth:`recovery_tracker`, :meth:`recoverable`, :meth:`recovery_curve`: which
      sub-products the received packets determine (default: the rank decision of
      :mod:`uepmm.decoding` on the coefficient rows); every caller asks the code;
    * :meth:`decoder_for`: the decoder that really forms ``C_hat`` (default: the one
      requested; a code whose estimate the scheme itself defines returns its own);
    * :attr:`needs_energies` / :meth:`with_energies`: a code whose rows depend on the
      data (norm-weighted sampling) is bound to the PS's sub-product energies per job.

    Adding a code is one module in ``codes/`` plus its entry in :data:`uepmm.codes.CODES`.

    Examples
    --------
    A code is asked, never named: what it draws, what it guarantees, what a packet costs.

    >>> import numpy as np, uepmm
    >>> code = uepmm.MDS()
    >>> code.uses_window_probabilities, code.class_aware, code.recovery_threshold(3)
    (False, False, 3)
    >>> encoding = code.encode(uepmm.ClassTable((0, 1, 2)), 5, np.random.default_rng(0))
    >>> encoding.generator.shape
    (5, 3)
    >>> code.recoverable(encoding.generator[:3]).tolist()  # any 3 packets recover all 3 blocks
    [True, True, True]
    """

    name = "code"
    uses_window_probabilities = False
    #: Window codes: window ``l`` holds classes ``1..l`` (expanding, nested windows), not class ``l`` alone.
    expanding = False
    class_aware = False
    deterministic = False
    #: A free worker starts a copy of an unfinished task (speculative backups): the job carries each
    #: worker's copy durations (``Job.copy_times``), and a backend may run the rule for real.
    backup_copies = False
    #: the rows depend on the PS's prior sub-product energies (:meth:`with_energies` binds them).
    needs_energies = False
    #: ``gamma="auto"`` can design its window probabilities (:mod:`uepmm.design` models its windows).
    designable_gamma = False
    #: How a worker that finishes before the deadline gets its next packet (``JobSpec.adaptive``,
    #: :mod:`uepmm.adaptive`): ``"copy"`` (a copy of the longest-running unfinished task),
    #: ``"window"`` (a window drawn from ``Γ`` restricted to windows not yet recovered, then
    #: :meth:`adaptive_row`), ``"row"`` (a fresh row of the same family, :meth:`adaptive_row`),
    #: or ``None``: the code takes no adaptive packets.
    adaptive_rule: str | None = None
    #: Why the Dask backend cannot run the code (``None``: it can); ``JobSpec(backend="dask")`` says so.
    simulator_only: str | None = None
    #: Why the Dask backend runs the code only by pull execution (``latency=None``), or ``None``.
    needs_pull: str | None = None
    #: Late speculation (:class:`uepmm.codes.speculative.LateRule`) the code runs, or ``None``.
    late_rule = None
    #: Why the code takes no adaptive packets (the error ``JobSpec(adaptive=True)`` raises).
    adaptive_refusal = "it has no rule for a next packet"

    def check(self, classes: ClassTable, workers: int) -> None:
        """Raise ``ValueError`` if this code cannot run with these classes and workers."""

    def for_layout(self, kind: str, grid: tuple[int, int]) -> Code:
        """This code for partition ``kind`` with grid ``(N, P)`` / ``(M, 1)``: ``self`` unless the rows
        depend on the layout (polynomial codes); ``ValueError`` for a partition the code cannot serve."""
        return self

    def encode(self, classes: ClassTable, workers: int, rng: np.random.Generator) -> Encoding:
        self.check(classes, workers)
        return self._encode(classes, workers, rng)

    def _encode(self, classes: ClassTable, workers: int, rng: np.random.Generator) -> Encoding:  # pragma: no cover
        raise NotImplementedError

    def recovery_tracker(self, num_products: int):
        """Per-packet recovery decision: ``add(row)`` returns the newly recovered sub-products,
        ``recovered`` is the ``(K,)`` flag array (default: :class:`uepmm.decoding.RecoveryTracker`)."""
        return RecoveryTracker(num_products)

    def recoverable(self, rows: np.ndarray) -> np.ndarray:
        """``(K,)`` flags: sub-products determined by all the received coefficient ``rows`` together."""
        return recoverable(rows)

    def recovery_curve(self, rows: np.ndarray) -> np.ndarray:
        """``out[i, k]``: sub-product ``k`` recovered from the first ``i`` rows (``i = 0..n``)."""
        return recovery_curve(rows)

    def recovery_curve_from(self, encoding: Encoding, arrivals: np.ndarray) -> np.ndarray:
        """:meth:`recovery_curve` of the packets of workers ``arrivals`` (indices, in arrival order).

        The form the rows-only paths (figure Monte Carlo, ``uepmm compare``, the lean training
        path) use: a code whose decision depends on more than the rows (MatDot: the evaluation
        points and the conditioning of their system) overrides it.
        """
        return self.recovery_curve(encoding.generator[np.asarray(arrivals, dtype=np.int64)])

    def recovered_from(self, encoding: Encoding, arrivals: np.ndarray) -> np.ndarray:
        """``(K,)``: what the packets of workers ``arrivals`` (in arrival order) recover together."""
        arrivals = np.asarray(arrivals, dtype=np.int64)
        if arrivals.size == 0:
            return np.zeros(encoding.num_products, dtype=bool)
        return self.recoverable(encoding.generator[arrivals])

    def decoder_for(self, requested):
        """The :class:`~uepmm.decoders.Decoder` that forms ``C_hat`` when ``requested`` was asked for:
        ``requested`` itself, unless the scheme defines its own estimate (then the request is ignored,
        and ``Result.report["decoder"]`` names the decoder that ran)."""
        return requested

    def with_energies(self, energies: np.ndarray, partition: Partition) -> Code:
        """This code bound to one job's prior sub-product energies (``self`` unless :attr:`needs_energies`)."""
        return self

    def recovery_threshold(self, num_products: int) -> int | None:
        """The least ``n`` such that any ``n`` packets recover all ``K`` sub-products (``None``: no such ``n``)."""
        return None

    def task_count(self, num_products: int) -> int | None:
        """Distinct tasks of a fixed-task code (``None`` for rateless codes)."""
        return None

    def packet_work(self, encoding: Encoding, partition: Partition) -> np.ndarray:
        """Block products each worker computes for its packet, the cheapest exact evaluation (``(W,)``)."""
        return packet_work(encoding, partition)

    def cxr_packet_work(self, num_products: int) -> int | None:
        """Block products of every packet in c×r, where all packets cost the same (``None``: the work
        depends on the window drawn, :meth:`window_masks`)."""
        return None

    def window_masks(self, classes: ClassTable) -> list[np.ndarray]:
        """Window codes: one ``(K,)`` mask per window ``l = 0..L-1``, the sub-products a packet of
        that window combines.  ``ValueError`` for a code that draws no windows."""
        raise ValueError(f"code {self.name!r} draws no windows; window_masks is for the window codes 'now' and 'ew'")

    def adaptive_row(self, classes: ClassTable, window: int, rng: np.random.Generator) -> np.ndarray:
        """A fresh coefficient row ``(K,)`` for an adaptive packet of ``window`` (:attr:`adaptive_rule`
        ``"window"`` or ``"row"``), drawn from ``rng`` as :meth:`encode` draws a worker's row."""
        raise ValueError(f"code {self.name!r} takes no adaptive packets: {self.adaptive_refusal}")

    def unit_rows(self, num_products: int, default: int) -> int:
        """Rows of unit latency draws the job needs (:func:`uepmm.draw.draw_unit_times`); ``default``
        is the layout's most work per packet.  Codes with their own :meth:`response_times` override it."""
        return default

    def response_times(self, units: np.ndarray, omega: float) -> np.ndarray | None:
        """The code's own response-time rule from the unit draws ``(rows, W)`` (speculative copies);
        ``None``: the engine's (one draw per unit of work over ``Ω``, :func:`uepmm.draw.response_times`)."""
        return None

    def decoding_probabilities(
        self, k: Sequence[int], max_packets: int, *, q: float = math.inf, workers: int | None = None
    ) -> np.ndarray:
        """``P_d,l(N)`` for ``N = 0..max_packets`` and each class (shape ``(max_packets + 1, L)``).

        ``q`` is the field size (``inf``: the paper's large-field limit); ``workers`` lets a
        code resolve parameters that depend on it.  Codes without a closed form raise ``ValueError``.
        """
        raise ValueError(f"code {self.name!r} has no analytic decoding probabilities")

    def all_decoded_probability(self, k: Sequence[int], max_packets: int, *, workers: int | None = None) -> np.ndarray:
        """``P(every sub-product recovered | N)`` for ``N = 0..max_packets`` (large field).

        Not the product of the per-class probabilities (the classes share the packets).
        Codes without a closed form raise ``ValueError``.
        """
        raise ValueError(f"code {self.name!r} has no analytic probability of decoding everything")


class ThresholdCode(Code):
    """A code of which ANY ``K`` packets recover all ``K`` sub-products, and fewer recover
    nothing (with probability one): MDS, polynomial.  Everything or nothing at ``N = K``."""

    def recovery_threshold(self, num_products: int) -> int:
        return num_products

    def cxr_packet_work(self, num_products: int) -> int:
        """Every packet combines all ``K`` sub-products (a full row)."""
        return num_products

    def decoding_probabilities(self, k, max_packets, *, q=math.inf, workers=None):
        large_field_only(self.name, q)
        return np.repeat(self.all_decoded_probability(k, max_packets)[:, None], len(k), axis=1)

    def all_decoded_probability(self, k, max_packets, *, workers=None):
        return (np.arange(max_packets + 1) >= sum(k)).astype(np.float64)


def packet_work(encoding: Encoding, partition: Partition) -> np.ndarray:
    """Block products per packet (docs/design.md §4).

    c×r: the window's size (one product of inner size ``s H``).  r×c: the rank of the
    ``N × P`` coefficient pattern, at most the number of distinct row or column blocks
    (``sum_n A_n (sum_p g_np B_p)``).  The factor form (eq. 11) costs one.

    Examples
    --------
    In c×r an MDS row combines all ``M`` sub-products, so each packet costs ``M`` block products:

    >>> import numpy as np, uepmm
    >>> from uepmm.codes import packet_work
    >>> layout = uepmm.make_partition((4, 6), (6, 4), "cxr", 3)
    >>> encoding = uepmm.MDS().encode(uepmm.ClassTable((0, 1, 2)), 4, np.random.default_rng(0))
    >>> packet_work(encoding, layout).tolist()
    [3.0, 3.0, 3.0, 3.0]
    """
    if encoding.factors is not None:
        return np.ones(encoding.workers)
    G = encoding.generator
    if partition.kind == "cxr":
        return np.count_nonzero(G, axis=1).astype(np.float64)
    rows, cols = partition.grid
    work = np.count_nonzero(G, axis=1).astype(np.float64)  # a pattern of at most one block has rank 0 or 1
    wide = np.flatnonzero(work > 1)
    if wide.size:
        work[wide] = np.linalg.matrix_rank(G[wide].reshape(-1, rows, cols))
    return work


def large_field_only(name: str, q: float) -> None:
    """Raise unless ``q`` is the large-field limit (codes whose analysis has no finite-field form)."""
    if not math.isinf(q):
        raise ValueError(
            f"q={q:g} (a finite field) only applies to the random linear codes 'now' and 'ew'; "
            f"use q=math.inf for code={name!r}"
        )


def _is_rectangle(cells: np.ndarray, grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    rows, cols = np.divmod(cells, grid[1])
    urows, ucols = np.unique(rows), np.unique(cols)
    if urows.size * ucols.size != cells.size:
        return None
    return urows, ucols


def to_factor_form(encoding: Encoding, partition: Partition, rng: np.random.Generator) -> Encoding:
    """Re-draw each worker's coefficients as ``alpha ⊗ beta`` (paper eq. 11).

    Raises ``ValueError`` where a worker's window is not a rectangle of the r×c grid, or
    combines more than one sub-product in c×r (eq. 11 would add cross terms ``A_i B_j``,
    ``i != j``, that are not part of ``C``; see docs/design.md §3).

    Examples
    --------
    Uncoded rows are single blocks, which are rectangles, so each becomes ``alpha ⊗ beta``:

    >>> import numpy as np, uepmm
    >>> from uepmm.codes import to_factor_form
    >>> layout = uepmm.make_partition((4, 4), (4, 4), "rxc", 4)
    >>> rng = np.random.default_rng(0)
    >>> encoding = uepmm.Uncoded().encode(uepmm.ClassTable((0, 1, 2, 3)), 4, rng)
    >>> factored = to_factor_form(encoding, layout, rng)
    >>> len(factored.factors)  # one (alpha, beta) pair per worker
    4
    """
    n_rows, n_cols = partition.grid
    generator = np.zeros_like(encoding.generator)
    factors = []
    for w in range(encoding.workers):
        cells = encoding.support(w)
        if partition.kind == "cxr":
            if cells.size != 1:
                raise ValueError(
                    f"encoding='factor' is invalid for partition 'cxr' with windows of {cells.size} sub-products: "
                    f"(sum a_i A_i)(sum b_j B_j) adds cross terms A_i B_j (i != j) that are not part of C. "
                    f"Use encoding='direct'"
                )
            alpha = np.zeros(n_rows)
            alpha[cells[0]] = encoding.generator[w, cells[0]]
            beta = np.zeros(n_rows)
            beta[cells[0]] = 1.0
            generator[w, cells[0]] = alpha[cells[0]]
            factors.append((alpha, beta))
            continue
        rect = _is_rectangle(cells, (n_rows, n_cols))
        if rect is None:
            raise ValueError(
                f"encoding='factor' needs every window to be a rectangle {{rows}} x {{cols}} of the "
                f"{n_rows}x{n_cols} r×c grid, but worker {w}'s window is sub-products {cells.tolist()}; "
                f"(sum a_n A_n)(sum b_p B_p) would add products outside the window. Use classes='rectangles' "
                f"with code='ew' (nested rectangle windows, one block product per packet), or encoding='direct'"
            )
        rows, cols = rect
        alpha = np.zeros(n_rows)
        beta = np.zeros(n_cols)
        if cells.size == 1:
            alpha[rows] = encoding.generator[w, cells[0]]
            beta[cols] = 1.0
        else:
            alpha[rows] = rng.standard_normal(rows.size)
            beta[cols] = rng.standard_normal(cols.size)
        generator[w] = np.outer(alpha, beta).ravel()
        factors.append((alpha, beta))
    return Encoding(generator, encoding.windows.copy(), tuple(factors))


# --------------------------------------------------------------------------- the registry
#
# The registry lives with the interface, below the code modules: :mod:`uepmm.codes` registers
# its codes here, and :mod:`uepmm.theory` (which the code modules call for their decoding
# probabilities) turns a code's name into the code without importing them.

#: name -> (factory taking ``gamma, copies``, the parameters the code takes).
_REGISTRY: dict[str, tuple[Callable[..., Code], tuple[str, ...]]] = {}


def register_code(name: str, factory: Callable[..., Code], takes: tuple[str, ...] = ()) -> None:
    """Make ``make_code(name)`` build ``factory(gamma, copies)``; ``takes`` names the parameters
    (``"gamma"``, ``"copies"``) the code uses."""
    _REGISTRY[name] = (factory, tuple(takes))


def code_names() -> tuple[str, ...]:
    """Names of the registered codes, in registration order (:data:`uepmm.codes.CODES`)."""
    return tuple(_REGISTRY)


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

    Examples
    --------
    >>> import uepmm
    >>> uepmm.make_code("ew", gamma=[0.5, 0.3, 0.2])
    EW(gamma=(0.5, 0.3, 0.2))
    >>> "mds" in uepmm.CODES
    True
    >>> uepmm.make_code("mds", gamma=[1.0])
    Traceback (most recent call last):
    ...
    ValueError: gamma=[1.0] only applies to code 'now' or 'ew' or 'ew-matdot'; leave gamma=None for code='mds'
    """
    if isinstance(code, Code):
        return code
    name = choice(code, "code", code_names())
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
