"""Planning a job: importance order → partition → classes → code → the one draw.

:func:`plan_job` (numpy and scipy sparse factors) and the Dask planner for data on the cluster
(:func:`uepmm.backends._dask_arrays.plan_on_cluster`) both end in :func:`plan_from_order`, so a
seed draws the same stragglers and code rows whatever the factors are.  This module sits below
:mod:`uepmm.api` and :mod:`uepmm.backends` and imports neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_matrix
from .codes import Code
from .decoders import decoder_for_code
from .design.auto import auto_code
from .design.windows import design_windows
from .draw import draw_job
from .importance import (
    ClassRule,
    ClassTable,
    ImportanceOrder,
    classes_by_rank,
    importance_order,
    product_scores_from_order,
    sub_product_energies,
)
from .job import Job
from .partition import Partition, make_partition
from .prior import prior_gram
from .scheme import Scheme, get_scheme
from .spec import JobSpec
from .streams import SeedLike

__all__ = ["JobPlan", "plan_job", "plan_from_order", "needs_energies", "layout_and_order", "classes_and_code"]


@dataclass(frozen=True)
class JobPlan:
    """A job ready to run: the specification, the data-dependent decisions (importance
    order, class table, scores) and the drawn :class:`~uepmm.job.Job`.

    Examples
    --------
    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> plan = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0)
    >>> plan.code, plan.classes.num_products, plan.job.partition.kind
    (MDS(), 2, 'cxr')
    """

    spec: JobSpec
    job: Job
    classes: ClassTable
    order: ImportanceOrder
    scores: np.ndarray  # importance score of every sub-product (after the permutation)
    dtype: np.dtype  # of the product
    energies: np.ndarray | None = None  # prior E||P_k||^2, for decoders that need it
    code: Code | None = None  # the code used (gamma="auto": with the designed Γ)
    cluster: Any = None  # dask.array inputs: decoding on the cluster (backends._dask_decode.ClusterDecoding)
    gram: np.ndarray | None = None  # LMMSE's prior R_kl = <P_k, P_l>_F (JobSpec.prior), None: diagonal
    prior_correlation: float = math.nan  # off-diagonal correlation of the probe's R (uepmm.prior)
    choice: Any = None  # scheme="auto": the uepmm.recommend.Choice that picked spec's scheme


def _spec_from(
    spec: JobSpec | None, settings: dict[str, Any], scheme: str | Scheme | None = None
) -> tuple[JobSpec, dict[str, Any]]:
    """The job specification, and the keywords left over for the backend.

    With ``scheme``: :meth:`Scheme.spec` with ``spec`` as the template and the settings as
    explicit values (a setting that contradicts the scheme is a ``ValueError``)."""
    names = JobSpec.field_names()
    given = {k: settings.pop(k) for k in list(settings) if k in names}
    if spec is not None and not isinstance(spec, JobSpec):
        raise TypeError(f"spec must be a uepmm.JobSpec, got {type(spec).__name__}")
    if isinstance(scheme, str) and scheme.lower() == "auto":
        raise ValueError("scheme='auto' chooses from the matrices' statistics: call uepmm.plan_job or "
                         "uepmm.coded_matmul (uepmm.recommend.plan_auto), which see the data")
    if scheme is not None:
        return get_scheme(scheme).spec(spec, **given), settings
    if spec is None:
        return JobSpec(**given), settings
    return (spec.with_(**given) if given else spec), settings


def plan_job(
    A: np.ndarray,
    B: np.ndarray,
    spec: JobSpec | None = None,
    *,
    seed: SeedLike = None,
    scheme: str | Scheme | None = None,
    **settings: Any,
) -> JobPlan:
    """Importance order, partition, class table and the one draw (:func:`uepmm.draw.draw_job`).

    ``spec`` is a :class:`JobSpec`; ``settings`` are its fields (they override ``spec``'s);
    ``scheme`` as in :func:`uepmm.coded_matmul`.

    Examples
    --------
    The plan holds the drawn job; executing it is :func:`uepmm.coded_matmul`'s part.  The same
    seed gives the same stragglers whatever the code:

    >>> import numpy as np, uepmm
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    >>> mds = uepmm.plan_job(A, B, code="mds", partition="cxr", blocks=2, workers=3, seed=0)
    >>> ew = uepmm.plan_job(A, B, code="ew", gamma=(0.5, 0.5), partition="cxr", blocks=2, workers=3, seed=0)
    >>> mds.job.encoding.generator.shape
    (3, 2)
    >>> bool(np.array_equal(mds.job.times, ew.job.times))
    True
    """
    spec, rest = _spec_from(spec, dict(settings), scheme)
    if rest:
        raise TypeError(
            f"plan_job got unexpected keyword(s) {sorted(rest)}; the settings are {list(JobSpec.field_names())}"
        )
    A = as_matrix(A, "A", allow_sparse=True)  # scipy sparse stays sparse (uepmm.sparse)
    B = as_matrix(B, "B", allow_sparse=True)
    layout, order = layout_and_order(A, B, spec)
    energies = sub_product_energies(order, layout, A, B) if needs_energies(spec) else None
    a_perm, b_perm = (order.a_perm, order.b_perm) if spec.reorder else (None, None)
    a_blocks, b_blocks = layout.a_blocks(A, a_perm), layout.b_blocks(B, b_perm)
    return plan_from_order(spec, layout, order, energies, a_blocks, b_blocks, np.result_type(A.dtype, B.dtype), seed)


def layout_and_order(A: Any, B: Any, spec: JobSpec) -> tuple[Partition, ImportanceOrder]:
    """The partition of ``A @ B`` and the importance order of ``spec`` (``reorder=False``: the identity):
    the statistics the parameter server reads before any block product."""
    layout = make_partition(A.shape, B.shape, spec.partition, spec.blocks)
    if spec.reorder:
        return layout, importance_order(A, B, layout.kind, spec.statistic)
    return layout, ImportanceOrder.identity(layout.kind, A, B, spec.statistic)


def needs_energies(spec: JobSpec) -> bool:
    """The plan needs the prior sub-product energies: for the decoder that runs, ``gamma="auto"``,
    or a code bound to the data (sampling)."""
    decoder = decoder_for_code(spec.code_object, spec.decoder_object)
    return decoder.needs_energies or spec.auto_gamma or spec.code_object.needs_energies


def classes_and_code(spec: JobSpec, scores: np.ndarray, energies: np.ndarray | None) -> tuple[ClassTable, Code]:
    """The job's class table (from its sub-products' scores) and code (``gamma="auto"``: with the designed Γ;
    a designed class rule such as ``classes="rectangles-auto"``: the structure chosen with Γ,
    :func:`uepmm.design.windows.design_windows`)."""
    if isinstance(spec.classes, ClassRule) and spec.classes.designed:
        windows = design_windows(spec, scores, energies)
        return windows.classes, windows.code
    if isinstance(spec.classes, ClassRule):  # e.g. "rectangles": the table from this job's block scores
        classes = spec.classes.table(scores)
    else:
        classes = spec.classes if spec.classes is not None else classes_by_rank(scores, spec.class_counts)
    return classes, (auto_code(spec, classes, energies) if spec.auto_gamma else spec.code_object)


def plan_from_order(
    spec: JobSpec,
    layout: Partition,
    order: ImportanceOrder,
    energies: np.ndarray | None,
    a_blocks: Any,
    b_blocks: Any,
    dtype: np.dtype,
    seed: SeedLike,
    **extra: Any,
) -> JobPlan:
    """Everything after the importance order, shared by :func:`plan_job` and the Dask planner for
    data on the cluster: scores, class table, the code (designed Γ, data binding), the one draw
    (:func:`uepmm.draw.draw_job`) and the :class:`~uepmm.job.Job` over the given blocks.  ``extra``:
    more :class:`JobPlan` fields; a ``gram`` given is LMMSE's prior as it is (``scheme="auto"`` shares one probe)."""
    scores = product_scores_from_order(order, layout)
    classes, code = classes_and_code(spec, scores, energies)
    code = code.with_energies(energies, layout)  # e.g. sampling probabilities from the block norms
    drawn = draw_job(spec, classes, seed, layout, code)
    if "gram" not in extra and spec.prior != "diagonal" and decoder_for_code(code, spec.decoder_object).needs_energies:
        pairs = [layout.factors(k) for k in range(layout.num_products)]
        extra["gram"], extra["prior_correlation"] = prior_gram(
            spec.prior, a_blocks, b_blocks, pairs, spec.probes, spec.probe_seed
        )
    job = Job(
        layout, a_blocks, b_blocks, drawn.encoding, drawn.times, spec.deadline, spec.omega_value, drawn.copy_times,
        drawn.packet_workers, drawn.live, code.late_rule, np.asarray(scores, dtype=np.float64),
    )
    return JobPlan(spec, job, classes, order, scores, dtype, energies, code, **extra)
