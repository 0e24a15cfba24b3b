"""With every packet (``deadline=inf``), every exact code (one with a recovery threshold) returns
``C = A @ B`` to float64 rounding, whatever the decoder, partition, shape, classes and seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import ONLY, exact_codes, jobs, scale

import uepmm
from uepmm.decoders import DECODER_NAMES

EXACT = exact_codes()

#: ``||C_hat - C||_F`` relative to ``||A|| ||B||`` (the decoders' systems are far from singular).
RTOL = 1e-9


def test_the_exact_codes_are_the_threshold_codes():
    # the registry decides which codes the property covers: a new exact code joins it by itself
    assert {"uncoded", "repetition", "mds", "polynomial", "matdot", "speculative"} <= set(EXACT)
    assert not {"now", "ew", "sampling"} & set(EXACT)  # rateless: a window may get no packet at all


@given(jobs(codes=EXACT, deadlines=st.just(math.inf)), st.sampled_from(DECODER_NAMES),
       st.sampled_from(["full", "fast"]))
def test_every_packet_gives_c(job, decoder, fidelity):
    A, B, settings = job
    if decoder == "unbiased" and settings["code"] in ("speculative", "spark", "cubed"):
        # no per-task decoding probabilities under a backup schedule: refused before any packet (Decoder.check)
        with pytest.raises(ValueError, match="no analytic per-task decoding probabilities"):
            uepmm.coded_matmul(A, B, decoder=decoder, fidelity=fidelity, **settings)
        return
    res = uepmm.coded_matmul(A, B, decoder=decoder, fidelity=fidelity, **settings)
    assert res.recovered.all()
    assert res.received <= settings["workers"]
    np.testing.assert_allclose(res.estimate, A @ B, rtol=0, atol=RTOL * scale(A, B))
    assert res.loss(A @ B) <= (RTOL * scale(A, B)) ** 2  # paper eq. (2)


@given(jobs(codes=EXACT, deadlines=st.just(math.inf)))
def test_the_threshold_is_enough(job):
    # any recovery-threshold many packets recover everything: the run stops by then
    A, B, settings = job
    res = uepmm.coded_matmul(A, B, decoder="zero", **settings)
    spec = uepmm.JobSpec(**{k: v for k, v in settings.items() if k not in ("seed", "reorder")})
    threshold = spec.code_object.recovery_threshold(spec.num_products)
    assert res.received <= threshold
    assert [e.received for e in res.timeline] == list(range(1, res.received + 1))


@example("repetition", 9, 3)  # found by test_the_threshold_is_enough: it said (r - 1) K + 1 = 19, theory says 25
@given(st.sampled_from(EXACT), st.integers(1, 6), st.integers(1, 3))
def test_the_threshold_is_where_theory_decodes_everything(name, K, copies):
    # the least n with P(everything decoded | n packets) = 1, from the code's own analytic probabilities
    kind = ONLY.get(name, "rxc")
    code = uepmm.make_code(name, copies=copies if name == "repetition" else None).for_layout(kind, (K, 1))
    threshold = code.recovery_threshold(K)
    workers = code.task_count(K) or max(threshold, 2 * K)
    everything = code.all_decoded_probability((K,), workers, workers=workers)
    assert everything[threshold] == pytest.approx(1.0, abs=1e-12)
    assert everything[threshold - 1] < 1.0 - 1e-12
