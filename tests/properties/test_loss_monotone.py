"""One more packet never raises the zero-fill loss where the sub-products are disjoint blocks of ``C``
(r×c): a packet only adds recovered blocks, and each recovered block removes its own share of
``||C||^2``.  In c×r, ``C`` is the SUM of the sub-products, and recovering one can raise the loss
(the last test shows it), so the guarantee is stated for r×c."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import jobs, norm

import uepmm

#: Zero-fill codes that serve r×c (sampling forms its own estimate; MatDot is c×r only).
ZERO_FILL = [c for c in uepmm.CODES if c not in ("sampling", "matdot", "ew-matdot")]

#: Rounding of a normalized loss.
ATOL = 1e-12


def normalized(C: np.ndarray, estimate: np.ndarray) -> float:
    top = float(np.abs(C).max())
    if top == 0:
        return 0.0 if not np.any(estimate) else math.inf
    return (norm(C - estimate) / norm(C)) ** 2


@given(jobs(codes=ZERO_FILL, partitions=("rxc",)))
def test_one_more_packet_never_raises_the_zero_fill_loss(job):
    A, B, settings = job
    C = A @ B
    seen = []  # (entry, C_hat right then): Progress.estimate builds C_hat at the time it is called
    res = uepmm.coded_matmul(A, B, decoder="zero", track_loss=True,
                             on_packet=lambda p: seen.append((p.entry, p.estimate())), **settings)
    losses = [1.0 if np.any(C) else 0.0] + [e.loss for e in res.timeline]  # nothing arrived: C_hat = 0
    assert all(0.0 <= loss <= 1.0 + ATOL for loss in losses)
    assert all(later <= earlier + ATOL for earlier, later in zip(losses, losses[1:]))
    # the tracked loss is that of the estimate handed to on_packet at that moment
    assert len(seen) == len(res.timeline)
    for (reported, estimate), entry in zip(seen, res.timeline):
        assert reported == entry
        assert math.isclose(normalized(C, estimate), entry.loss, rel_tol=1e-9, abs_tol=ATOL)
    if res.timeline:
        assert math.isclose(res.normalized_loss(C), res.timeline[-1].loss, rel_tol=1e-9, abs_tol=ATOL)


@given(jobs(codes=ZERO_FILL))
def test_one_more_packet_never_loses_a_recovered_sub_product(job):
    A, B, settings = job
    seen = []
    uepmm.coded_matmul(A, B, decoder="zero", on_packet=lambda p: seen.append(p.recovered), **settings)
    for before, after in zip(seen, seen[1:]):
        assert not (before & ~after).any()


def test_in_cxr_one_more_sub_product_can_raise_the_loss():
    # C = P_1 + P_2 = 3 - 2.5 = 0.5: either packet alone leaves C_hat far from C
    A, B = np.array([[3.0, -2.5]]), np.array([[1.0], [1.0]])
    res = uepmm.coded_matmul(A, B, code="uncoded", partition="cxr", blocks=2, workers=2, class_counts=(2,),
                             reorder=False, decoder="zero", track_loss=True, seed=0)
    first, last = res.timeline[0].loss, res.timeline[-1].loss
    assert first == pytest.approx(25.0) or first == pytest.approx(36.0)  # (0.5 - 3)^2 or (0.5 + 2.5)^2, over 0.5^2
    assert last <= ATOL


@given(jobs(), st.floats(0.0, 3.0), st.floats(0.0, 3.0))
def test_a_later_deadline_never_recovers_less(job, t1, t2):
    # the same seed draws the same response times: the packets by the earlier deadline are a prefix
    A, B, settings = job
    early, late = sorted((t1, t2))
    first = uepmm.coded_matmul(A, B, decoder="zero", **{**settings, "deadline": early})
    second = uepmm.coded_matmul(A, B, decoder="zero", **{**settings, "deadline": late})
    assert first.received <= second.received
    assert not (first.recovered & ~second.recovered).any()
    assert [e.worker for e in first.timeline] == [e.worker for e in second.timeline][: first.received]
