"""Designed windows: the class structure chosen together with ``Γ`` for the job (``gamma="auto"``).

A designed class rule (``classes="rectangles-auto"``: :class:`~uepmm.importance.Rectangles` ``("auto")``,
r×c nested rectangle chains; ``classes="sizes-auto"``: :class:`~uepmm.importance.ClassSizes` ``("auto")``,
class sizes of nested prefixes of the importance order) names candidate structures.  For each
candidate :func:`design_windows` builds the job's class table from the block scores, its class
energies (:func:`uepmm.design.auto.class_energies`, rounded as :func:`~uepmm.design.auto.energy_key`)
and, under ``cost="work"``, its window works, and designs ``Γ`` with :func:`uepmm.design.design_gamma`
for the job's workers, latency, ``Ω``, deadline, cost and decoder.  The (structure, ``Γ``) of least
expected loss wins; ties keep the earlier candidate (the default structure comes first).

Every candidate's objective is normalised by the same ``E||C||_F^2`` (the class totals add up to the
job's), so the objectives compare across structures.  The LMMSE Monte Carlo (EW) uses every
sub-product's own energy as its prior (``design_gamma(product_energy=...)``): with the class mean
energy for every member it overstates the loss of a class whose energies spread, and a finer structure
would win on the model alone.  The closed-form objectives keep the class means (exact for zero fill;
for NOW's LMMSE the same simplification, exact for singletons).

Cost.  Closed-form objectives (NOW, zero fill) are designed for every candidate.  The Monte Carlo
objective (EW with LMMSE, :data:`AUTO_TRIALS` draws, about 1-2 s per design at ``W = 30``) is
screened: every candidate with :data:`SCREEN_TRIALS` draws, then the :data:`FINALISTS` best and the
default with the full draws; the winner's objective is then at most the default's and every
finalist's (not guaranteed against a candidate the screen dropped).  Designs are cached per
(code, class sizes, class energies key, workers, latency, deadline, ``Ω``, partition, decoder,
cost, works, draws), so a structure met again costs nothing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..codes import Code
from ..importance import ClassRule, ClassTable, Rectangles
from .auto import AUTO_TRIALS, auto_code, class_energies, energy_key
from .work import window_work

__all__ = ["WindowsDesign", "design_windows", "SCREEN_TRIALS", "FINALISTS"]

#: Monte Carlo draws of the screening pass (EW with LMMSE).
SCREEN_TRIALS = 64
#: Candidates (besides the default) designed with the full draws after the screen.
FINALISTS = 2


@dataclass(frozen=True)
class WindowsDesign:
    """Result of :func:`design_windows`.

    ``rule``: the chosen fixed structure (a bound :class:`~uepmm.importance.Rectangles` or
    :class:`~uepmm.importance.ClassSizes`); ``classes``: its class table for this job; ``code``: the
    code with the designed ``Γ``; ``expected_loss``: the design objective there (NaN without a
    finite deadline or a latency model: no structure is chosen then, the default is used);
    ``default_*``: the same for the rule's default structure (its first candidate); ``candidates``:
    structures tried; ``designs``: distinct designs made for them (candidates with equal class sizes,
    energies and works share one).
    """

    rule: ClassRule
    classes: ClassTable
    code: Code
    expected_loss: float
    default_rule: ClassRule
    default_classes: ClassTable
    default_code: Code
    default_loss: float
    candidates: int
    designs: int

    @property
    def structure(self) -> str:
        """The chosen structure in words: rectangle sides ``r×c`` or class sizes."""
        return describe(self.rule)


def describe(rule: ClassRule) -> str:
    """``"1x1, 2x2, 3x3"`` (rectangle sides) or ``"1,2,6"`` (class sizes)."""
    if isinstance(rule, Rectangles):
        return ", ".join(f"{r}x{c}" for r, c in rule.windows)
    return ",".join(map(str, rule.counts))  # type: ignore[attr-defined]


def design_windows(spec, scores: np.ndarray, energies: np.ndarray) -> WindowsDesign:
    """The structure of ``spec.classes`` (a designed rule) and its ``Γ`` with the least design objective.

    ``spec``: a :class:`~uepmm.spec.JobSpec` with ``gamma="auto"`` and a designed class rule;
    ``scores``: the sub-products' importance scores (:func:`uepmm.importance.product_scores_from_order`);
    ``energies``: their prior energies (:func:`uepmm.importance.sub_product_energies`).
    """
    rule = spec.classes
    if not (isinstance(rule, ClassRule) and rule.designed):
        raise ValueError(f"design_windows needs a designed class rule (classes='rectangles-auto' or "
                         f"'sizes-auto'), got classes={rule!r}")
    if not spec.auto_gamma:
        raise ValueError(f"classes={rule.name!r} is designed together with Γ: give gamma='auto'")
    code = spec.code_object
    if getattr(code, "designed", None) is not None:
        raise ValueError(f"classes={rule.name!r} designs NOW/EW windows; code {code.name!r} designs itself from "
                         f"one packet's arrival probability: give it fixed classes (e.g. classes='singletons')")
    energies = np.asarray(energies, dtype=np.float64)
    candidates = rule.candidates()
    tables = [candidate.table(scores) for candidate in candidates]
    if spec.latency is None or not math.isfinite(spec.deadline) or spec.deadline <= 0:
        # no deadline to choose a structure for: the default structure (deadline=inf: its Γ designed for all W packets)
        default_code = auto_code(spec, tables[0], energies)
        return WindowsDesign(candidates[0], tables[0], default_code, math.nan, candidates[0], tables[0],
                             default_code, math.nan, len(candidates), 0)
    decoder = "lmmse" if spec.decoder_object.needs_energies else "zero"
    monte_carlo = decoder == "lmmse" and code.expanding  # as gamma_loss: NOW's LMMSE loss is closed form
    keys = [_problem_key(spec, table, energies, decoder, monte_carlo) for table in tables]
    screen = [_design(*key, SCREEN_TRIALS if monte_carlo else AUTO_TRIALS)[1] for key in keys]
    finalists = [0, *[i for i in np.argsort(screen, kind="stable").tolist() if i != 0][:FINALISTS]]
    final = {i: _design(*keys[i], AUTO_TRIALS) for i in (finalists if monte_carlo else range(len(keys)))}
    best = min(final, key=lambda i: (final[i][1], i))
    chosen_code = _code(code, tables[best], final[best][0])
    default_code = _code(code, tables[0], final[0][0])
    return WindowsDesign(candidates[best], tables[best], chosen_code, final[best][1], candidates[0], tables[0],
                         default_code, final[0][1], len(candidates), len(set(keys)))


def _code(code: Code, table: ClassTable, gamma: tuple[float, ...]) -> Code:
    return type(code)(gamma if table.num_classes > 1 else (1.0,))


def _problem_key(spec, table: ClassTable, energies: np.ndarray, decoder: str, per_product: bool) -> tuple:
    """The arguments of :func:`_design` for one candidate table (as :func:`uepmm.design.auto.auto_code`'s).

    ``per_product`` (the LMMSE Monte Carlo): every sub-product's energy, relative to the largest and rounded
    as :func:`~uepmm.design.auto.energy_key`, in class order, and the class energies their class means; else
    the class energies' key and no per-product energies."""
    L = table.num_classes
    products = None
    if per_product:
        cls = table.as_array()
        order = np.lexsort((-energies, cls))  # class by class, heaviest first
        top = float(energies.max()) if energies.max() > 0 else 1.0
        products = energy_key(np.maximum(energies[order], 1e-12 * top))
        means = np.add.reduceat(np.asarray(products), np.cumsum((0, *table.counts[:-1]))) / np.asarray(table.counts)
        class_key = tuple(float(m) for m in means)
    else:
        class_key = energy_key(class_energies(energies, table))
    work = mds_work = None
    if spec.cost == "work":  # the windows' own work (the factor form costs one product per packet)
        if spec.encoding == "factor":
            work, mds_work = (1,) * L, 1
        else:
            work, mds_work = window_work(spec.code_object.name, table, spec.partition, spec.grid)
    return (spec.code_object.name, table.counts, class_key, spec.workers, spec.latency, float(spec.deadline),
            spec.omega_value, spec.partition, decoder, spec.cost, work, mds_work, products)


@functools.lru_cache(maxsize=4096)
def _design(code, counts, energies, workers, latency, deadline, omega, partition, decoder, cost, work, mds_work,
            products, trials) -> tuple[tuple[float, ...], float]:
    """``(Γ, expected loss)`` of :func:`uepmm.design.design_gamma` (cached)."""
    from .gamma import design_gamma

    design = design_gamma(code, counts, energies, workers, latency, deadline, omega=omega, partition=partition,
                          decoder=decoder, trials=trials, cost=cost, work=work, mds_work=mds_work,
                          product_energy=products)
    return tuple(float(g) for g in design.gamma), float(design.expected_loss)
