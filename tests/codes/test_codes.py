import numpy as np
import pytest

from uepmm.codes import EW, MDS, NOW, Code, Repetition, Uncoded, make_code, to_factor_form
from uepmm.importance import ClassTable, paper_sec6_classes
from uepmm.partition import make_partition

TABLE = paper_sec6_classes("cxr")


def test_now_rows_stay_in_their_class_window(rng):
    enc = NOW((0.4, 0.35, 0.25)).encode(TABLE, 200, rng)
    cls = TABLE.as_array()
    for row, window in zip(enc.generator, enc.windows):
        support = np.flatnonzero(row)
        assert set(cls[support]) == {window}
        assert support.size == 3  # Gaussian coefficients are non-zero almost surely
    freq = np.bincount(enc.windows, minlength=3) / 200
    assert np.all(np.abs(freq - [0.4, 0.35, 0.25]) < 0.12)


def test_ew_rows_cover_classes_up_to_window(rng):
    enc = EW((0.4, 0.35, 0.25)).encode(TABLE, 100, rng)
    cls = TABLE.as_array()
    for row, window in zip(enc.generator, enc.windows):
        assert np.flatnonzero(row).tolist() == np.flatnonzero(cls <= window).tolist()


def test_baselines(rng):
    assert np.array_equal(Uncoded().encode(TABLE, 9, rng).generator, np.eye(9))
    rep = Repetition().encode(TABLE, 18, rng)
    assert rep.generator.sum(axis=0).tolist() == [2.0] * 9
    assert MDS().encode(TABLE, 15, rng).generator.shape == (15, 9)


def test_worker_count_errors():
    with pytest.raises(ValueError, match="workers == number of sub-products"):
        Uncoded().encode(TABLE, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="multiple of K"):
        Repetition().encode(TABLE, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="copies"):
        Repetition(3).encode(TABLE, 18, np.random.default_rng(0))


def test_gamma_errors():
    with pytest.raises(ValueError, match="gamma"):
        NOW((0.5, 0.5)).encode(TABLE, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="gamma"):
        make_code("ew", gamma=(0.5, 0.4, 0.3))
    with pytest.raises(ValueError, match="gamma .* required"):
        NOW().encode(ClassTable((0, 1)), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="'uncoded', 'repetition', 'mds', 'polynomial', 'now', 'ew', 'matdot', "
                                         "'sampling', 'speculative'"):
        make_code("ldpc")


def test_factor_form_valid_for_rectangle_windows(rng):
    part = make_partition((6, 4), (4, 6), "rxc", 9)
    # rectangles: class 0 = {HH,HM} (row 0 x cols 0,1); class 1 = the rest of row 0 and rows 1-2 -> not rectangle
    table = ClassTable((0, 0, 1, 1, 1, 1, 1, 1, 1))
    enc = NOW((1.0, 0.0)).encode(table, 4, rng)
    fac = to_factor_form(enc, part, rng)
    for (alpha, beta), row in zip(fac.factors, fac.generator):
        np.testing.assert_allclose(np.outer(alpha, beta).ravel(), row)
    mds = to_factor_form(MDS().encode(table, 3, rng), part, rng)  # full grid is a rectangle
    assert np.count_nonzero(mds.generator[0]) == 9


def test_factor_form_refused_where_invalid(rng):
    part = make_partition((6, 4), (4, 6), "rxc", 9)
    enc = NOW((0.0, 0.0, 1.0)).encode(paper_sec6_classes("rxc"), 2, rng)  # {ML, LM, LL}: not a rectangle
    with pytest.raises(ValueError, match="encoding='factor'.*rectangle"):
        to_factor_form(enc, part, rng)
    part_cxr = make_partition((6, 9), (9, 6), "cxr", 9)
    with pytest.raises(ValueError, match="cross terms"):
        to_factor_form(EW().encode(TABLE, 3, rng), part_cxr, rng)


# ----------------------------------------------------------------------------- self-description


def test_codes_describe_themselves():
    from uepmm import make_code, paper_sec6_classes, theory
    from uepmm.partition import make_partition

    props = {name: make_code(name) for name in ("uncoded", "repetition", "mds", "now", "ew")}
    assert [n for n, c in props.items() if c.uses_window_probabilities] == ["now", "ew"]
    assert [n for n, c in props.items() if c.class_aware] == ["now", "ew"]
    assert [n for n, c in props.items() if c.deterministic] == ["uncoded", "repetition"]
    assert props["mds"].recovery_threshold(9) == 9 and props["uncoded"].recovery_threshold(9) == 9
    assert make_code("repetition", copies=3).recovery_threshold(9) == 25  # r (K - 1) + 1
    assert props["now"].recovery_threshold(9) is None and props["repetition"].recovery_threshold(9) is None
    assert props["uncoded"].task_count(9) == 9 and make_code("repetition", copies=2).task_count(9) == 18
    # the code's own probabilities are theory's
    for name in ("now", "ew"):
        np.testing.assert_array_equal(
            props[name].decoding_probabilities((3, 3, 3), 20),
            theory.decoding_probabilities(name, (3, 3, 3), (0.40, 0.35, 0.25), 20),
        )
    # work per packet: c×r window size; r×c rank of the N×P pattern; factor form 1
    classes = paper_sec6_classes("cxr")
    rng = np.random.default_rng(0)
    enc = make_code("ew").encode(classes, 30, rng)
    cxr = make_partition((9, 9), (9, 9), "cxr", 9)
    np.testing.assert_array_equal(props["ew"].packet_work(enc, cxr), np.count_nonzero(enc.generator, axis=1))
    rxc = make_partition((9, 9), (9, 9), "rxc", (3, 3))
    enc = make_code("mds").encode(paper_sec6_classes("rxc"), 4, rng)
    np.testing.assert_array_equal(props["mds"].packet_work(enc, rxc), [3, 3, 3, 3])
    enc = make_code("uncoded").encode(paper_sec6_classes("rxc"), 9, rng)
    np.testing.assert_array_equal(props["uncoded"].packet_work(enc, rxc), np.ones(9))


def test_parameters_a_code_does_not_take_are_refused():
    from uepmm import make_code

    with pytest.raises(ValueError, match="gamma=.* only applies to code 'now' or 'ew'"):
        make_code("mds", gamma=(0.5, 0.5))
    with pytest.raises(ValueError, match="copies=2 only applies to code 'repetition'"):
        make_code("ew", copies=2)
    assert make_code("mds", gamma=(0.5, 0.5), ignore_unused=True).name == "mds"
    with pytest.raises(ValueError, match="no analytic decoding probabilities"):
        type("Custom", (Code,), {"name": "custom"})().decoding_probabilities((3,), 4)
