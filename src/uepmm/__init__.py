"""uepmm: straggler-resilient distributed approximate matrix multiplication with UEP codes.

Start with :func:`coded_matmul`; the building blocks (partition, importance, codes,
decoder, latency models, backends) are public so that they can be composed directly.
"""

__version__ = "0.1.0"

from .api import Progress, Result, TimelineEntry, coded_matmul, plan_job
from .codes import CODES, EW, MDS, NOW, Code, Encoding, Repetition, Uncoded, make_code
from .decoding import ProgressiveDecoder, RecoveryTracker, recoverable, recovery_curve
from .design import GammaDesign, design_gamma  # noqa: F401  (Γ design; LMMSE algebra in uepmm.estimation)
from .importance import (
    SEC6_COUNTS,
    TABLE3_GAMMA,
    TABLE8_COUNTS,
    ClassTable,
    ImportanceOrder,
    classes_by_rank,
    classes_from_levels,
    group_levels,
    importance_order,
    paper_sec6_classes,
    product_scores,
)
from .job import Job, Packet
from .latency import Deterministic, Exponential, LatencyModel, Pareto, ShiftedExponential, Trace, Weibull
from .loss import BlockLoss
from .partition import Partition, make_partition

__all__ = [
    "__version__",
    "coded_matmul", "plan_job", "Result", "TimelineEntry", "Progress",
    "CODES", "Code", "Encoding", "Uncoded", "Repetition", "MDS", "NOW", "EW", "make_code",
    "RecoveryTracker", "ProgressiveDecoder", "recovery_curve", "recoverable",
    "ClassTable", "ImportanceOrder", "importance_order", "product_scores", "classes_by_rank",
    "classes_from_levels", "group_levels", "paper_sec6_classes", "SEC6_COUNTS", "TABLE8_COUNTS", "TABLE3_GAMMA",
    "Job", "Packet",
    "LatencyModel", "Exponential", "ShiftedExponential", "Pareto", "Weibull", "Trace", "Deterministic",
    "BlockLoss", "Partition", "make_partition",
]
