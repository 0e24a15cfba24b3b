"""A training run's identity and records: :class:`RunSpec` (what a run is), the run CSV
(one row per evaluation, :data:`CSV_COLUMNS`) and the ``<name>.json`` summary.

:mod:`uepmm.nn.training` runs them; the figures and tables read the CSVs back with
:func:`read_run_csv`.  The CSV holds results only, so the same run gives the same bytes;
wall time and the torch thread count go to the summary.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .._validation import choice, positive_float, positive_int
from ..experiments.tables import write_csv
from ..partition import PARTITIONS
from ..scheme import get_scheme
from ..spec import COSTS
from .config import ThresholdSchedule
from .setups import DATASETS, RUN_SCHEMES, SCHEMES, scheme_coding

__all__ = ["RunSpec", "CSV_COLUMNS", "DEFAULT_EVAL_EVERY", "DEFAULT_CLEAN_EPOCHS", "read_run_csv", "run_summary",
           "write_run_csv", "replace_spec"]

CSV_COLUMNS = (
    "dataset",
    "scheme",
    "partition",
    "deadline",
    "seed",
    "iteration",
    "epoch",
    "test_accuracy",
    "test_loss",
    "train_loss",
    "recovered",
    "coded_loss",
)
#: Default evaluation period (mini-batch iterations); CIFAR-10: once per epoch.
DEFAULT_EVAL_EVERY = {"mnist": 10, "cifar10": None}
#: Epochs trained without stragglers first (Sec. VII-C: 30 for CIFAR-10).
DEFAULT_CLEAN_EPOCHS = {"mnist": 0, "cifar10": 30}

@dataclass(frozen=True)
class RunSpec:
    """One training run.  ``partition``/``deadline``/``cost`` are ignored (stored as
    ``"-"``/inf/``"-"``) for the centralized scheme, which has no stragglers.  ``cost`` is the
    response-time cost model of the coded products (:data:`uepmm.spec.COSTS`): ``"equal"``, the
    paper's, or ``"work"``."""

    dataset: str = "mnist"
    scheme: str = "centralized"
    partition: str = "rxc"
    deadline: float = math.inf
    seed: int = 0
    epochs: int = 3
    lr: float = 0.01
    batch_size: int = 64
    eval_every: int | None = None
    limit_train: int | None = None
    clean_epochs: int | None = None
    fidelity: str = "fast"
    thresholds: ThresholdSchedule | None = field(default_factory=ThresholdSchedule)
    track_loss: bool = False
    device: str = "cpu"
    decoder: str | None = None  # None: the scheme's (zero-fill for the paper's)
    gamma: str | tuple[float, ...] | None = None
    cost: str = "equal"  # response-time cost model (uepmm.spec.COSTS); "-" for centralized

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen)
        set_("dataset", choice(self.dataset, "dataset", DATASETS))
        set_("scheme", choice(self.scheme, "scheme", RUN_SCHEMES))
        if self.scheme == "centralized":
            set_("partition", "-")
            set_("deadline", math.inf)
            set_("cost", "-")
        else:
            set_("cost", choice(self.cost, "cost", COSTS))
            set_("partition", choice(self.partition, "partition", PARTITIONS))
            if isinstance(self.deadline, bool) or not isinstance(self.deadline, (int, float)):
                raise TypeError(f"deadline must be a number, got {self.deadline!r}")
            set_("deadline", positive_float(self.deadline, "deadline", allow_zero=True, allow_inf=True))
        set_("seed", positive_int(self.seed, "seed", minimum=0))
        set_("epochs", positive_int(self.epochs, "epochs"))
        set_("lr", positive_float(self.lr, "lr"))
        set_("batch_size", positive_int(self.batch_size, "batch_size"))
        if self.eval_every is not None:
            set_("eval_every", positive_int(self.eval_every, "eval_every"))
        if self.limit_train is not None:
            set_("limit_train", positive_int(self.limit_train, "limit_train"))
        clean = DEFAULT_CLEAN_EPOCHS[self.dataset] if self.clean_epochs is None else self.clean_epochs
        set_("clean_epochs", positive_int(clean, "clean_epochs", minimum=0))
        set_("fidelity", choice(self.fidelity, "fidelity", ("fast", "full")))
        if self.thresholds is not None and not isinstance(self.thresholds, ThresholdSchedule):
            raise TypeError(f"thresholds must be a ThresholdSchedule or None, got {self.thresholds!r}")
        from ..decoders import DECODER_NAMES

        if self.decoder is not None:
            set_("decoder", choice(self.decoder, "decoder", DECODER_NAMES))
        if isinstance(self.gamma, list):
            set_("gamma", tuple(float(g) for g in self.gamma))
        if isinstance(self.gamma, str) and self.gamma != "auto":
            raise ValueError(f"gamma must be window probabilities or 'auto', got {self.gamma!r}")
        if self.scheme in SCHEMES:
            set_("decoder", self.decoder or "zero")
        else:  # a named scheme: its decoder unless given; a setting that contradicts it fails here, not mid-run
            coding = scheme_coding(self.scheme, self.partition, self.deadline, fidelity=self.fidelity,
                                   decoder=self.decoder, gamma=self.gamma, cost=self.cost)
            set_("decoder", coding.decoder)
        if not isinstance(self.device, str) or not self.device:
            raise TypeError(f"device must be a torch device string such as 'cpu' or 'cuda', got {self.device!r}")

    @property
    def name(self) -> str:
        """File stem: ``<dataset>_<scheme>[_<partition>_T<deadline>][_d<decoder>][_g<gamma>][_c<cost>]_s<seed>``
        (decoder, Γ and cost only where they differ from the paper's)."""
        if self.scheme == "centralized":
            return f"{self.dataset}_centralized_s{self.seed}"
        default = "zero" if self.scheme in SCHEMES else get_scheme(self.scheme).decoder
        extra = "" if self.decoder == default else f"_d{self.decoder}"
        if self.gamma is not None:
            extra += "_gauto" if self.gamma == "auto" else "_g" + "-".join(f"{g:g}" for g in self.gamma)
        if self.cost != "equal":
            extra += f"_c{self.cost}"
        return f"{self.dataset}_{self.scheme}_{self.partition}_T{self.deadline:g}{extra}_s{self.seed}"

    def settings(self) -> dict[str, Any]:
        """JSON-friendly settings (what must match for a saved run to count as this run)."""
        out = asdict(self)
        out["deadline"] = "inf" if math.isinf(self.deadline) else self.deadline
        out["thresholds"] = None if self.thresholds is None else asdict(self.thresholds)
        out.pop("device")  # where it ran does not change what it is
        if out["decoder"] == "zero" and out["gamma"] is None:  # the paper's: as before these fields existed
            out.pop("decoder")
            out.pop("gamma")
        if out["cost"] in ("equal", "-"):  # the paper's cost model (or none: centralized), as before the field
            out.pop("cost")
        return out


