"""``uepmm.worker``: a worker's packet is the coded combination ``sum_k g_k P_k`` of exact sub-products."""

from __future__ import annotations

import numpy as np
import pytest

from uepmm.partition import make_partition
from uepmm.worker import coded_product, factor_product

RTOL = 1e-10


def _close(actual, expected):
    """Equal to 1e-10 relative to the size of ``expected`` (entries near zero included)."""
    scale = np.abs(expected).max()
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


def _setting(kind, rng):
    """Uneven dimensions (block sizes differ by one), their partition, blocks and exact sub-products."""
    A, B = rng.standard_normal((11, 13)), rng.standard_normal((13, 9))
    partition = make_partition(A.shape, B.shape, kind, (3, 2) if kind == "rxc" else 4)
    a_blocks, b_blocks = partition.a_blocks(A), partition.b_blocks(B)
    return partition, a_blocks, b_blocks, partition.block_products(a_blocks, b_blocks)


def _uneven_rows(K, rng):
    """Coefficient rows with supports of every size 1..K, at random positions (so, for r×c, a
    different number of sub-products per row block of A), and a fixed full-support row."""
    rows = []
    for size in range(1, K + 1):
        row = np.zeros(K)
        support = rng.choice(K, size=size, replace=False)
        row[support] = rng.standard_normal(size)
        rows.append(row)
    rows.append(rng.standard_normal(K))
    return rows


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_coded_product_is_the_coded_combination_of_sub_products(kind):
    rng = np.random.default_rng(7)
    partition, a_blocks, b_blocks, products = _setting(kind, rng)
    K = partition.num_products
    assert K == {"rxc": 6, "cxr": 4}[kind]
    for row in _uneven_rows(K, rng):
        packet = coded_product(kind, a_blocks, b_blocks, partition.grid, row)
        _close(packet, np.einsum("k,kij->ij", row, products))
        assert packet.shape == partition.product_shape


def test_coded_product_rxc_groups_by_row_block():
    """r×c, grid 3x2, support {0, 1, 5}: row block 0 with both column blocks, row block 2 with one."""
    rng = np.random.default_rng(1)
    partition, a_blocks, b_blocks, _ = _setting("rxc", rng)
    row = np.zeros(6)
    row[[0, 1, 5]] = [2.0, -0.5, 3.0]
    expected = a_blocks[0] @ (2.0 * b_blocks[0] - 0.5 * b_blocks[1]) + 3.0 * a_blocks[2] @ b_blocks[1]
    _close(coded_product("rxc", a_blocks, b_blocks, partition.grid, row), expected)


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_coded_product_reads_only_the_blocks_in_its_support(kind):
    rng = np.random.default_rng(3)
    partition, a_blocks, b_blocks, products = _setting(kind, rng)
    K = partition.num_products
    row = np.zeros(K)
    row[[1, K - 1]] = [1.5, -2.0]
    a_needed = {partition.factors(k)[0] for k in (1, K - 1)}
    b_needed = {partition.factors(k)[1] for k in (1, K - 1)}
    a_held = {i: a_blocks[i] for i in a_needed}  # a worker holds only these (a mapping)
    b_held = {j: b_blocks[j] for j in b_needed}
    packet = coded_product(kind, a_held, b_held, partition.grid, row)
    _close(packet, 1.5 * products[1] - 2.0 * products[K - 1])


def test_coded_product_cxr_single_sub_product():
    rng = np.random.default_rng(4)
    partition, a_blocks, b_blocks, products = _setting("cxr", rng)
    row = np.zeros(4)
    row[2] = -0.75
    _close(coded_product("cxr", a_blocks, b_blocks, partition.grid, row), -0.75 * products[2])


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_an_all_zero_row_is_refused(kind):
    rng = np.random.default_rng(5)
    partition, a_blocks, b_blocks, _ = _setting(kind, rng)
    with pytest.raises(ValueError, match="^coefficient row is all zero: the worker has nothing to compute$"):
        coded_product(kind, a_blocks, b_blocks, partition.grid, np.zeros(partition.num_products))


