"""``benchmarks/dask_variants.py``: its arguments are checked before any cluster starts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "dask_variants.py"


def test_unknown_variant_is_refused_with_the_valid_ones(capsys):
    spec = importlib.util.spec_from_file_location("dask_variants", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--variants", "checked,fastest"])
    assert exit_info.value.code == 2
    assert "--variants: each of checked, unchecked, unordered, neither" in capsys.readouterr().err