def run_summary(spec: RunSpec, *, seconds: float, resumed_from_epoch: int | None = None) -> dict[str, Any]:
    """The ``<name>.json`` summary of a finished run, less the data-dependent fields: the
    settings and what is not a result -- wall ``seconds``, ``torch_threads``
    (``torch.get_num_threads()`` when the run ended), the torch/numpy/Python versions,
    the device and the finish time (UTC)."""
    import datetime
    import platform

    return {
        "settings": spec.settings(), "name": spec.name, "seconds": round(seconds, 2),
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "device": spec.device,
        "resumed_from_epoch": resumed_from_epoch,
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def write_run_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write_csv(tmp, [{k: _fmt(row[k]) for k in CSV_COLUMNS} for row in rows], CSV_COLUMNS)
    os.replace(tmp, path)


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf"
        return repr(round(value, 8))
    return value


def read_run_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a run CSV with numbers parsed (also older CSVs, which end with a ``seconds`` column)."""
    out = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            parsed: dict[str, Any] = {}
            for key, value in row.items():
                if key in ("dataset", "scheme", "partition"):
                    parsed[key] = value
                elif key in ("seed", "iteration"):
                    parsed[key] = int(value)
                else:
                    parsed[key] = float(value)
            out.append(parsed)
    return out


def replace_spec(spec: RunSpec, **changes: Any) -> RunSpec:
    """A copy of ``spec`` with some fields changed."""
    return replace(spec, **changes)