def test_factor_product_rxc_is_the_outer_product_code():
    """(sum a_n A_n)(sum b_p B_p) = sum_(n,p) a_n b_p P_(n,p): the generator row is outer(a, b)."""
    rng = np.random.default_rng(6)
    partition, a_blocks, b_blocks, products = _setting("rxc", rng)
    alpha, beta = np.array([0.0, 1.3, -0.4]), np.array([2.0, 0.7])
    packet = factor_product(a_blocks, b_blocks, alpha, beta)
    _close(packet, (sum(a * blk for a, blk in zip(alpha, a_blocks))) @ (sum(b * blk for b, blk in zip(beta, b_blocks))))
    _close(packet, np.einsum("k,kij->ij", np.outer(alpha, beta).ravel(), products))
    # the blocks with a zero coefficient are never read
    _close(factor_product({1: a_blocks[1], 2: a_blocks[2]}, b_blocks, alpha, beta), packet)


def test_factor_product_cxr_includes_the_cross_terms():
    """With equal block widths: (sum a_i A_i)(sum b_j B_j) = sum_(i,j) a_i b_j A_i B_j."""
    rng = np.random.default_rng(8)
    A, B = rng.standard_normal((7, 12)), rng.standard_normal((12, 5))
    partition = make_partition(A.shape, B.shape, "cxr", 3)
    a_blocks, b_blocks = partition.a_blocks(A), partition.b_blocks(B)
    alpha, beta = rng.standard_normal(3), np.array([0.5, 0.0, -1.1])
    expected = sum(alpha[i] * beta[j] * a_blocks[i] @ b_blocks[j] for i in range(3) for j in range(3))
    _close(factor_product(a_blocks, b_blocks, alpha, beta), expected)
    single_a, single_b = np.array([0.0, 2.5, 0.0]), np.array([0.0, 1.0, 0.0])  # one sub-product: no cross terms
    products = partition.block_products(a_blocks, b_blocks)
    _close(factor_product(a_blocks, b_blocks, single_a, single_b), 2.5 * products[1])


@pytest.mark.parametrize("kind", ["cxr", "rxc"])
@pytest.mark.parametrize("form", ["coded", "factor"])
def test_packet_terms_in_row_slabs_equal_the_whole_packet(kind, form):
    # a Dask task computes its packet in row slabs of the A side; the B side is combined once and shared
    from uepmm.worker import coded_terms, factor_terms

    rng = np.random.default_rng(4)
    a = {i: rng.standard_normal((10, 7)) for i in range(3)}
    b = {j: rng.standard_normal((7, 5)) for j in range(3)}
    if form == "coded":
        row = np.array([0.0, 1.0, 0.0, 2.5, 1.0, 0.0, -1.0, 0.0, 0.5])[: 3 if kind == "cxr" else 9]
        terms = coded_terms(kind, a, b, (3, 3), row)
        whole = coded_product(kind, a, b, (3, 3), row)
    else:
        alpha, beta = np.array([1.0, 0.0, 2.0]), np.array([0.0, 1.0, -0.5])
        terms = factor_terms(a, b, alpha, beta)
        whole = factor_product(a, b, alpha, beta)
    assert terms.rows == 10
    np.testing.assert_array_equal(terms.compute(), whole)
    slabs = np.vstack([terms.compute(r0, r1) for r0, r1 in ((0, 3), (3, 7), (7, 10))])
    np.testing.assert_allclose(slabs, whole, rtol=1e-13, atol=1e-13)


def test_a_coefficient_of_one_reads_the_block_as_it_is():
    # one sub-product with coefficient 1: the packet is A_i @ B_j itself (no scaled copy, the same numbers)
    from uepmm.worker import coded_terms

    rng = np.random.default_rng(5)
    a = {i: rng.standard_normal((6, 4)) for i in range(3)}
    b = {j: rng.standard_normal((4, 6)) for j in range(3)}
    row = np.zeros(9)
    row[5] = 1.0
    ((left, _, right),) = coded_terms("rxc", a, b, (3, 3), row).terms
    assert left[0][0] is a[1] and right is b[2]
    np.testing.assert_array_equal(coded_product("rxc", a, b, (3, 3), row), a[1] @ b[2])
