"""JobSpec: validated once, derived values, and what coded_matmul does with it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uepmm import EW, ClassTable, Exponential, JobSpec, coded_matmul


def test_defaults_and_derived_values():
    spec = JobSpec()
    assert (spec.partition, spec.blocks, spec.workers, spec.deadline) == ("cxr", 9, 15, math.inf)
    assert spec.num_products == 9 and spec.grid == (9, 1)
    assert spec.omega_value == pytest.approx(9 / 15)  # Remark 1
    assert spec.class_counts == (3, 3, 3) and spec.counts == (3, 3, 3)
    assert isinstance(spec.code_object, EW) and spec.decoder_object.name == "lmmse"
    rxc = JobSpec(partition="rxc", blocks=(2, 3), workers=12, omega=2.0)
    assert rxc.num_products == 6 and rxc.grid == (2, 3) and rxc.omega_value == 2.0


def test_explicit_classes_and_with_():
    table = ClassTable((0, 0, 1, 1, 1, 2, 2, 2, 2))
    spec = JobSpec(classes=table)
    assert spec.class_counts is None and spec.counts == (2, 3, 4)
    changed = spec.with_(workers=30)  # keeps the classes, validates again
    assert changed.classes == table and changed.workers == 30 and changed.omega_value == pytest.approx(9 / 30)
    counted = spec.with_(class_counts=(1, 2, 6))
    assert counted.classes is None and counted.counts == (1, 2, 6)
    assert JobSpec(workers=15) == JobSpec() and hash(JobSpec(workers=15)) == hash(JobSpec())


@pytest.mark.parametrize(
    "kwargs,exc,message",
    [
        (dict(partition="rcx"), ValueError, "partition"),
        (dict(partition="rxc", blocks=8), ValueError, "perfect square"),
        (dict(workers=0), ValueError, "workers"),
        (dict(deadline="soon"), TypeError, "deadline"),
        (dict(latency="exp"), TypeError, "latency"),
        (dict(code="mds", gamma=(0.5, 0.5)), ValueError, "gamma"),
        (dict(code="now", copies=2), ValueError, "copies"),
        (dict(code="uncoded", workers=10), ValueError, "uncoded"),
        (dict(class_counts=(4, 4)), ValueError, "class_counts"),
        (dict(decoder="magic"), ValueError, "decoder"),
        (dict(cost="cheap"), ValueError, "cost"),
        (dict(backend="dask", fidelity="fast"), ValueError, "fidelity"),
    ],
)
def test_bad_settings_are_refused_when_the_spec_is_built(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        JobSpec(**kwargs)


def test_coded_matmul_takes_a_spec_and_overrides():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((30, 18)), rng.standard_normal((18, 30))
    spec = JobSpec(code="now", workers=30, deadline=0.3, latency=Exponential(1.0))
    same = coded_matmul(A, B, spec, seed=3)
    again = coded_matmul(A, B, code="now", workers=30, deadline=0.3, seed=3)
    np.testing.assert_array_equal(same.estimate, again.estimate)
    exact = coded_matmul(A, B, spec, deadline=math.inf, seed=3)  # a setting overrides the spec
    np.testing.assert_allclose(exact.estimate, A @ B, rtol=1e-9, atol=1e-9)
    with pytest.raises(TypeError, match="takes no options"):
        coded_matmul(A, B, spec, worker=3)
    with pytest.raises(TypeError, match="spec must be a uepmm.JobSpec"):
        coded_matmul(A, B, {"code": "now"})
