"""``benchmarks/dask_variants.py``: its arguments are checked before any cluster starts."""

from __future__ import annotations

import pytest


def test_unknown_variant_is_refused_with_the_valid_ones(load_benchmark, capsys):
    module = load_benchmark("dask_variants")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--variants", "checked,fastest"])
    assert exit_info.value.code == 2
    assert "--variants: each of checked, unchecked, unordered, neither" in capsys.readouterr().err
