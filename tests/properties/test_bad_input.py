"""Bad input raises ``ValueError`` or ``TypeError`` and nothing else, with a message that names the
argument: one setting of a valid random job made wrong at a time, and the building blocks."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import jobs

import uepmm
from uepmm.backends import BACKENDS
from uepmm.decoders import DECODER_NAMES
from uepmm.importance import STATISTICS
from uepmm.partition import PARTITIONS
from uepmm.spec import COSTS, ENCODINGS, FIDELITIES

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ -", max_size=8)
NOT_A_NUMBER = st.one_of(st.none(), WORDS, st.lists(WORDS, min_size=1, max_size=2), st.just(object()))


def unknown(options):
    """Strings that are none of ``options``, and things that are not strings."""
    return st.one_of(WORDS.filter(lambda w: w.lower() not in options), st.integers(), st.none())


def bad_int(minimum: int = 1):
    return st.one_of(st.integers(max_value=minimum - 1), st.floats(allow_nan=True), st.booleans(), NOT_A_NUMBER)


#: setting -> bad values (given on top of a valid job, they alone make it invalid).
BAD_SETTINGS = {
    "code": unknown(uepmm.CODES),
    "partition": unknown(PARTITIONS),
    "decoder": unknown(DECODER_NAMES),
    "backend": unknown(BACKENDS),
    "statistic": unknown(STATISTICS),
    "encoding": unknown(ENCODINGS),
    "fidelity": unknown(FIDELITIES),
    "cost": unknown(COSTS),
    "workers": bad_int(),
    "blocks": st.one_of(bad_int(), st.tuples(st.integers(max_value=0), st.integers()),
                        st.lists(st.integers(1, 3), min_size=3, max_size=4).map(tuple), st.integers(1000, 10**6)),
    "deadline": st.one_of(st.floats(max_value=-1e-300), st.just(math.nan), st.just(-math.inf), NOT_A_NUMBER,
                          st.booleans()),
    "gamma": st.one_of(
        st.lists(st.floats(0, 1), min_size=1, max_size=4).filter(lambda g: abs(sum(g) - 1) > 1e-6),
        st.lists(st.floats(allow_nan=True), min_size=1, max_size=4).filter(lambda g: not all(0 <= x <= 1 for x in g)),
        WORDS.filter(lambda w: w != "auto"), st.integers(), st.just(()),
    ),
    "copies": bad_int().filter(lambda v: v is not None),  # None: the default
    "class_counts": st.one_of(st.lists(st.integers(max_value=0), min_size=1, max_size=3),
                              st.lists(st.integers(1000, 2000), min_size=1, max_size=3), WORDS, st.integers()),
    "omega": st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf),
                       WORDS.filter(lambda w: w != "paper"), st.none()),
    "latency": st.one_of(WORDS, st.floats(), st.integers(), st.just(uepmm.Exponential)),
    "reorder": st.one_of(st.integers(), WORDS, st.none()),
    "seed": st.one_of(st.integers(max_value=-1), st.floats(), WORDS),
}
#: settings of coded_matmul only (plan_job has no run)
RUN_SETTINGS = {"track_loss": st.one_of(st.integers(), WORDS, st.none()), "on_packet": st.one_of(st.integers(), WORDS)}


def names(argument: str) -> str:
    """A regex that finds ``argument`` as a word in the message."""
    return rf"(?<![A-Za-z_]){re.escape(argument)}(?![A-Za-z_])"


def bad_matrix(draw, M: np.ndarray, other_inner: int, is_a: bool):
    """``M`` made wrong: shape, dimensions, emptiness, a non-finite entry, dtype, or not an array."""
    kind = draw(st.sampled_from(["inner", "1d", "3d", "empty", "nonfinite", "dtype", "object"]))
    if kind == "inner":  # the inner dimensions disagree
        rows, cols = M.shape
        wrong = draw(st.integers(1, 9).filter(lambda n: n != other_inner))
        return np.ones((rows, wrong)) if is_a else np.ones((wrong, cols))
    if kind == "1d":
        return M.ravel()
    if kind == "3d":
        return M[None]
    if kind == "empty":
        return M[:0] if draw(st.booleans()) else M[:, :0]
    if kind == "nonfinite":
        out = M.copy()
        out.flat[draw(st.integers(0, M.size - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        return out
    if kind == "dtype":
        return M.astype(draw(st.sampled_from([bool, complex, str, object])))
    return draw(st.sampled_from([None, "A @ B", 3.0, [[1, 2], [3]]]))


@given(jobs(), st.data())
def test_a_bad_setting_is_named(job, data):
    A, B, settings = job
    run = data.draw(st.booleans(), label="coded_matmul (else plan_job)")
    table = {**BAD_SETTINGS, **(RUN_SETTINGS if run else {})}
    name = data.draw(st.sampled_from(sorted(table)), label="setting")
    settings = {**settings, name: data.draw(table[name], label="value")}
    call = uepmm.coded_matmul if run else uepmm.plan_job
    # a block count valid on its own may first contradict another setting (class_counts, workers of a
    # fixed-task code): then the message names the count of sub-products it gives, K
    pattern = names(name) + (r"|K = \d+" if name == "blocks" else "")
    with pytest.raises((ValueError, TypeError), match=pattern):
        call(A, B, **settings)


@pytest.mark.parametrize("backend", [None, object(), 3])
def test_a_backend_without_packets_is_refused(backend):
    # found by test_a_bad_setting_is_named: JobSpec kept any non-string backend, and the run failed with
    # AttributeError: 'NoneType' object has no attribute 'packets'
    with pytest.raises(TypeError, match=names("backend")):
        uepmm.coded_matmul(np.ones((3, 3)), np.ones((3, 3)), blocks=3, workers=5, backend=backend)


@given(jobs(), st.data())
def test_a_bad_matrix_is_named(job, data):
    A, B, settings = job
    if data.draw(st.booleans(), label="bad A (else B)"):
        name, A = "A", bad_matrix(data.draw, A, B.shape[0], True)
    else:
        name, B = "B", bad_matrix(data.draw, B, A.shape[1], False)
    with pytest.raises((ValueError, TypeError), match=names(name)):
        uepmm.coded_matmul(A, B, **settings)


@given(st.from_regex(r"x_[a-z0-9]{0,5}", fullmatch=True), st.data())
def test_an_unknown_keyword_is_named(keyword, data):
    call = data.draw(st.sampled_from([uepmm.coded_matmul, uepmm.plan_job]))
    with pytest.raises(TypeError, match=names(keyword)):
        call(np.ones((3, 3)), np.ones((3, 3)), blocks=3, workers=5, **{keyword: 1})


#: building blocks: (call, the argument its message must name)
BLOCKS = st.one_of(
    unknown(uepmm.CODES).map(lambda v: (lambda: uepmm.make_code(v), "code")),
    unknown(DECODER_NAMES).map(lambda v: (lambda: uepmm.make_decoder(v), "decoder")),
    bad_int().filter(lambda v: v is not None).map(
        lambda v: (lambda: uepmm.make_code("repetition", copies=v), "copies")),
    st.lists(st.floats(0, 1), min_size=1, max_size=3).filter(lambda g: abs(sum(g) - 1) > 1e-6).map(
        lambda g: (lambda: uepmm.make_code("ew", gamma=g), "gamma")),
    bad_int().map(lambda v: (lambda: uepmm.ProgressiveDecoder(v, (2, 2), 3), "num_products")),
    bad_int().map(lambda v: (lambda: uepmm.ProgressiveDecoder(3, (2, 2), v), "capacity")),
    bad_int().map(lambda v: (lambda: uepmm.RecoveryTracker(v), "num_products")),
    st.lists(st.integers(1, 5), max_size=4).filter(lambda s: len(s) != 2).map(
        lambda s: (lambda: uepmm.make_partition(tuple(s), (3, 3), "rxc", 1), "a_shape")),
    bad_int().map(lambda v: (lambda: uepmm.make_partition((3, 3), (3, 3), "cxr", v), "blocks")),
    unknown(PARTITIONS).map(lambda v: (lambda: uepmm.make_partition((3, 3), (3, 3), v, 1), "partition")),
    st.sampled_from([(), (2,), (2, 2, 2)]).map(lambda shape: (lambda: uepmm.recoverable(np.ones(shape)), "rows")),
    st.sampled_from([(), (2,), (2, 2, 2)]).map(lambda shape: (lambda: uepmm.recovery_curve(np.ones(shape)), "rows")),
)


def _row_cases(K):
    """Rows a K-product decoder must refuse: wrong length, NaN, Inf."""
    wrong = st.integers(0, 6).filter(lambda n: n != K).map(np.ones)
    nonfinite = st.tuples(st.integers(0, K - 1), st.sampled_from([math.nan, math.inf])).map(
        lambda c: np.where(np.arange(K) == c[0], c[1], 1.0))
    return st.one_of(wrong, nonfinite)


@given(BLOCKS)
def test_the_building_blocks_name_a_bad_argument(case):
    call, name = case
    with pytest.raises((ValueError, TypeError), match=names(name)):
        call()


@given(st.integers(1, 5).flatmap(lambda K: st.tuples(st.just(K), _row_cases(K))), st.booleans())
def test_a_decoder_refuses_a_bad_row_and_stays_usable(case, progressive):
    K, row = case
    decoder = uepmm.ProgressiveDecoder(K, (2,), K) if progressive else uepmm.RecoveryTracker(K)
    with pytest.raises(ValueError, match=names("row")):
        decoder.add(row, np.ones(2)) if progressive else decoder.add(row)
    # nothing was kept: the unit rows still recover every sub-product, exactly
    P = np.arange(2.0 * K).reshape(K, 2)
    for k in range(K):
        if progressive:
            decoder.add(np.eye(K)[k], P[k])
        else:
            decoder.add(np.eye(K)[k])
    assert decoder.recovered.all()
    if progressive:
        np.testing.assert_array_equal(np.array(decoder.products), P)


@pytest.mark.parametrize("scale_a,scale_b,direction", [(1e-100, 1e-100, "underflow"), (1e155, 1e-155, "overflow")])
@pytest.mark.parametrize("settings", [{"decoder": "lmmse"}, {"code": "sampling"}, {"gamma": "auto", "deadline": 1.0}])
def test_out_of_range_energies_are_refused(scale_a, scale_b, direction, settings):
    # found by test_exact_or_absent.py: with entries near 1e-100 the energies ||A_i||^2 ||B_j||^2 underflow to
    # zero, and the LMMSE decoder zeroed every sub-product it had recovered (C_hat = 0 with every packet); near
    # 1e155 they overflow and the decoder failed inside with a message about its own argument
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((6, 6)) * scale_a, rng.standard_normal((6, 6)) * scale_b
    with pytest.raises(ValueError, match=rf"A and B .*{direction}"):
        uepmm.coded_matmul(A, B, partition="rxc", blocks=4, workers=6, seed=0, **settings)
    # the zero-fill decoder needs no prior: C exactly, to rounding
    res = uepmm.coded_matmul(A, B, partition="rxc", blocks=4, workers=6, seed=0, code="mds", decoder="zero")
    C = A @ B
    assert np.abs(res.estimate - C).max() <= 1e-12 * np.abs(C).max()


def test_a_negligible_underflowed_energy_is_accepted():
    # a block of A near 1e-170 beside normal ones: its energy underflows, but is below eps^2 of the largest
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((6, 5)), rng.standard_normal((5, 6))
    A[:3] *= 1e-170
    res = uepmm.coded_matmul(A, B, code="mds", partition="rxc", blocks=4, workers=6, seed=0)  # lmmse
    assert res.recovered.all()
    assert np.abs(res.estimate - A @ B).max() <= 1e-12 * np.abs(A @ B).max()
