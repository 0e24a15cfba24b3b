"""Settings for the doctests in ``src/uepmm`` (``python -m pytest --doctest-modules src/uepmm``).

The docstring examples draw their data from ``np.random.default_rng(0)`` or build it by hand,
and compare numbers with a tolerance or print exact values, so they do not depend on the
machine.  Here numpy's print options are pinned (so a user's own settings cannot change what
an array prints) and a warning inside an example is an error, as in scipy's conftest.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_settings(request: pytest.FixtureRequest):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    saved = np.get_printoptions()
    np.set_printoptions(precision=8, suppress=False, linewidth=75, threshold=1000, edgeitems=3, floatmode="maxprec")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
    finally:
        np.set_printoptions(**saved)
