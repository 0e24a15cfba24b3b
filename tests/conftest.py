import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles (as numpy's and scipy's conftest): no wall-clock deadlines anywhere, so a
# loaded machine cannot fail a property by being slow.  "deterministic" (the default) derives
# every example from the test itself and keeps no example database: the same examples on every
# machine and every run.  "ci" draws fresh random examples each run (and remembers failures);
# "thorough" draws ten times as many, to hunt for counterexamples by hand.
# Pick one with UEPMM_HYPOTHESIS_PROFILE=deterministic|ci|thorough.
settings.register_profile(
    "deterministic",
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("UEPMM_HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def load_benchmark():
    """``load_benchmark(name)``: ``benchmarks/<name>.py`` as a module.  The environment the script
    sets on import (single-threaded BLAS for the processes it starts) is put back afterwards."""

    def load(name: str):
        saved = dict(os.environ)
        try:
            spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks"
                                                          / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return module

    return load
