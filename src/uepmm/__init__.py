"""uepmm: straggler-resilient distributed approximate matrix multiplication with UEP codes.

Start with :func:`coded_matmul`; the building blocks (partition, importance, codes,
decoder, latency models, backends) are public so that they can be composed directly.
"""

__version__ = "0.1.0"

from .api import JobPlan, Progress, Result, TimelineEntry, coded_matmul, plan_job
from .codes import CODES, EW, MDS, NOW, Code, Encoding, Repetition, Uncoded, make_code
from .decoders import Decoder, ZeroFillDecoder, make_decoder
from .decoding import ProgressiveDecoder, RecoveryTracker, recoverable, recovery_curve
from .design import GammaDesign, design_gamma
from .draw import JobDraw, draw_job
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
from .latency import Deterministic, Exponential, LatencyModel, Pareto, Schedule, ShiftedExponential, Trace, Weibull
from .loss import BlockLoss
from .partition import Partition, make_partition
from .scheme import SCHEMES, Scheme, get_scheme
from .spec import JobSpec
from .streams import job_streams, product_rng

__all__ = [
    "__version__",
    "coded_matmul", "plan_job", "JobSpec", "JobPlan", "Result", "TimelineEntry", "Progress",
    "Scheme", "SCHEMES", "get_scheme",
    "draw_job", "JobDraw", "design_gamma", "GammaDesign", "job_streams", "product_rng",
    "Decoder", "ZeroFillDecoder", "make_decoder",
    "CODES", "Code", "Encoding", "Uncoded", "Repetition", "MDS", "NOW", "EW", "make_code",
    "RecoveryTracker", "ProgressiveDecoder", "recovery_curve", "recoverable",
    "ClassTable", "ImportanceOrder", "importance_order", "product_scores", "classes_by_rank",
    "classes_from_levels", "group_levels", "paper_sec6_classes", "SEC6_COUNTS", "TABLE8_COUNTS", "TABLE3_GAMMA",
    "Job", "Packet",
    "LatencyModel", "Exponential", "ShiftedExponential", "Pareto", "Weibull", "Trace", "Deterministic", "Schedule",
    "BlockLoss", "Partition", "make_partition",
]
