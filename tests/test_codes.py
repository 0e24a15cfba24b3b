import numpy as np
import pytest

from uepmm.codes import EW, MDS, NOW, Repetition, Uncoded, make_code, to_factor_form
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
    with pytest.raises(ValueError, match="'uncoded', 'repetition', 'mds', 'now', 'ew'"):
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
