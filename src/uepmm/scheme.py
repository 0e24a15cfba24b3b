"""Schemes: a named way to run a coded product (code, decoder, Γ, classes, encoding, task rule).

A :class:`Scheme` is what ``uepmm compare`` puts in one row, what
``coded_matmul(A, B, scheme="ew+", ...)`` and ``uepmm simulate --scheme`` run, and what
training can code its products with.  It holds no data and no cluster size: :meth:`Scheme.spec`
turns it, with the job settings (partition, blocks, workers ``W``, deadline, latency, cost),
into a :class:`~uepmm.spec.JobSpec`.

:data:`SCHEMES` is the registry, in ``uepmm compare``'s order:

============= =========== ========== =========== ==================================================
scheme        code        decoder    tasks       what it is
============= =========== ========== =========== ==================================================
uncoded       uncoded     zero       code        ``K`` tasks on ``K`` of the ``W`` workers
repetition    repetition  zero       copies      ``⌊W/K⌋`` copies of each task
speculative   speculative zero       workers     hedging: spares clone tasks from time 0
speculative-k speculative zero       code        ``K`` workers; an early finisher clones a task
mds           mds         zero       workers     any ``K`` packets give ``C``
matdot        matdot      (its own)  workers     c×r only; any ``2M−1`` well-conditioned packets
polynomial    polynomial  zero       workers     r×c only; any ``K`` packets give ``C``
sampling      sampling    (its own)  workers     norm-weighted sampling, unbiased
now, ew       now, ew     zero       workers     the paper's UEP codes, Table III Γ
now+, ew+     now, ew     lmmse      workers     Γ designed for each deadline (``gamma="auto"``)
now-singl.    now         lmmse      workers     ``now-singletons``: one sub-product per packet
ew-rect       ew          lmmse      workers     r×c only; nested rectangles in the factor form
ew-matdot     ew-matdot   (its own)  workers     c×r only; MatDot inside nested windows
spark         spark       zero       workers     Spark's speculation: late, one copy per slow task
cubed         cubed       zero       workers     cubed's backups (needs at least 10 tasks)
mds-adaptive  mds         zero       workers     adaptive: an early finisher computes a fresh row
now+adaptive  now         lmmse      workers     adaptive: the open window with most Γ per packet
ew+adaptive   ew          lmmse      workers     adaptive: the open window with most Γ per packet
...+adaptive  now, ew     lmmse      workers     ``now-singletons+adaptive``, ``ew-rect+adaptive``
============= =========== ========== =========== ==================================================

Task rules (:data:`TASK_RULES`): ``"workers"``, one packet on each of the ``W`` workers;
``"code"``, the code's fixed tasks (:meth:`~uepmm.codes.Code.task_count`) on as many workers,
the others idle; ``"copies"``, ``⌊W/K⌋`` copies of each of the ``K`` tasks, ``W mod K`` idle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ._validation import choice, int_sequence, positive_int
from .codes import CODES, Code, make_code
from .importance import CLASS_RULES, equal_counts
from .partition import PARTITIONS, block_grid
from .prior import PRIORS
from .spec import DECODERS, ENCODINGS, JobSpec

__all__ = ["Scheme", "SCHEMES", "TASK_RULES", "get_scheme"]

#: How many workers a scheme's job uses, out of the ``W`` it is given (module docstring).
TASK_RULES = ("workers", "code", "copies")


@dataclass(frozen=True)
class Scheme:
    """A named way to run a coded product: a code, its decoder, Γ, classes, encoding and task rule.

    Parameters
    ----------
    name : str
        What the scheme is called (``uepmm compare``'s ``scheme`` column).
    code : str or Code
        A registry code name (:data:`uepmm.codes.CODES`) or a :class:`~uepmm.codes.Code`.
    decoder : str
        How ``C_hat`` is formed (:data:`uepmm.spec.DECODERS`); a code that defines its own
        estimate (MatDot, sampling) replaces it, and ``Result.report["decoder"]`` says so.
    gamma : tuple of float, "auto" or None
        Window probabilities of a UEP code, ``"auto"`` (designed for each job and deadline,
        :mod:`uepmm.design.auto`), or ``None``: the code's default, unless the caller gives one.
    classes : int, tuple of int, str or None
        The class table rule: ``L`` (that many near-equal classes filled by rank of
        ``||A_i|| ||B_j||``), explicit class sizes ``(k_1..k_L)``, a rule that makes the table
        from each job's block scores (``"rectangles"``, ``"singletons"``:
        :func:`uepmm.importance.make_class_rule`), or ``None`` (the job's).
    encoding : str or None
        ``"direct"`` or ``"factor"`` (eq. 11), or ``None`` (the job's, ``"direct"`` by default).
    prior : str or None
        LMMSE's prior (:data:`uepmm.prior.PRIORS`: ``"diagonal"``, ``"probe"``, ``"auto"``), or
        ``None`` (the job's); only for ``decoder="lmmse"``.
    tasks : str
        The task rule (:data:`TASK_RULES`): ``"workers"``, ``"code"`` or ``"copies"``.
    partitions : tuple of str
        The partitions it serves (``"rxc"``, ``"cxr"``).
    description : str
        One or two sentences on what it is.
    adaptive : bool
        A worker that finishes before the deadline takes another packet chosen from what is
        recovered (``JobSpec.adaptive``, :mod:`uepmm.adaptive`; on Dask by pull execution, ``latency=None``).

    Examples
    --------
    >>> from uepmm import get_scheme
    >>> ew_plus = get_scheme("ew+")
    >>> ew_plus.code, ew_plus.decoder, ew_plus.gamma, ew_plus.uep
    ('ew', 'lmmse', 'auto', True)
    >>> spec = get_scheme("uncoded").spec(partition="cxr", blocks=9, workers=30)
    >>> spec.workers, spec.omega_value  # 9 tasks on 9 of the 30 workers; Omega = K / W = 9 / 30
    (9, 0.3)
    """

    name: str
    code: str | Code
    decoder: str = "zero"
    gamma: tuple[float, ...] | str | None = None
    classes: int | tuple[int, ...] | None = None
    encoding: str | None = None
    prior: str | None = None
    tasks: str = "workers"
    partitions: tuple[str, ...] = PARTITIONS
    description: str = ""
    adaptive: bool = False

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError(f"Scheme name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.code, Code):
            set_("code", choice(self.code, "code", CODES))
        set_("decoder", choice(self.decoder, "decoder", DECODERS))
        if isinstance(self.gamma, str):
            if self.gamma != "auto":
                raise ValueError(f"gamma must be window probabilities, 'auto' or None; got {self.gamma!r}")
        elif self.gamma is not None:
            try:
                set_("gamma", tuple(float(g) for g in self.gamma))
            except (TypeError, ValueError):
                raise TypeError(f"gamma must be a sequence of probabilities, 'auto' or None; got {self.gamma!r}") \
                    from None
        if self.gamma is not None and not self.uep:
            raise ValueError(f"scheme {self.name!r}: gamma applies to codes with window probabilities (now, ew), "
                             f"not {self.code_name!r}; leave gamma=None")
        if isinstance(self.gamma, tuple):
            if isinstance(self.code, Code):
                raise ValueError(f"scheme {self.name!r}: a Code object carries its own gamma; give "
                                 f"{type(self.code).__name__}(gamma=...) or the code's name with gamma=")
            make_code(self.code, gamma=self.gamma)  # the code checks the probabilities
        if self.classes is not None:
            if isinstance(self.classes, str):
                set_("classes", choice(self.classes, "classes", tuple(CLASS_RULES)))
            elif isinstance(self.classes, (int,)) and not isinstance(self.classes, bool):
                set_("classes", positive_int(self.classes, "classes"))
            else:
                set_("classes", int_sequence(self.classes, "classes"))
        if self.encoding is not None:
            set_("encoding", choice(self.encoding, "encoding", ENCODINGS))
        if self.prior is not None:
            set_("prior", choice(self.prior, "prior", PRIORS))
            if self.prior != "diagonal" and self.decoder != "lmmse":
                raise ValueError(f"scheme {self.name!r}: prior={self.prior!r} is LMMSE's; use decoder='lmmse' "
                                 "or leave prior=None")
        set_("tasks", choice(self.tasks, "tasks", TASK_RULES))
        partitions = (self.partitions,) if isinstance(self.partitions, str) else tuple(self.partitions)
        if not partitions:
            raise ValueError(f"scheme {self.name!r}: partitions must name at least one of {', '.join(PARTITIONS)}")
        set_("partitions", tuple(choice(p, "partition", PARTITIONS) for p in partitions))
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a string, got {self.description!r}")
        if not isinstance(self.adaptive, bool):
            raise TypeError(f"scheme {self.name!r}: adaptive must be True or False, got {self.adaptive!r}")
        if self.adaptive and make_code(self.code).adaptive_rule is None:
            code = make_code(self.code)
            raise ValueError(f"scheme {self.name!r}: code {self.code_name!r} takes no adaptive packets: "
                             f"{code.adaptive_refusal}")

    # ------------------------------------------------------------------ what the code says
    @property
    def code_object(self) -> Code:
        """The :class:`~uepmm.codes.Code` (with Γ when the scheme fixes one)."""
        return make_code(self.code, gamma=self.gamma if isinstance(self.gamma, tuple) else None)

    @property
    def code_name(self) -> str:
        """The code's registry name."""
        return self.code if isinstance(self.code, str) else self.code.name

    @property
    def uep(self) -> bool:
        """Whether the code protects classes unequally: it draws windows with probabilities Γ (NOW, EW)."""
        return make_code(self.code).uses_window_probabilities

    # ------------------------------------------------------------------ building a job
    def check_partition(self, partition: str) -> None:
        """Raise ``ValueError`` if the scheme does not serve ``partition``."""
        if partition not in self.partitions:
            raise ValueError(f"scheme {self.name!r} does not fit partition {partition!r} (it serves "
                             f"{', '.join(self.partitions)}): {self.description}")

    def task_plan(self, num_products: int, workers: int) -> tuple[int, int | None]:
        """``(workers used, copies)`` for ``K = num_products`` sub-products and ``W = workers`` (the task rule).

        ``copies`` is ``None`` unless the rule is ``"copies"``; a ``ValueError`` names the scheme when
        ``W`` is too small for its tasks.
        """
        K, W = positive_int(num_products, "num_products"), positive_int(workers, "workers")
        copies = None
        if self.tasks == "workers":
            return W, None
        if self.tasks == "copies":
            copies = W // K
            used = copies * K
        else:
            used = make_code(self.code).task_count(K)
            if used is None:
                raise ValueError(f"scheme {self.name!r}: tasks='code' needs a code with fixed tasks, and "
                                 f"{self.code_name!r} has none; use tasks='workers'")
        if not 0 < used <= W:
            raise ValueError(f"scheme {self.name!r} needs at least K = {K} workers, got workers={W}; "
                             f"use --workers {K} or more")
        return used, copies

    def spec(self, base: JobSpec | type[JobSpec] | None = None, **settings: Any) -> JobSpec:
        """The :class:`~uepmm.spec.JobSpec` of this scheme with the job settings.

        Parameters
        ----------
        base : JobSpec or JobSpec class, optional
            The template (training passes a :class:`~uepmm.nn.CodingConfig`, whose class is kept):
            the scheme's code, decoder, Γ, copies and the workers of its task rule replace the
            template's; so do its classes and encoding when it sets them.  A class (default
            :class:`~uepmm.spec.JobSpec`) builds a new one from its defaults.
        **settings
            :class:`~uepmm.spec.JobSpec` fields.  ``workers`` is the ``W`` the scheme is given
            (the task rule may use fewer).  A setting the scheme fixes (``code``, ``decoder``,
            and ``gamma``, ``classes``/``class_counts``, ``encoding``, ``copies`` where it sets
            them) must agree with it, else ``ValueError``: make a variant with :meth:`with_`.

        Notes
        -----
        ``omega="paper"`` is resolved to ``K / W`` with the ``W`` given, before the task rule:
        a scheme that leaves workers idle keeps the time scale of the full cluster (Remark 1;
        ``uepmm compare`` gives every scheme the same ``Ω``).

        Examples
        --------
        >>> from uepmm import get_scheme
        >>> spec = get_scheme("repetition").spec(partition="rxc", blocks=(3, 3), workers=30, deadline=2.0)
        >>> spec.code, spec.copies, spec.workers, spec.decoder
        ('repetition', 3, 27, 'zero')
        >>> get_scheme("ew+").spec(decoder="zero")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: scheme 'ew+' sets decoder='lmmse'; got decoder='zero': drop it, or run ...
        """
        kind, template = JobSpec, base
        if base is None or (isinstance(base, type) and issubclass(base, JobSpec)):
            kind, template = base or JobSpec, None
            base = kind()
        elif not isinstance(base, JobSpec):
            raise TypeError(f"base must be a uepmm.JobSpec or a JobSpec class, got {type(base).__name__}")
        names = JobSpec.field_names()
        unknown = sorted(k for k in settings if k not in names)
        if unknown:
            raise TypeError(f"Scheme.spec got unexpected keyword(s) {unknown}; the settings are {list(names)}")
        partition = choice(settings.get("partition", base.partition), "partition", PARTITIONS)
        self.check_partition(partition)
        grid = block_grid(partition, settings.get("blocks", base.blocks))
        K = grid[0] * grid[1]
        W = positive_int(settings.get("workers", base.workers), "workers")
        used, copies = self.task_plan(K, W)
        fixed: dict[str, Any] = {"code": self.code, "decoder": self.decoder}
        if self.gamma is not None:
            fixed["gamma"] = self.gamma
        if self.encoding is not None:
            fixed["encoding"] = self.encoding
        if isinstance(self.classes, str):
            fixed["classes"] = self.classes
        elif self.classes is not None:
            counts = equal_counts(K, self.classes) if isinstance(self.classes, int) else self.classes
            fixed["class_counts"] = counts
        if self.prior is not None:
            fixed["prior"] = self.prior
        if copies is not None:
            fixed["copies"] = copies
        if self.adaptive:
            fixed["adaptive"] = True
        for key, value in settings.items():  # None is the default of every field a scheme fixes: no conflict
            if key == "classes" and "class_counts" in fixed and value is not None:
                raise ValueError(f"scheme {self.name!r} sets class_counts={fixed['class_counts']}; got a class "
                                 f"table (classes=): drop it, or run get_scheme({self.name!r}).with_(classes=None)")
            if key in fixed and value is not None and not _same(key, value, fixed[key]):
                raise ValueError(f"scheme {self.name!r} sets {key}={_show(fixed[key])}; got {key}={_show(value)}: "
                                 f"drop it, or run get_scheme({self.name!r}).with_({key}={_show(value)})")
        changes: dict[str, Any] = {"gamma": None, "copies": None, **settings, **fixed, "workers": used}
        if isinstance(self.classes, str):
            changes["class_counts"] = None  # the rule makes the table from the job's block scores
        omega = settings.get("omega", base.omega)
        if omega == "paper":
            changes["omega"] = K / W
        try:
            return kind(**changes) if template is None else template.with_(**changes)
        except ValueError as exc:
            raise ValueError(f"scheme {self.name!r}: {exc}") from None

    def with_(self, **changes: Any) -> Scheme:
        """A variant with some fields changed (validated again); give it a new ``name`` to tell it apart."""
        return replace(self, **changes)


def _same(key: str, given: Any, fixed: Any) -> bool:
    """Whether an explicit setting agrees with the scheme's."""
    if key == "gamma" and not isinstance(given, str) and isinstance(fixed, tuple):
        try:
            return tuple(float(g) for g in given) == fixed
        except (TypeError, ValueError):
            return False
    if key == "class_counts" and not isinstance(given, str):
        try:
            return tuple(int(k) for k in given) == tuple(fixed)
        except (TypeError, ValueError):
            return False
    if key == "code" and isinstance(given, str) and isinstance(fixed, str):
        return given.lower() == fixed
    if key in ("decoder", "encoding") and isinstance(given, str):
        return given.lower() == fixed
    try:
        return given is fixed or bool(given == fixed)
    except (TypeError, ValueError):
        return False


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


#: The schemes of ``uepmm compare``, in its order (module docstring).
SCHEMES: dict[str, Scheme] = {s.name: s for s in (
    Scheme("uncoded", "uncoded", tasks="code", description="K tasks on K of the W workers, the others idle"),
    Scheme("repetition", "repetition", tasks="copies", description="floor(W/K) copies of each task, W mod K "
           "workers idle"),
    Scheme("speculative", "speculative", description="hedging: K tasks on W workers, and the W-K spares clone "
           "tasks from time 0; every worker that finishes early clones another (not what Spark does: Spark "
           "speculates late, after most tasks finished, and once per slow task)"),
    Scheme("speculative-k", "speculative", tasks="code", description="K tasks on K of the W workers (the others "
           "idle); a worker that finishes early clones the longest-running unfinished task"),
    Scheme("mds", "mds", description="an MDS code: any K packets give C, fewer give nothing"),
    Scheme("matdot", "matdot", partitions=("cxr",), description="MatDot: any 2M-1 well-conditioned packets give C, "
           "with its own decoder; use 'polynomial' for --partition rxc"),
    Scheme("polynomial", "polynomial", partitions=("rxc",), description="polynomial codes: any K packets give C; "
           "use 'matdot' for --partition cxr"),
    Scheme("sampling", "sampling", description="norm-weighted sampling of sub-products, its own unbiased "
           "estimate"),
    Scheme("now", "now", description="the paper's NOW-UEP code: Table III gamma, zero-fill"),
    Scheme("ew", "ew", description="the paper's EW-UEP code: Table III gamma, zero-fill"),
    Scheme("now+", "now", decoder="lmmse", gamma="auto", description="NOW-UEP with gamma designed for each "
           "deadline and the LMMSE decoder"),
    Scheme("ew+", "ew", decoder="lmmse", gamma="auto", description="EW-UEP with gamma designed for each deadline "
           "and the LMMSE decoder"),
    Scheme("now-singletons", "now", decoder="lmmse", gamma="auto", classes="singletons", prior="auto",
           description="one sub-product per packet (one block product), drawn with probabilities designed for "
           "the deadline (importance-weighted repetition); LMMSE with the probe prior where sub-products correlate"),
    Scheme("ew-rect", "ew", decoder="lmmse", gamma="auto", classes="rectangles", encoding="factor", prior="auto",
           partitions=("rxc",), description="EW-UEP over nested rectangles of the heaviest row and column blocks in "
           "eq. (11)'s factor form: one block product per packet; gamma designed for the deadline, LMMSE"),
    Scheme("ew-matdot", "ew-matdot", gamma="auto", classes="singletons", partitions=("cxr",),
           description="MatDot inside nested windows of the heaviest sub-products: one block product per packet, "
           "window l exact from 2 s_l - 1 of its packets; gamma designed for the deadline"),
    Scheme("spark", "spark", description="Spark's speculation: K tasks on K of the W workers; once 75% finished, "
           "one copy of each task running longer than 1.5x the median finished duration (checked every 0.1)"),
    Scheme("cubed", "cubed", description="cubed's backups: K tasks on K of the W workers; with at least 10 tasks "
           "and half of them done, one copy of each task slower than 3x the median completed duration"),
    Scheme("mds-adaptive", "mds", adaptive=True, description="MDS, and a worker that finishes early computes a "
           "fresh coded row"),
    Scheme("now+adaptive", "now", decoder="lmmse", gamma="auto", adaptive=True, description="now+, and a worker "
           "that finishes early takes the open window with the largest gamma per running packet (D'Hondt)"),
    Scheme("ew+adaptive", "ew", decoder="lmmse", gamma="auto", adaptive=True, description="ew+, and a worker that "
           "finishes early takes the open window with the largest gamma per running packet (D'Hondt)"),
    Scheme("now-singletons+adaptive", "now", decoder="lmmse", gamma="auto", classes="singletons", prior="auto",
           adaptive=True, description="now-singletons, and a worker that finishes early takes the heaviest "
           "unrecovered sub-product with the fewest packets running (D'Hondt over gamma)"),
    Scheme("ew-rect+adaptive", "ew", decoder="lmmse", gamma="auto", classes="rectangles", encoding="factor",
           prior="auto", partitions=("rxc",), adaptive=True, description="ew-rect, and a worker that finishes early "
           "takes the open rectangle with the largest gamma per running packet (D'Hondt)"),
)}


def get_scheme(scheme: str | Scheme) -> Scheme:
    """The registered :class:`Scheme` called ``scheme`` (or ``scheme`` itself, when it is one).

    Examples
    --------
    >>> from uepmm import get_scheme
    >>> get_scheme("now+").gamma
    'auto'
    >>> get_scheme("mds").uep
    False
    >>> get_scheme("fancy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown scheme 'fancy'; valid values are uncoded, repetition, speculative, ...adaptive
    """
    if isinstance(scheme, Scheme):
        return scheme
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a scheme name ({', '.join(SCHEMES)}) or a uepmm.Scheme, got {scheme!r}")
    found = SCHEMES.get(scheme.lower())
    if found is None:
        raise ValueError(f"unknown scheme {scheme!r}; valid values are {', '.join(SCHEMES)}")
    return found


